"""MNIST-100: two MNIST digits side by side (28x56), label = 10 * left + right (0..99).

Training and validation pairs are built only from the project's MNIST training and
validation digits (the one split of :func:`digits.data.mnist_splits`), test pairs only from
MNIST test digits, each balanced over the 100 classes and seeded. Built datasets are cached
in ``data/processed/`` with their configuration and a checksum that is verified on load.
"""

from __future__ import annotations

import hashlib
import json
import logging

import numpy as np

from . import config, data, files, models, train

log = logging.getLogger(__name__)


def make_pairs(images: np.ndarray, labels: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs balanced over the 100 numbers: for number ``10a + b`` a random image of ``a``
    on the left and of ``b`` on the right (images N x 28 x 28, any channel axis dropped)."""
    if n < 100 or n % 100:
        raise ValueError(f"n must be a positive multiple of 100 (balanced classes), got {n}")
    images = images[..., 0] if images.ndim == 4 else images
    rng = np.random.default_rng(seed)
    by_digit = [np.flatnonzero(labels == d) for d in range(10)]
    y = np.repeat(np.arange(100), n // 100)
    rng.shuffle(y)
    left = np.array([rng.choice(by_digit[t]) for t in y // 10])
    right = np.array([rng.choice(by_digit[u]) for u in y % 10])
    x = np.concatenate([images[left], images[right]], axis=2)
    return x, y.astype(np.int64)


def _checksum(arrays: dict) -> str:
    h = hashlib.sha256()
    for key in sorted(arrays):
        h.update(key.encode() + np.ascontiguousarray(arrays[key]).tobytes())
    return h.hexdigest()


def load_mnist100(
    n_train: int = 55_000, n_val: int = 5_000, n_test: int = 10_000, seed: int = config.SEED
) -> data.Splits:
    """MNIST-100 splits (images N x 28 x 56 x 1, uint8), built once and cached in data/processed/."""
    settings = {"n_train": n_train, "n_val": n_val, "n_test": n_test, "seed": seed, "version": 1}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    path = config.PROCESSED_DATA_DIR / f"mnist100-{key}.npz"
    meta = path.with_suffix(".json")
    if path.is_file() and meta.is_file():
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        if _checksum(arrays) == json.loads(meta.read_text()).get("sha256"):
            return data.Splits(**{k: data.add_channel(v) for k, v in arrays.items()})
        log.warning("%s does not match its checksum: rebuilding it", path)
    digits = data.mnist_splits(seed=seed)
    arrays = {}
    for part, n, offset in (("train", n_train, 0), ("val", n_val, 1), ("test", n_test, 2)):
        x, y = getattr(digits, f"x_{part}"), getattr(digits, f"y_{part}")
        arrays[f"x_{part}"], arrays[f"y_{part}"] = make_pairs(x, y, n, seed + offset)
    with files.atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    files.write_json(meta, settings | {"sha256": _checksum(arrays)})
    return data.Splits(**{k: data.add_channel(v) for k, v in arrays.items()})


def pair_result(digits, pairs: data.Splits, label: str | None = None):
    """The :class:`~digits.train.TrainResult` of one trained 0..9 model, or of the mean of several
    (a list), read as a 0..99 model with :func:`digits.models.pair_model` and tested once on the MNIST-100 test
    pairs. Training history, time and epochs are the digit models' own (times and parameters summed)."""
    runs = digits if isinstance(digits, (list, tuple)) else [digits]
    names = " + ".join(r.label or r.name for r in runs)
    result = train.ensemble(
        runs, pairs, label=label or f"{names} on each half", wrap=lambda m: models.pair_model(m, f"pair_of_{m.name}")
    )
    result.config["pairs"] = pairs.sizes()
    return result
