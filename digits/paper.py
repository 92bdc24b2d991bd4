"""Ink put on paper as people hand it in: pens (ballpoint, pencil, marker, blue ink), papers (white, lined,
squared, coloured), a shadow, a phone photo's light, noise, blur and JPEG.

Ink is white on black, coverage 0..1 (``nondigits`` and dataset digits through :func:`dataset_ink`); a sheet
is RGB, float 0..255. The corpus of user images (``data/examples/corpus/make_corpus.py``) is made with these,
and so are the validation images the reader's decline rule and segmentation are chosen on
(:func:`photographed`), with seeds and digits of their own.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage

WHITE, BLACK, BLUE, GRAPHITE = (250, 250, 248), (25, 25, 30), (30, 55, 160), (95, 95, 100)
PAPERS = {"yellow": (250, 236, 160), "pink": (248, 212, 222), "green": (208, 236, 205), "blue": (205, 222, 245)}
STYLES = ("ballpoint", "pencil", "blue ink, lined paper", "marker", "coloured paper", "phone photo")


def dataset_ink(digit: np.ndarray, height: int) -> np.ndarray:
    """A dataset digit (uint8, white on black) scaled to about ``height`` pixels, as ink coverage 0..1."""
    scale = height / digit.shape[0] * (28 / 20 if digit.shape[0] == 28 else 1.0)  # MNIST digits fill 20 of 28
    size = max(8, round(digit.shape[0] * scale))
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255
    return np.clip((big - 0.15) / 0.6, 0, 1)  # a pen's edge is sharper than an upsampled blur


def bolder(ink: np.ndarray, share: float) -> np.ndarray:
    """The stroke widened by a round pen so that it is about ``share`` of the digit's height."""
    rows = np.flatnonzero(ink.max(axis=1) > 0.5)
    height = np.ptp(rows) + 1 if rows.size else ink.shape[0]
    radius = max(1, round(share * height / 2 - 0.06 * height))
    pad = np.pad(ink, radius + 2)
    disk = np.hypot(*np.mgrid[-radius : radius + 1, -radius : radius + 1]) <= radius
    return ndimage.grey_dilation(pad, footprint=disk)


