"""Datasets: MNIST and USPS, found locally or downloaded, verified before use, split once.

Search order for every dataset: ``$DIGITS_DATA_DIR``, ``data/raw/``, the Keras cache
(``$KERAS_HOME/datasets``), then a download. A file that is found but fails verification
raises :class:`CorruptDataError` naming the file and the fix; it is never used.
Downloads go to a temporary folder and are moved into the cache only once verified.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import tempfile
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import h5py
import keras
import numpy as np
from sklearn.datasets import load_svmlight_file
from sklearn.model_selection import train_test_split

from . import config
from .checks import is_count

PIXEL_SCALE = 1.0 / 255.0  # the one normalisation: models start with Rescaling(PIXEL_SCALE)

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
USPS_URLS = {
    "usps.bz2": "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/usps.bz2",
    "usps.t.bz2": "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/usps.t.bz2",
}

# sha256 of the decompressed IDX bytes (see the data README); npz arrays are checked by
# re-serialising them as IDX, so one registry verifies every source.
MNIST_IDX = {
    "x_train": ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "y_train": ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "x_test": ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "y_test": ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}
USPS_H5_SHA256 = "734f88c541104a956d88be2c95d03b4a463ffd74ccc2ba9c80841fb98e3fcb36"
CLASS_COUNTS = {
    "mnist": {
        "train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    },
    "usps": {
        "train": [1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644],
        "test": [359, 264, 198, 166, 200, 160, 170, 147, 166, 177],
    },
}

FIX_CORRUPT = (
    "Delete or replace this file (a fresh copy is downloaded when no other copy is found), "
    "or point DIGITS_DATA_DIR at a folder holding a good copy."
)


class DataError(RuntimeError):
    """Base class for data problems a user can fix."""


class CorruptDataError(DataError):
    """A data file was found but is truncated, corrupt or not the expected dataset."""


class DataUnavailableError(DataError):
    """No copy of a dataset was found and none could be downloaded."""


# --------------------------------------------------------------------------- search


def search_dirs(dataset: str) -> list[Path]:
    """Folders searched for ``dataset`` ("mnist" or "usps"), in order, before the Keras cache."""
    roots = [d for d in (config.user_data_dir(), config.RAW_DATA_DIR) if d is not None]
    return [folder for root in roots for folder in (root, root / dataset)]


def _first_existing(folder: Path, names: list[str]) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)


def _unavailable(dataset: str, searched: list[Path], reason: str) -> DataUnavailableError:
    places = "\n".join(f"  - {p}" for p in searched)
    return DataUnavailableError(
        f"No copy of {dataset.upper()} was found and it could not be downloaded ({reason}).\n"
        f"Searched:\n{places}\n"
        f"Fix: set DIGITS_DATA_DIR to a folder with the files (see docs/data.md), "
        f"or copy them into {config.RAW_DATA_DIR}, or connect to the internet and retry."
    )


def _download(filename: str, url: str, verify, destination: Path) -> Path:
    """Download into a temporary folder, verify, then move into ``destination`` atomically."""
    destination.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=destination, prefix=".download-") as tmp:
        path = Path(keras.utils.get_file(fname=filename, origin=url, cache_dir=tmp, cache_subdir="."))
        verify(path)
        final = destination / filename
        path.replace(final)
    return final


# --------------------------------------------------------------------------- MNIST


def _idx_bytes(array: np.ndarray) -> bytes:
    """The IDX serialisation of a uint8 array (the format MNIST is published in)."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _parse_idx(raw: bytes, path: Path) -> np.ndarray:
    if len(raw) < 4 or raw[0:3] != b"\x00\x00\x08":
        raise CorruptDataError(f"{path} is not an IDX file of unsigned bytes. {FIX_CORRUPT}")
    ndim = raw[3]
    shape = tuple(np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).tolist()) if len(raw) >= 4 + 4 * ndim else ()
    expected = 4 + 4 * ndim + int(np.prod(shape)) if shape else -1
    if len(raw) != expected:
        raise CorruptDataError(
            f"{path} is truncated or corrupt ({len(raw)} bytes, the header promises {expected}). {FIX_CORRUPT}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _read_maybe_gzip(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise CorruptDataError(f"{path} could not be read ({err}). {FIX_CORRUPT}") from err


def _verify_mnist_array(key: str, array: np.ndarray | None, source: Path) -> None:
    name, expected = MNIST_IDX[key]
    if array is None:
        raise CorruptDataError(f"{source} has no array '{key}'. {FIX_CORRUPT}")
    digest = hashlib.sha256(_idx_bytes(array)).hexdigest()
    if digest != expected:
        raise CorruptDataError(
            f"{source} ({name}) does not match the published MNIST checksum "
            f"(sha256 {digest[:12]}... instead of {expected[:12]}...). {FIX_CORRUPT}"
        )


def _read_mnist_idx(folder: Path) -> dict[str, np.ndarray] | None:
    paths = {key: _first_existing(folder, [name + ".gz", name]) for key, (name, _) in MNIST_IDX.items()}
    if not any(paths.values()):
        return None
    missing = [MNIST_IDX[k][0] for k, p in paths.items() if p is None]
    if missing:
        raise CorruptDataError(f"{folder} holds only part of MNIST: missing {', '.join(missing)}(.gz). {FIX_CORRUPT}")
    arrays = {}
    for key, path in paths.items():
        arrays[key] = _parse_idx(_read_maybe_gzip(path), path)
        _verify_mnist_array(key, arrays[key], path)
    return arrays


def _read_mnist_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in MNIST_IDX if key in f.files}
    except Exception as err:  # zipfile.BadZipFile, ValueError, OSError, EOFError...
        raise CorruptDataError(f"{path} could not be read as an .npz archive ({err}). {FIX_CORRUPT}") from err
    for key in MNIST_IDX:
        _verify_mnist_array(key, arrays.get(key), path)
    return arrays


