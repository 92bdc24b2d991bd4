"""Moving test digits: exact pixel shifts, rotations and scalings about the centre, pixel permutations,
and a model's accuracy as the movement grows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from .evaluate import accuracy

DIRECTIONS = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}


def _batch(images) -> np.ndarray:
    images = np.asarray(images)
    images = images[..., 0] if images.ndim == 4 else images
    if images.ndim != 3:
        raise ValueError(f"expected a batch of 2-D images (N x H x W), got shape {images.shape}")
    return images


def shift(images, rows: int, cols: int) -> np.ndarray:
    """Move every image of a batch by whole pixels (down by ``rows``, right by ``cols``), filling with 0:
    a pixel leaves the frame rather than wrapping round."""
    images = _batch(images)
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    if abs(rows) >= h or abs(cols) >= w:
        return out
    src_r, dst_r = slice(max(0, -rows), h - max(0, rows)), slice(max(0, rows), h - max(0, -rows))
    src_c, dst_c = slice(max(0, -cols), w - max(0, cols)), slice(max(0, cols), w - max(0, -cols))
    out[:, dst_r, dst_c] = images[:, src_r, src_c]
    return out


def affine(images, degrees: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """Rotate every image anticlockwise by ``degrees`` and scale it by ``scale`` about the image centre
    (bilinear, black fill, same size and dtype)."""
    images = _batch(images)
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    theta = np.deg2rad(degrees)
    # output (r, c) samples input centre + M (out - centre); M undoes the rotation and the scaling
    matrix = np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]]) / scale
    centre = (np.array(images.shape[1:]) - 1) / 2.0
    offset = centre - matrix @ centre
    out = [ndimage.affine_transform(img.astype(np.float32), matrix, offset=offset, order=1, cval=0.0) for img in images]
    out = np.stack(out) if len(out) else np.zeros(images.shape, np.float32)
    return np.clip(np.rint(out), 0, 255).astype(images.dtype) if images.dtype == np.uint8 else out


def pixel_permutation(n_pixels: int = 784, seed: int = 0) -> np.ndarray:
    """One fixed random order of the pixels (a bijection of 0..n_pixels-1)."""
    return np.random.default_rng(seed).permutation(n_pixels)


def permute(images, permutation: np.ndarray) -> np.ndarray:
    """Scramble every image's pixels with the same ``permutation`` (shape and dtype kept)."""
    images = np.asarray(images)
    flat = images.reshape(len(images), -1)
    if sorted(permutation.tolist()) != list(range(flat.shape[1])):
        raise ValueError(f"permutation must reorder all {flat.shape[1]} pixels exactly once")
    return flat[:, permutation].reshape(images.shape)


def accuracy_curve(model, images, labels, transform, values) -> list[float]:
    """Accuracy of ``model`` on ``transform(images, value)`` for each value (one inference per value)."""
    return [accuracy(model, transform(images, v), labels) for v in values]


def shift_curve(model, images, labels, max_shift: int = 8) -> list[float]:
    """Accuracy for shifts of 0..max_shift pixels, averaged over the four directions."""

    def shifted(x, n):
        return np.concatenate([shift(x, n * dr, n * dc) for dr, dc in DIRECTIONS.values()])

    return accuracy_curve(model, images, np.tile(labels, len(DIRECTIONS)), shifted, range(max_shift + 1))


def tolerance_table(curves: dict[str, list[float]], values, name: str) -> pd.DataFrame:
    """Models as columns, the transformation's values as rows."""
    return pd.DataFrame(curves, index=pd.Index(list(values), name=name))
