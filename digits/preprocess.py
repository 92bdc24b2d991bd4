"""Turning digit images into MNIST-style input: crop, fit into 20x20, centre by mass in 28x28.

MNIST was made this way (LeCun et al.): each digit's bounding box was scaled, keeping
its aspect ratio, to fit a 20x20 box, then placed in a 28x28 frame so that its centre of
mass sits at the centre of the frame.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

MNIST_SIZE = 28
MNIST_BOX = 20
INK_THRESHOLD = 0.05  # fraction of the brightest pixel that counts as ink when cropping


def frame_digit(image: np.ndarray, box: int = MNIST_BOX, size: int = MNIST_SIZE) -> np.ndarray:
    """Frame one white-on-black digit (2-D array, any size and range) like MNIST: uint8 ``size x size``."""
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D greyscale image, got shape {img.shape}")
    peak = float(img.max()) if img.size else 0.0
    if peak <= 0:
        raise ValueError("the image is blank (no ink): nothing to frame")
    img = img * (255.0 / peak)
    rows, cols = np.nonzero(img > INK_THRESHOLD * 255.0)
    crop = img[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    h, w = crop.shape
    scale = box / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = Image.fromarray(crop, mode="F").resize((new_w, new_h), Image.Resampling.LANCZOS)
    patch = np.clip(np.asarray(resized), 0, 255)
    cy, cx = ndimage.center_of_mass(patch)
    centre = size / 2  # measured on MNIST: mean centre of mass at (14.0, 14.0) in pixel indices
    top = int(np.clip(round(centre - cy), 0, size - new_h))
    left = int(np.clip(round(centre - cx), 0, size - new_w))
    canvas = np.zeros((size, size), dtype=np.float32)
    canvas[top : top + new_h, left : left + new_w] = patch
    return np.rint(canvas).astype(np.uint8)


def frame_like_mnist(images: np.ndarray) -> np.ndarray:
    """Frame a batch of white-on-black digits (N x H x W) like MNIST: uint8 N x 28 x 28."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"expected a batch of 2-D images (N x H x W), got shape {images.shape}")
    return np.stack([frame_digit(img) for img in images]) if len(images) else np.zeros((0, 28, 28), np.uint8)
