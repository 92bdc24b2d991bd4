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
    ink = remove_rules(remove_paper(grey))
    if ink.max() < MIN_CONTRAST:
        raise ImageError(f"{label}: looks blank (no stroke stands out from the background)")
    return keep_main_ink(ink)


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
    tiny = small[::3, ::3]  # the first guess is coarse: a rank filter on a ~32-pixel copy is enough (and fast)
    guess = ndimage.percentile_filter(tiny, 10, size=max(3, max(tiny.shape) // 2), mode="nearest")
    guess = np.asarray(Image.fromarray(guess, mode="F").resize(small.shape[::-1], Image.Resampling.BILINEAR))
    level = ndimage.gaussian_filter(guess, sigma, mode="nearest")
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


def remove_rules(ink: np.ndarray, reach: float = 0.95) -> np.ndarray:
    """Ink without the rules of lined or squared paper: straight horizontal or vertical lines that run from
    edge to edge (at least ``reach`` of the image), two or more of them (a sheet has many rules; a tall "1"
    alone is not one). Where a stroke crosses a rule, pixels much brighter than the rule are kept."""
    if ink.max() <= 0:
        return ink
    mask = ink > 0.1 * ink.max()
    rules, found = np.zeros_like(mask), 0
    for axis in (0, 1):  # 0: vertical rules, 1: horizontal rules
        runs, _ = ndimage.label(opened_along(mask, max(3, ink.shape[axis] // 4), axis))
        for k, where in enumerate(ndimage.find_objects(runs), start=1):
            if where[axis].stop - where[axis].start >= reach * ink.shape[axis]:
                rules |= runs == k
                found += 1
    if found < 2:
        return ink
    rules = ndimage.binary_dilation(rules, iterations=1)  # the rule's anti-aliased edges
    level = float(np.median(ink[rules & mask]))
    out = ink.copy()
    out[rules & (ink < 1.6 * level)] = 0
    return out


def opened_along(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """``mask`` opened by a straight line ``length`` pixels long along ``axis``: what
    ``ndimage.binary_opening`` with that line gives, pixel for pixel, as a running minimum then maximum
    (van Herk's filters, whose cost does not grow with the line, where binary erosion's does)."""
    eroded = ndimage.minimum_filter1d(mask, length, axis=axis, mode="constant", cval=0)
    return ndimage.maximum_filter1d(eroded, length, axis=axis, mode="constant", cval=0, origin=0 if length % 2 else -1)


def keep_main_ink(ink: np.ndarray, share: float = 0.1) -> np.ndarray:
    """Only the ink around the written digits: the box around every clear stroke (brighter than a quarter of
    the brightest, pieces a few pixels apart joined) that holds at least ``share`` of the ink of the largest
    one. Specks, dust and what is left of the lighting elsewhere in a photo would otherwise widen the crop
    and shrink the digit."""
    strong = ink > 0.25 * ink.max()
    joined = ndimage.binary_dilation(strong, iterations=max(2, max(ink.shape) // 200))
    labels, n = ndimage.label(joined)
    mass = ndimage.sum(np.where(strong, ink, 0), labels, range(1, n + 1))
    rows, cols = np.nonzero(np.isin(labels, np.flatnonzero(mass >= share * mass.max()) + 1))
    out = np.zeros_like(ink)
    box = slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)
    out[box] = ink[box]
    return out


def to_mnist(image: np.ndarray) -> np.ndarray:
    """One digit (white on black, any size) -> 28x28 uint8 framed like MNIST."""
    return frame_digit(image)


def least_ink_seam(image: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """The top-to-bottom path between columns ``lo`` and ``hi`` (inclusive) that crosses the least ink, one
    column per row, stepping at most one column from row to row (dynamic programming), slightly drawn to the
    middle of the window. Returns its column in every row."""
    ink = image[:, lo : hi + 1].astype(np.float64) / max(float(image.max()), 1e-9)
    centre = (ink.shape[1] - 1) / 2
    cost = ink + 0.02 * np.abs(np.arange(ink.shape[1]) - centre) / max(centre, 1)
    total = cost.copy()
    for r in range(1, len(total)):  # the cheapest path from the top row to each pixel
        above = total[r - 1]
        best = above.copy()
        best[1:] = np.minimum(best[1:], above[:-1])
        best[:-1] = np.minimum(best[:-1], above[1:])
        total[r] += best
    seam = np.empty(len(total), int)
    seam[-1] = int(np.argmin(total[-1]))
    for r in range(len(total) - 2, -1, -1):  # back from the bottom row
        c = seam[r + 1]
        seam[r] = max(0, c - 1) + int(np.argmin(total[r, max(0, c - 1) : c + 2]))
    return lo + seam


def split_two_digits(
    image: np.ndarray, keep: float = 0.2, around: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Split a two-digit image along the top-to-bottom path that crosses the least ink (a seam that may
    step one column per row, so it follows a slanted gap and threads between digits that touch or overlap
    a little); each side keeps at least ``keep`` of the ink's width. ``around`` (a share of the ink's
    width) makes the seam stay within 0.1 of that place instead. Digits far apart split in their gap."""
    mask = image > INK_THRESHOLD * image.max()
    inked = np.flatnonzero(mask.any(axis=0))
    if inked.size < 2:
        raise ImageError("could not find two digits side by side")
    left, right = int(inked.min()), int(inked.max())
    width = right - left
    if around is not None:
        keep_lo, keep_hi = around - 0.1, 1 - around - 0.1
    else:
        keep_lo = keep_hi = keep
    lo, hi = left + max(1, int(keep_lo * width)), right - max(1, int(keep_hi * width))
    if hi <= lo:
        raise ImageError("could not find two digits side by side")
    seam = least_ink_seam(image, lo, hi) - lo
    left_of_seam = np.arange(image.shape[1])[None, :] < (lo + seam)[:, None]
    first, second = np.where(left_of_seam, image, 0), np.where(left_of_seam, 0, image)
    if first.max() <= 0 or second.max() <= 0:
        raise ImageError("could not find two digits side by side")
    return first, second


SPLIT_PLACES = (0.35, 0.42, 0.5, 0.58, 0.65)  # where else two digits may meet, as a share of their width


def pair_candidates(image: np.ndarray) -> np.ndarray:
    """Ways to read a two-digit image, as 28x56 framings: the least-ink split first, then splits near each of
    :data:`SPLIT_PLACES` (overlapping digits can meet where more ink is crossed); a model picks the one it
    reads most confidently (:func:`digits.evaluate.most_confident`)."""
    framings = []
    for around in (None, *SPLIT_PLACES):
        try:
            first, second = split_two_digits(image, around=around)
        except ImageError:
            if around is None:
                raise
            continue
        framed = frame_pair(first, second)
        if not any(np.array_equal(framed, f) for f in framings):
            framings.append(framed)
    return np.stack(framings)


def frame_pair(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two separated digits -> 28x56 uint8, each framed like MNIST on its half."""
    return np.concatenate([frame_digit(first), frame_digit(second)], axis=1)


def to_mnist_pair(image: np.ndarray) -> np.ndarray:
    """A two-digit number (white on black) -> 28x56 uint8, each digit framed on its half."""
    return frame_pair(*split_two_digits(image))


def prepare(source, two_digit: bool = False) -> np.ndarray:
    """File path or bytes -> model input: 28x28 (or 28x56 for two digits) uint8, white on black."""
    ink = read_image(source)
    return to_mnist_pair(ink) if two_digit else to_mnist(ink)


def prepare_candidates(source, two_digit: bool = False) -> np.ndarray:
    """File path or bytes -> every reading worth scoring (k x 28 x 28, or k x 28 x 56 for two digits, uint8):
    one for a digit; for a number, the ways of splitting it (:func:`pair_candidates`)."""
    ink = read_image(source)
    return pair_candidates(ink) if two_digit else to_mnist(ink)[np.newaxis]


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


# --------------------------------------------------------------------------- numbers of any length


def glyphs(ink: np.ndarray, join: float = 0.6) -> list[tuple[tuple[slice, slice], np.ndarray]]:
    """The separate glyphs of a written line, left to right, as (box, ink in the box): connected pieces of clear
    ink (SciPy's ``ndimage.label``, 8-connected), a small piece joined to the glyph whose columns hold at least
    ``join`` of its own (a broken stroke, the top of a 5 written apart), specks (under a tenth of the tallest
    glyph's height and a hundredth of its ink) dropped. Digits that touch or overlap make one glyph."""
    strong = ink > 0.25 * ink.max()
    pieces, n = ndimage.label(strong, structure=np.ones((3, 3), bool))
    boxes = ndimage.find_objects(pieces)
    mass = ndimage.sum(ink, pieces, range(1, n + 1))
    order = np.argsort(-mass)  # the largest first: smaller pieces join them
    groups: list[list[int]] = []
    for i in order:
        rows, cols = boxes[i]
        for group in groups:
            g_cols = (min(boxes[j][1].start for j in group), max(boxes[j][1].stop for j in group))
            g_height = max(boxes[j][0].stop for j in group) - min(boxes[j][0].start for j in group)
            shared = min(cols.stop, g_cols[1]) - max(cols.start, g_cols[0])
            if shared >= join * (cols.stop - cols.start) and rows.stop - rows.start < 0.75 * g_height:
                group.append(i)
                break
        else:
            groups.append([i])
    height = max(max(boxes[j][0].stop for j in g) - min(boxes[j][0].start for j in g) for g in groups)
    out = []
    for group in groups:
        rows = slice(min(boxes[j][0].start for j in group), max(boxes[j][0].stop for j in group))
        cols = slice(min(boxes[j][1].start for j in group), max(boxes[j][1].stop for j in group))
        if rows.stop - rows.start < 0.1 * height and mass[group].sum() < 0.01 * mass.max() * len(groups):
            continue
        out.append((rows, cols, group))
    out.sort(key=lambda g: g[1].start)
    return [
        ((rows, cols), np.where(np.isin(pieces[rows, cols], np.asarray(group) + 1), ink[rows, cols], 0))
        for rows, cols, group in out
    ]


def _cut_in_two(image: np.ndarray, around: float | None) -> list[tuple[np.ndarray, int]]:
    """:func:`split_two_digits`, each side cropped to its ink's columns, with its left column in ``image``."""
    left, right = split_two_digits(image, around=around)
    start = int(np.flatnonzero(right.any(axis=0)).min())
    return [(left[:, : np.flatnonzero(left.any(axis=0)).max() + 1], 0), (right[:, start:], start)]


def split_into(image: np.ndarray, k: int, first: float | None = None) -> list[tuple[np.ndarray, int]]:
    """A glyph of ``k`` digits that touch or overlap cut into ``k`` parts, left to right, each with its left
    edge in ``image``: the seam splitter (:func:`split_two_digits`) cuts the first digit off near ``first``
    of the width (default 1/k), then the rest again near 1/(k-1) of its width, and so on. Raises ImageError
    when a cut finds no ink on one side."""
    parts, offset, rest = [], 0, image
    for remaining in range(k, 1, -1):
        around = first if remaining == k and first is not None else 1 / remaining
        (left, _), (rest, start) = _cut_in_two(rest, around)
        parts.append((left, offset))
        offset += start
    parts.append((rest, offset))
    return parts


def cuts(image: np.ndarray, k: int) -> list[list[tuple[np.ndarray, int]]]:
    """Ways of cutting a glyph into ``k`` digits (:func:`split_into`): for two, the least-ink seam and seams
    near each of :data:`SPLIT_PLACES`; for more, the first cut near 0.8, 1 and 1.2 times 1/k of the width."""
    if k == 1:
        return [[(image, 0)]]
    out = []
    for place in (None, *SPLIT_PLACES) if k == 2 else (0.8 / k, 1 / k, 1.2 / k):
        try:
            # for two, place None is the least-ink seam wherever it runs
            out.append(_cut_in_two(image, None) if k == 2 and place is None else split_into(image, k, place))
        except ImageError:
            continue
    return out


ONE_DIGIT_WIDTH = 0.95  # a glyph at most this many times as wide as it is tall is read as one digit


def digit_counts(width: int, height: int, most: int = 12) -> range:
    """How many digits a glyph ``width`` wide and ``height`` tall may hold: one when it is no wider than
    :data:`ONE_DIGIT_WIDTH` of its height (almost every handwritten digit is narrower); else as many as digits
    0.45 to 1.15 times as wide as tall give (one, for a wide 0, 2 or 7, among them)."""
    if width <= ONE_DIGIT_WIDTH * height:
        return range(1, 2)
    low = max(1, int(np.floor(width / (1.15 * height))))
    return range(low, max(low, min(most, int(np.ceil(width / (0.45 * height))))) + 1)