def find_mnist() -> Path | None:
    """The copy of MNIST on disk that :func:`load_mnist` reads (a folder of IDX files or an ``mnist.npz``, in the
    order of :func:`search_dirs`, then the Keras cache), or None; nothing is read or downloaded."""
    for folder in search_dirs("mnist"):
        if any(_first_existing(folder, [name + ".gz", name]) for name, _ in MNIST_IDX.values()):
            return folder
        npz = _first_existing(folder, ["mnist.npz"])
        if npz is not None:
            return npz
    cached = config.keras_cache_dir() / "mnist.npz"
    return cached if cached.is_file() else None


@lru_cache(maxsize=1)
def _load_mnist_arrays() -> tuple[dict[str, np.ndarray], Path]:
    found = find_mnist()
    if found is not None:
        return (_read_mnist_idx(found) if found.is_dir() else _read_mnist_npz(found)), found
    searched = [*search_dirs("mnist"), config.keras_cache_dir() / "mnist.npz"]
    try:
        path = _download("mnist.npz", MNIST_URL, _read_mnist_npz, config.keras_cache_dir())
    except DataError:
        raise
    except Exception as err:  # no network, HTTP errors...
        raise _unavailable("mnist", searched, f"download from {MNIST_URL} failed: {err}") from err
    return _read_mnist_npz(path), path