def sheared(ink: np.ndarray, shear: float) -> np.ndarray:
    """The ink slanted: its top moves ``shear`` x its height to the right."""
    h, w = ink.shape
    extra = int(abs(shear) * h) + 2
    out = np.zeros((h, w + extra), np.float32)
    out[:, extra // 2 : extra // 2 + w] = ink
    matrix = np.array([[1, 0], [-shear, 1]])  # output (row, col) -> input: col_in = col - shear * (row - h/2)
    return ndimage.affine_transform(out, matrix, offset=(0, shear * h / 2), order=1)


def sheet(shape, colour=WHITE, lines: str | None = None, spacing: int = 24) -> np.ndarray:
    """An RGB sheet (float 0..255), plain, lined (with a margin) or squared."""
    out = np.ones((*shape, 3), np.float32) * np.array(colour, np.float32)
    rule = np.array((150, 182, 226), np.float32)
    if lines in ("lined", "squared"):
        out[spacing // 2 :: spacing, :] = rule
    if lines == "squared":
        out[:, spacing // 2 :: spacing] = rule
    if lines == "lined":
        out[:, shape[1] // 10] = (226, 120, 120)
    return out


def on_paper(ink: np.ndarray, paper: np.ndarray, colour, at, strength: float = 1.0) -> np.ndarray:
    """Ink laid on the sheet ``paper`` at ``at`` (row, col): the sheet's colour moves towards the ink's."""
    out = paper.copy()
    r, c = at
    alpha = (strength * ink)[..., None]
    region = out[r : r + ink.shape[0], c : c + ink.shape[1]]
    region[:] = region * (1 - alpha) + np.array(colour, np.float32) * alpha
    return out


def shadow(rgb: np.ndarray, rng) -> np.ndarray:
    """A soft shadow across the page: one side up to 55% darker."""
    h, w = rgb.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    rows, cols = np.mgrid[0:h, 0:w]
    t = ((cols - w / 2) * np.cos(angle) + (rows - h / 2) * np.sin(angle)) / (0.08 * max(h, w))
    return rgb * (1 - rng.uniform(0.4, 0.55) / (1 + np.exp(-t)))[..., None]


def photo(rgb: np.ndarray, rng) -> np.ndarray:
    """A phone photo: light falling off across the page, sensor noise, a little blur."""
    h, w = rgb.shape[:2]
    rows, cols = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    light = 1 - 0.35 * np.hypot(rows - cy, cols - cx) / np.hypot(h, w)
    rgb = rgb * light[..., None] * rng.uniform(0.75, 0.95) + rng.normal(0, 5, rgb.shape)
    return ndimage.gaussian_filter(rgb, (1.0, 1.0, 0))


def place(ink: np.ndarray, size, rng) -> tuple[int, int]:
    """Somewhere on a sheet of ``size`` (rows, cols) where the ink fits, not necessarily centred."""
    return int(rng.integers(0, size[0] - ink.shape[0] + 1)), int(rng.integers(0, size[1] - ink.shape[1] + 1))


def sheet_for(ink: np.ndarray, rng, margin: float = 0.5) -> tuple[int, int]:
    """The size of a sheet around ``ink``: ``margin`` of it and 10-40 pixels more, each way."""
    return tuple(int(s * (1 + margin) + rng.integers(10, 40)) for s in ink.shape)


def styled_sheet(ink: np.ndarray, style: int, rng) -> tuple[np.ndarray, bool]:
    """Ink on one of the six papers and pens of :data:`STYLES` (``style`` modulo six): the RGB sheet and
    whether it is a photo (kept as a JPEG)."""
    style = style % len(STYLES)
    if style == 1:
        ink = ink * rng.uniform(0.55, 1.0, ink.shape)  # graphite grain
    if style == 3:
        ink = bolder(ink, rng.uniform(0.15, 0.25))
    size = sheet_for(ink, rng, 0.4)
    if style == 2:
        paper = sheet(size, lines="lined", spacing=int(max(ink.shape[0] * 0.4, 12)))
    elif style == 4:
        paper = sheet(size, list(PAPERS.values())[int(rng.integers(len(PAPERS)))])
    else:
        paper = sheet(size)
    colour = GRAPHITE if style == 1 else BLUE if style in (2, 4) else BLACK
    rgb = on_paper(ink, paper, colour, place(ink, size, rng), 0.75 if style == 1 else 1.0)
    return (photo(rgb, rng), True) if style == 5 else (rgb, False)


def encoded(rgb: np.ndarray, jpeg: bool = False) -> bytes:
    """The sheet as a file's bytes: PNG, or a JPEG of quality 70 (a phone's)."""
    buffer = io.BytesIO()
    image = Image.fromarray(np.clip(rgb, 0, 255).round().astype(np.uint8))
    image.save(buffer, format="JPEG", quality=70) if jpeg else image.save(buffer, format="PNG")
    return buffer.getvalue()


def photographed(ink: np.ndarray, style: int, rng) -> bytes:
    """Ink written in one of :data:`STYLES` and saved as a user's file would be (:func:`styled_sheet`,
    :func:`encoded`): read it back with ``preprocess.read_image``."""
    return encoded(*styled_sheet(ink, style, rng))


def rewritten(images: np.ndarray, rng, heights=(60, 110)) -> tuple[np.ndarray, np.ndarray]:
    """Each 28 x 28 image (uint8, white on black: a dataset digit, a framed non-digit) written on paper about
    ``heights`` pixels tall in one of :data:`STYLES` in turn, saved as a user's file and read back as the reader
    reads one digit (``preprocess.read_image``, ``preprocess.to_mnist``): uint8 N x 28 x 28, and which of
    ``images`` they are (a faint one can come back blank, and is left out)."""
    from .preprocess import ImageError, read_image, to_mnist

    start, out, kept = int(rng.integers(len(STYLES))), [], []
    for i, image in enumerate(images):
        file = photographed(dataset_ink(image, int(rng.integers(*heights))), start + i, rng)
        try:
            out.append(to_mnist(read_image(file)))
        except ImageError:  # nothing stands out from the paper: the reader calls it blank
            continue
        kept.append(i)
    return (np.stack(out) if out else np.zeros((0, 28, 28), np.uint8)), np.asarray(kept, int)
