"""Turning digit images into MNIST-style input: crop, fit into 20x20, centre by mass in 28x28.

MNIST was made this way (LeCun et al.): each digit's bounding box was scaled, keeping
its aspect ratio, to fit a 20x20 box, then placed in a 28x28 frame so that its centre of
mass sits at the centre of the frame.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
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


# --------------------------------------------------------------------------- a user's own images

MAX_SIDE = 4096  # pixels; larger images are refused rather than decoded
MAX_FILE_BYTES = 20 * 1024 * 1024
MIN_CONTRAST = 40  # grey levels between ink and paper below which an image counts as blank


class ImageError(ValueError):
    """An input image that cannot be turned into a digit: not an image, empty, blank, too large."""


def read_image(source) -> np.ndarray:
    """Open a file path or bytes as greyscale float32 with white ink on black (0..255).

    Alpha is composited over white paper; EXIF rotation is applied; polarity is detected
    from the border (dark ink on light paper is inverted); the paper level is subtracted.
    """
    if isinstance(source, (bytes, bytearray)):
        raw, label = bytes(source), "the image"
    else:
        label = str(source)
        try:
            raw = open(source, "rb").read(MAX_FILE_BYTES + 1)
        except OSError as err:
            raise ImageError(f"{label}: cannot be read ({err.strerror or err})") from err
    if not raw:
        raise ImageError(f"{label}: the file is empty")
    if len(raw) > MAX_FILE_BYTES:
        raise ImageError(f"{label}: larger than {MAX_FILE_BYTES // 2**20} MB; send a smaller image")
    try:
        image = Image.open(io.BytesIO(raw))
        if max(image.size) > MAX_SIDE:
            raise ImageError(f"{label}: {image.size[0]}x{image.size[1]} pixels; at most {MAX_SIDE} a side")
        image.load()
    except ImageError:
        raise
    except UnidentifiedImageError as err:
        raise ImageError(f"{label}: not a readable image (unknown or damaged image format)") from err
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageError(f"{label}: not a readable image ({err})") from err
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if np.median(border) > 127:  # light paper: make the ink the bright part
        grey = 255.0 - grey
    ink = remove_paper(grey)
    if ink.max() < MIN_CONTRAST:
        raise ImageError(f"{label}: looks blank (no stroke stands out from the background)")
    return ink


def otsu_threshold(values: np.ndarray) -> float:
    """Otsu's threshold of 0..255 values: the split that maximises the between-class variance."""
    p = np.histogram(values, bins=256, range=(0, 256))[0].astype(np.float64)
    p /= max(p.sum(), 1.0)
    w, mu = np.cumsum(p), np.cumsum(p * np.arange(256))
    between = (mu[-1] * w - mu) ** 2 / np.maximum(w * (1 - w), 1e-12)
    return float(np.argmax(between))


def paper_level(grey: np.ndarray) -> np.ndarray:
    """The paper's brightness under every pixel (white-on-black image: the paper is the dark part), smooth
    enough to follow a phone photo's lighting and a soft shadow, and never taken from the ink itself.

    First guess: a low percentile over windows half the image wide (ink never fills 90% of one). Then,
    three times: pixels that Otsu's threshold of the remainder calls paper are kept, and the level is their
    Gaussian-weighted mean (normalised convolution), which fills the paper level in under strokes of any
    width from the paper around them instead of reading it off the stroke.
    """
    step = max(1, max(grey.shape) // 96)  # estimate on a small copy: the background is smooth
    small = grey[::step, ::step].astype(np.float32)
    sigma = max(small.shape) / 8
    level = ndimage.gaussian_filter(
        ndimage.percentile_filter(small, 10, size=max(3, max(small.shape) // 2), mode="nearest"), sigma, mode="nearest"
    )
    for _ in range(3):
        rest = np.clip(small - level, 0, 255)
        paper = (rest <= otsu_threshold(rest)).astype(np.float32)
        weight = ndimage.gaussian_filter(paper, sigma, mode="nearest")
        filled = ndimage.gaussian_filter(small * paper, sigma, mode="nearest") / np.maximum(weight, 1e-6)
        level = np.where(weight > 0.02, filled, level)  # far from any paper, keep the previous estimate
    return np.asarray(Image.fromarray(level, mode="F").resize(grey.shape[::-1], Image.Resampling.BILINEAR))


def remove_paper(grey: np.ndarray) -> np.ndarray:
    """Ink only (white on black): the paper level (:func:`paper_level`) is subtracted, so uneven lighting
    goes with the paper and a stroke of any width stays solid; then the paper's leftover noise (99th
    percentile of what Otsu's threshold calls paper) is subtracted, as it would widen the crop."""
    ink = np.clip(grey - paper_level(grey), 0, None)
    paper = ink <= otsu_threshold(ink)
    noise = float(np.percentile(ink[paper], 99)) if paper.any() else 0.0
    return np.clip(ink - noise, 0, None)


def to_mnist(image: np.ndarray) -> np.ndarray:
    """One digit (white on black, any size) -> 28x28 uint8 framed like MNIST."""
    return frame_digit(image)


def split_two_digits(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a two-digit image at the widest empty column gap between its strokes
    (or, when the digits touch, at the weakest column near the middle)."""
    columns = (image > INK_THRESHOLD * image.max()).sum(axis=0)
    inked = np.flatnonzero(columns)
    left, right = inked.min(), inked.max()
    inner = columns[left : right + 1]
    empty = np.flatnonzero(inner == 0)
    if empty.size:
        runs = np.split(empty, np.flatnonzero(np.diff(empty) > 1) + 1)
        widest = max(runs, key=len)
        cut = left + int(widest[len(widest) // 2])
    else:
        lo, hi = len(inner) // 3, max(len(inner) // 3 + 1, 2 * len(inner) // 3)
        cut = left + lo + int(np.argmin(inner[lo:hi]))
    first, second = image[:, :cut], image[:, cut:]
    if first.max() <= 0 or second.max() <= 0:
        raise ImageError("could not find two digits side by side")
    return first, second


def to_mnist_pair(image: np.ndarray) -> np.ndarray:
    """A two-digit number (white on black) -> 28x56 uint8, each digit framed on its half."""
    first, second = split_two_digits(image)
    return np.concatenate([frame_digit(first), frame_digit(second)], axis=1)


def prepare(source, two_digit: bool = False) -> np.ndarray:
    """File path or bytes -> model input: 28x28 (or 28x56 for two digits) uint8, white on black."""
    ink = read_image(source)
    return to_mnist_pair(ink) if two_digit else to_mnist(ink)


def resize_naive(images: np.ndarray, size: int = MNIST_SIZE) -> np.ndarray:
    """Stretch each image to ``size x size`` (bilinear), no cropping or centring: the baseline
    that :func:`frame_like_mnist` is compared with."""
    images = np.asarray(images, dtype=np.float32)
    return (
        np.stack(
            [
                np.clip(
                    np.asarray(Image.fromarray(img, mode="F").resize((size, size), Image.Resampling.BILINEAR)), 0, 255
                )
                for img in images
            ]
        )
        .round()
        .astype(np.uint8)
    )