def load_mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST as ``(x_train, y_train), (x_test, y_test)``: uint8 N x 28 x 28 images, int64 labels.

    The arrays are read-only and shared between calls; copy them before changing them in place.
    """
    arrays, _ = _load_mnist_arrays()
    out = {k: _readonly(v if k.startswith("x") else v.astype(np.int64)) for k, v in arrays.items()}
    return (out["x_train"], out["y_train"]), (out["x_test"], out["y_test"])


def mnist_source() -> Path:
    """The file or folder MNIST was loaded from."""
    return _load_mnist_arrays()[1]


# --------------------------------------------------------------------------- USPS


def _check_usps(x: np.ndarray, y: np.ndarray, part: str, source: Path) -> None:
    expected_n = sum(CLASS_COUNTS["usps"][part])
    counts = np.bincount(y, minlength=10).tolist() if y.size and y.min() >= 0 else None
    if x.shape != (expected_n, 256) or counts != CLASS_COUNTS["usps"][part]:
        raise CorruptDataError(
            f"{source} does not hold the expected USPS {part} set "
            f"(shape {x.shape}, class counts {counts}). {FIX_CORRUPT}"
        )


def _read_usps_h5(path: Path) -> dict[str, np.ndarray]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != USPS_H5_SHA256:
        raise CorruptDataError(f"{path} does not match the published usps.h5 checksum. {FIX_CORRUPT}")
    with h5py.File(path, "r") as f:
        arrays = {}
        for part in ("train", "test"):
            x, y = np.asarray(f[part]["data"], np.float32), np.asarray(f[part]["target"], np.int64)
            _check_usps(x, y, part, path)
            arrays[f"x_{part}"], arrays[f"y_{part}"] = x, y
    return arrays


def _read_usps_libsvm(paths: dict[str, Path]) -> dict[str, np.ndarray]:
    arrays = {}
    for part, path in paths.items():
        try:
            if path.suffix == ".bz2":
                with bz2.open(path, "rb") as f:
                    x, y = load_svmlight_file(f, n_features=256)
            else:
                x, y = load_svmlight_file(str(path), n_features=256)
        except Exception as err:
            raise CorruptDataError(f"{path} could not be read as LIBSVM data ({err}). {FIX_CORRUPT}") from err
        x = (np.asarray(x.todense(), np.float32) + 1.0) / 2.0  # [-1, 1] -> [0, 1]
        y = y.astype(np.int64) - 1  # labels 1..10 -> 0..9
        _check_usps(x, y, part, path)
        arrays[f"x_{part}"], arrays[f"y_{part}"] = x, y
    return arrays


def _libsvm_pair(folder: Path) -> dict[str, Path] | None:
    train = _first_existing(folder, ["usps", "usps.bz2"])
    test = _first_existing(folder, ["usps.t", "usps.t.bz2"])
    return {"train": train, "test": test} if train and test else None


@lru_cache(maxsize=1)
def _load_usps_arrays() -> tuple[dict[str, np.ndarray], Path]:
    searched: list[Path] = []
    for folder in search_dirs("usps") + [config.keras_cache_dir()]:
        searched.append(folder)
        h5 = _first_existing(folder, ["usps.h5"])
        if h5 is not None:
            return _read_usps_h5(h5), h5
        pair = _libsvm_pair(folder)
        if pair is not None:
            return _read_usps_libsvm(pair), folder
    cache = config.keras_cache_dir()
    try:
        for name, url in USPS_URLS.items():
            part = "test" if ".t." in name else "train"
            _download(name, url, lambda p, part=part: _read_usps_libsvm({part: p}), cache)
    except DataError:
        raise
    except Exception as err:
        raise _unavailable("usps", searched, f"download from the LIBSVM site failed: {err}") from err
    return _read_usps_libsvm(_libsvm_pair(cache)), cache


def load_usps() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """USPS as ``(x_train, y_train), (x_test, y_test)``: uint8 N x 16 x 16 (white on black), int64 labels."""
    arrays, _ = _load_usps_arrays()

    def images(x):
        return _readonly(np.rint(np.clip(x, 0, 1) * 255).astype(np.uint8).reshape(-1, 16, 16))

    return (images(arrays["x_train"]), _readonly(arrays["y_train"])), (
        images(arrays["x_test"]),
        _readonly(arrays["y_test"]),
    )


# --------------------------------------------------------------------------- splits


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    array.flags.writeable = False
    return array


def normalize(images: np.ndarray) -> np.ndarray:
    """Pixels 0..255 -> float32 0..1: the same scaling every model applies as its first layer."""
    return np.asarray(images, dtype=np.float32) * np.float32(PIXEL_SCALE)


def add_channel(images: np.ndarray) -> np.ndarray:
    """N x H x W -> N x H x W x 1 (a view, no copy)."""
    return images[..., np.newaxis] if images.ndim == 3 else images


def stratified_subset(x: np.ndarray, y: np.ndarray, n: int | None, seed: int = config.SEED):
    """A seeded, class-stratified subset of ``n`` examples (all of them when ``n`` is None or too big)."""
    if n is None or n >= len(y):
        return x, y
    if n < 10:
        raise ValueError(f"a subset needs at least one example per class (n >= 10), got n={n}")
    idx, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    idx = np.sort(idx)
    return x[idx], y[idx]


@dataclass(frozen=True)
class Splits:
    """Train / validation / test arrays, images with a channel axis (uint8, N x H x W x 1)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}

    def with_val_in_train(self) -> Splits:
        """These splits with the validation images appended to the training set, for a final model once every
        choice is made (as notebook 05 retrains its best search result): validation scores are then no longer
        held out, so nothing should be chosen on them."""
        return replace(
            self, x_train=np.concatenate([self.x_train, self.x_val]), y_train=np.concatenate([self.y_train, self.y_val])
        )

    def tiled(self, min_images: int) -> Splits:
        """These splits with the training set repeated whole until it holds at least ``min_images`` images
        (validation and test unchanged): a tiny training set then makes epochs of a useful length, so Keras'
        fixed cost per epoch (callbacks, logs, the resume backup) is not paid every few images."""
        if not is_count(min_images):
            raise ValueError(f"min_images must be an integer >= 1, got {min_images!r}")
        copies = -(-int(min_images) // len(self.y_train))
        if copies <= 1:
            return self
        return replace(
            self,
            x_train=np.tile(self.x_train, (copies,) + (1,) * (self.x_train.ndim - 1)),
            y_train=np.tile(self.y_train, copies),
        )

    def map_images(self, transform) -> Splits:
        """These splits with ``transform`` applied to the images of every split (labels unchanged)."""
        return replace(
            self, x_train=transform(self.x_train), x_val=transform(self.x_val), x_test=transform(self.x_test)
        )

    def fingerprint(self) -> str:
        """sha256 over every array: identifies the exact data a model was trained and tested on."""
        h = hashlib.sha256()
        for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
            array = np.ascontiguousarray(getattr(self, name))
            h.update(f"{name}{array.shape}{array.dtype}".encode())
            h.update(array.tobytes())
        return h.hexdigest()


def make_splits(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    *,
    val_size: int = 5_000,
    n_train: int | None = None,
    n_val: int | None = None,
    n_test: int | None = None,
    seed: int = config.SEED,
) -> Splits:
    """The project's one split: a stratified, seeded validation set held out from ``train``.

    The validation set depends only on ``val_size`` and ``seed``; ``n_train``, ``n_val`` and
    ``n_test`` then take stratified subsets (smoke profiles) without changing which images
    are held out.
    """
    (x, y), (x_test, y_test) = train, test
    for name, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        if value is not None and not is_count(value, 10):
            raise ValueError(f"{name} must be an integer >= 10 or None, got {value!r}")
    if not 10 <= val_size < len(y):
        raise ValueError(f"val_size must be between 10 and {len(y) - 1}, got {val_size!r}")
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=val_size, stratify=y, random_state=seed)
    x_train, y_train = stratified_subset(x_train, y_train, n_train, seed)
    x_val, y_val = stratified_subset(x_val, y_val, n_val, seed)
    x_test, y_test = stratified_subset(x_test, y_test, n_test, seed)
    return Splits(*(add_channel(a) if a.ndim == 3 else a for a in (x_train, y_train, x_val, y_val, x_test, y_test)))


def mnist_splits(**kwargs) -> Splits:
    """MNIST through :func:`make_splits` (keyword arguments as there)."""
    train, test = load_mnist()
    return make_splits(train, test, **kwargs)
