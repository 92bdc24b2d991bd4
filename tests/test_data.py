import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REAL_DATA, needs_real_data
from scipy import ndimage

from digits import data, preprocess


@needs_real_data
def test_mnist_shapes_dtypes_counts_and_checksums(fresh_loaders):
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (60_000, 28, 28) and x_test.shape == (10_000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert np.bincount(y_train).tolist() == data.CLASS_COUNTS["mnist"]["train"]
    assert np.bincount(y_test).tolist() == data.CLASS_COUNTS["mnist"]["test"]
    for key, array in {"x_train": x_train, "y_train": y_train.astype(np.uint8), "x_test": x_test}.items():
        assert hashlib.sha256(data._idx_bytes(array)).hexdigest() == data.MNIST_IDX[key][1]
    assert not x_train.flags.writeable  # shared between calls, so protected


@needs_real_data
def test_usps_shapes_and_counts(fresh_loaders):
    (x_train, y_train), (x_test, y_test) = data.load_usps()
    assert x_train.shape == (7_291, 16, 16) and x_test.shape == (2_007, 16, 16)
    assert x_train.dtype == np.uint8 and x_train.max() == 255
    assert np.bincount(y_test).tolist() == data.CLASS_COUNTS["usps"]["test"]


@needs_real_data
def test_frame_like_mnist_matches_mnist_geometry(fresh_loaders):
    _, (x_test, _) = data.load_usps()
    framed = preprocess.frame_like_mnist(x_test[:200])
    assert framed.shape == (200, 28, 28) and framed.dtype == np.uint8
    for img in framed:
        rows, cols = np.nonzero(img)
        assert np.ptp(rows) < 21 and np.ptp(cols) < 21  # fits the 20x20 box (+1 px of resampling halo)
        cy, cx = ndimage.center_of_mass(img)
        assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_frame_digit_rejects_blank_and_wrong_shape():
    with pytest.raises(ValueError, match="blank"):
        preprocess.frame_like_mnist(np.zeros((1, 16, 16)))
    with pytest.raises(ValueError, match="2-D"):
        preprocess.frame_like_mnist(np.zeros((16, 16)))


def _copy_mnist(dest: Path) -> None:
    for name, _ in data.MNIST_IDX.values():
        shutil.copy(Path(REAL_DATA) / "mnist" / f"{name}.gz", dest / f"{name}.gz")


@needs_real_data
def test_truncated_file_names_the_file_and_the_fix(isolated_sources):
    user = isolated_sources / "user"
    _copy_mnist(user)
    victim = user / "t10k-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:50_000])
    with pytest.raises(data.CorruptDataError) as err:
        data.load_mnist()
    assert str(victim) in str(err.value) and "DIGITS_DATA_DIR" in str(err.value)


@needs_real_data
def test_wrong_content_fails_the_checksum(isolated_sources):
    user = isolated_sources / "user"
    _copy_mnist(user)
    labels = user / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one wrong label: same size, valid IDX, wrong data
    labels.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(data.CorruptDataError, match="checksum"):
        data.load_mnist()


def test_offline_with_no_copy_lists_every_place_searched(isolated_sources):
    with pytest.raises(data.DataUnavailableError) as err:
        data.load_mnist()
    message = str(err.value)
    for place in ("user", "raw", "keras"):
        assert str(isolated_sources / place) in message
    assert "DIGITS_DATA_DIR" in message
    assert not any((isolated_sources / "keras").rglob("*.npz"))  # nothing half-written left behind


def test_corrupt_npz_in_keras_cache_is_refused(isolated_sources):
    cache = isolated_sources / "keras" / "datasets"
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(data.CorruptDataError, match="mnist.npz"):
        data.load_mnist()


@needs_real_data
def test_download_is_verified_before_it_enters_the_cache(isolated_sources, monkeypatch, fresh_loaders):
    import keras

    good = {}
    for key, (name, _) in data.MNIST_IDX.items():
        good[key] = data._parse_idx(
            gzip.decompress((Path(REAL_DATA) / "mnist" / f"{name}.gz").read_bytes()), Path(name)
        )
    source = isolated_sources / "served.npz"

    def fake_get_file(fname, origin, cache_dir, cache_subdir):
        target = Path(cache_dir) / cache_subdir / fname
        shutil.copy(source, target)
        return str(target)

    monkeypatch.setattr(keras.utils, "get_file", fake_get_file)
    cached = isolated_sources / "keras" / "datasets" / "mnist.npz"

    np.savez(source, **(good | {"y_test": np.zeros_like(good["y_test"])}))  # a bad download
    with pytest.raises(data.CorruptDataError):
        data.load_mnist()
    assert not cached.exists() and not list(cached.parent.glob(".download-*"))

    np.savez(source, **good)  # a good download
    (x_train, _), _ = data.load_mnist()
    assert x_train.shape == (60_000, 28, 28) and cached.is_file()
    assert data.mnist_source() == cached


@needs_real_data
def test_splits_are_stratified_disjoint_and_deterministic():
    a = data.mnist_splits(n_train=2_000, n_test=1_000)
    b = data.mnist_splits(n_train=2_000, n_test=1_000)
    assert a.fingerprint() == b.fingerprint()
    assert a.sizes() == {"train": 2_000, "val": 5_000, "test": 1_000}
    assert a.x_train.shape[1:] == (28, 28, 1)
    assert np.bincount(a.y_train).min() >= 180  # ~200 per class: stratified
    train_rows = {row.tobytes() for row in a.x_train}
    assert not any(row.tobytes() in train_rows for row in a.x_val)
    # the validation set does not depend on n_train
    full = data.mnist_splits()
    assert np.array_equal(full.x_val, a.x_val)


def test_validation_images_can_join_the_training_set_for_a_final_model():
    x, y = np.arange(100 * 16, dtype=np.uint8).reshape(100, 4, 4), np.repeat(np.arange(10), 10)
    s = data.make_splits((x, y), (x[:30], y[:30]), val_size=20)
    final = s.with_val_in_train()
    assert final.sizes() == {"train": 100, "val": 20, "test": 30}
    assert np.array_equal(final.x_train[80:], s.x_val) and np.array_equal(final.y_train[:80], s.y_train)
    assert np.array_equal(final.x_test, s.x_test) and final.fingerprint() != s.fingerprint()


def test_a_small_training_set_is_tiled_into_whole_copies_and_nothing_else_changes():
    x, y = np.arange(100 * 16, dtype=np.uint8).reshape(100, 4, 4), np.repeat(np.arange(10), 10)
    s = data.make_splits((x, y), (x[:30], y[:30]), val_size=20)  # 80 training images
    tiled = s.tiled(200)
    assert tiled.sizes() == {"train": 240, "val": 20, "test": 30}  # three whole copies: the fewest that reach 200
    assert all(np.array_equal(tiled.x_train[k * 80 : (k + 1) * 80], s.x_train) for k in range(3))
    assert np.array_equal(tiled.y_train, np.tile(s.y_train, 3)) and tiled.x_train.shape[1:] == s.x_train.shape[1:]
    assert np.array_equal(tiled.x_val, s.x_val) and np.array_equal(tiled.x_test, s.x_test)
    assert s.tiled(80) is s and s.tiled(1) is s  # already long enough
    for bad in (0, 1.5, False):
        with pytest.raises(ValueError, match="min_images must be an integer >= 1"):
            s.tiled(bad)
    assert s.tiled(np.int64(200)).sizes() == tiled.sizes()


def test_split_parameters_are_checked():
    x, y = np.zeros((100, 4, 4), np.uint8), np.repeat(np.arange(10), 10)
    with pytest.raises(ValueError, match="n_train"):
        data.make_splits((x, y), (x, y), val_size=20, n_train=3)
    with pytest.raises(ValueError, match="val_size"):
        data.make_splits((x, y), (x, y), val_size=100)
