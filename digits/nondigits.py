"""Images that are not digits, generated: letters (typeset in the fonts bundled with Matplotlib, and drawn
with a jittered pen), symbols, doodles and near-blank paper. They are the out-of-distribution examples on
which the reader's decline rule is chosen (``digits.decline``) and the non-digits of the image corpus.

Every image is ink, white on black (float 0..1, any size), like ``preprocess.read_image``'s output scaled
to 0..1. Seeded: the same ``rng`` gives the same images.

Letters and strokes written exactly like a digit are left out (:data:`LIKE_A_DIGIT`: O and 0, I, l, / and 1,
S and 5, ...):
no reader can tell them apart without context, so they are neither digits nor fair non-digits.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from .preprocess import frame_digit

LIKE_A_DIGIT = set("OoIlSsZzBbgq/\\|")  # 0, 1, 5, 2, 8, 6, 9 and a 1's stroke
LETTERS = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in LIKE_A_DIGIT]
SYMBOLS = list("+-=×÷%$&#@?!*<>()[]{}~^€£§¶∞√πΣΩ✓→←♥★✗")
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONTS = [
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Italic.ttf",
    "DejaVuSansMono.ttf", "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf", "STIXGeneralItalic.ttf", "cmr10.ttf",
]  # fmt: skip

# Pen strokes of capital letters (and a few small ones) in a 100x100 box, like make_examples' digits.
PEN_LETTERS = {
    "A": [[(15, 92), (50, 8), (85, 92)], [(30, 60), (70, 60)]],
    "C": [[(80, 22), (55, 8), (28, 20), (18, 50), (28, 80), (55, 92), (80, 78)]],
    "E": [[(78, 8), (25, 8), (25, 92), (78, 92)], [(25, 50), (65, 50)]],
    "F": [[(78, 8), (25, 8), (25, 92)], [(25, 50), (65, 50)]],
    "H": [[(22, 8), (22, 92)], [(78, 8), (78, 92)], [(22, 50), (78, 50)]],
    "K": [[(25, 8), (25, 92)], [(78, 8), (25, 58)], [(40, 45), (80, 92)]],
    "L": [[(28, 8), (28, 92), (78, 92)]],
    "M": [[(12, 92), (20, 8), (50, 60), (80, 8), (88, 92)]],
    "N": [[(20, 92), (20, 8), (80, 92), (80, 8)]],
    "P": [[(25, 92), (25, 8), (62, 8), (78, 22), (72, 42), (25, 50)]],
    "R": [[(25, 92), (25, 8), (62, 8), (78, 22), (72, 42), (25, 50)], [(48, 50), (80, 92)]],
    "U": [[(20, 8), (20, 70), (35, 90), (65, 90), (80, 70), (80, 8)]],
    "V": [[(15, 8), (50, 92), (85, 8)]],
    "W": [[(8, 8), (28, 92), (50, 35), (72, 92), (92, 8)]],
    "X": [[(18, 8), (82, 92)], [(82, 8), (18, 92)]],
    "Y": [[(18, 8), (50, 50), (82, 8)], [(50, 50), (50, 92)]],
    "K2": [[(25, 8), (25, 92)], [(75, 12), (27, 55), (78, 90)]],
    "e": [[(25, 60), (75, 58), (68, 38), (48, 32), (26, 48), (30, 80), (55, 92), (76, 82)]],
    "h": [[(25, 5), (25, 95)], [(25, 60), (45, 42), (68, 45), (72, 65), (72, 95)]],
    "m": [[(12, 40), (12, 92)], [(12, 55), (30, 40), (45, 50), (45, 92)], [(45, 55), (65, 40), (85, 52), (85, 92)]],
    "n": [[(25, 40), (25, 92)], [(25, 58), (45, 42), (68, 45), (74, 65), (74, 92)]],
    "r": [[(30, 40), (30, 92)], [(30, 62), (48, 44), (72, 42)]],
    "w": [[(10, 40), (30, 92), (50, 50), (70, 92), (90, 40)]],
    "x": [[(22, 40), (78, 92)], [(78, 40), (22, 92)]],
    "k": [[(25, 5), (25, 95)], [(72, 40), (28, 70)], [(42, 62), (76, 95)]],
}
PEN_SYMBOLS = {
    "+": [[(50, 15), (50, 85)], [(15, 50), (85, 50)]],
    "=": [[(15, 38), (85, 38)], [(15, 64), (85, 64)]],
    "#": [[(38, 10), (30, 90)], [(68, 10), (60, 90)], [(15, 35), (88, 35)], [(12, 65), (85, 65)]],
    "check": [[(12, 55), (38, 85), (90, 12)]],
    "arrow": [[(8, 50), (90, 50)], [(65, 25), (90, 50), (65, 75)]],
    "?": [[(25, 25), (40, 8), (65, 8), (78, 25), (70, 42), (50, 55), (50, 72)], [(50, 88), (51, 92)]],
    "!": [[(50, 8), (50, 70)], [(50, 88), (51, 92)]],
    "%": [[(80, 10), (20, 90)], [(25, 12), (38, 20), (25, 32), (14, 22), (25, 12)],
          [(72, 68), (85, 78), (72, 90), (60, 80), (72, 68)]],
    "&": [[(85, 92), (30, 35), (35, 12), (55, 10), (60, 28), (20, 65), (30, 90), (55, 92), (82, 60)]],
    "@": [[(62, 40), (45, 35), (38, 55), (50, 66), (65, 55), (62, 35), (66, 66), (85, 60), (88, 40), (72, 15),
           (45, 10), (20, 30), (18, 65), (40, 90), (70, 88)]],
}  # fmt: skip
KINDS = ("letter, typeset", "letter, pen", "symbol", "doodle", "blot or noise", "near-blank")
OUT_OF_DISTRIBUTION = KINDS[:5]  # what the decline rule learns and is judged on; near-blank is the reader's own rule


def _canvas(size: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("L", (size, size), 0)
    return image, ImageDraw.Draw(image)


def pen_drawing(lines, rng, height: int = 100, pen_share: float = 0.1, jitter: float = 1.5) -> np.ndarray:
    """Polylines in a 100x100 box drawn with a round pen ``pen_share`` of ``height`` wide, each point moved
    by a few pixels (a hand is never exact); ink 0..1."""
    scale, pen = height / 100, max(2, round(pen_share * height))
    image, draw = _canvas(round(110 * scale) + pen)
    for line in lines:
        moved = np.asarray(line, float) + rng.normal(0, jitter, (len(line), 2))
        points = [(pen / 2 + scale * (x + 5), pen / 2 + scale * (y + 5)) for x, y in moved]
        draw.line(points, fill=255, width=pen, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    return np.asarray(image, np.float32) / 255


def typeset(char: str, font: str, height: int = 100) -> np.ndarray:
    """One character in one of :data:`FONTS`, about ``height`` pixels tall; ink 0..1."""
    face = ImageFont.truetype(str(FONT_DIR / font), height)
    left, top, right, bottom = face.getbbox(char)
    image, draw = _canvas(max(right - left, bottom - top) + 20)
    draw.text((10 - left, 10 - top), char, fill=255, font=face)
    return np.asarray(image, np.float32) / 255


def doodle(rng, height: int = 100) -> np.ndarray:
    """A doodle with a pen: a scribble, a spiral, a smiley, a star, a polygon, a wave, a heart or hatching."""
    kind = rng.choice(["scribble", "spiral", "smiley", "star", "polygon", "wave", "heart", "hatching", "cloud"])
    t = np.linspace(0, 1, 60)
    if kind == "scribble":  # a smooth path through random points
        knots = rng.uniform(10, 90, (int(rng.integers(5, 10)), 2))
        path = [np.interp(np.linspace(0, len(knots) - 1, 80), np.arange(len(knots)), knots[:, i]) for i in (0, 1)]
        lines = [list(zip(*path, strict=True))]
    elif kind == "spiral":
        turns, a = rng.uniform(1.5, 3.5), np.linspace(0, 1, 120)
        r, phi = 45 * a, 2 * np.pi * turns * a
        lines = [list(zip(50 + r * np.cos(phi), 50 + r * np.sin(phi), strict=True))]
    elif kind == "smiley":
        phi = 2 * np.pi * t
        lines = [list(zip(50 + 42 * np.cos(phi), 50 + 42 * np.sin(phi), strict=True)),
                 [(36, 36), (37, 38)], [(64, 36), (65, 38)],
                 list(zip(30 + 40 * t, 62 + 14 * np.sin(np.pi * t), strict=True))]  # fmt: skip
    elif kind == "star":
        points = int(rng.integers(5, 8))
        phi = np.pi / points * np.arange(2 * points + 1) - np.pi / 2
        r = np.where(np.arange(2 * points + 1) % 2, 18, 45)
        lines = [list(zip(50 + r * np.cos(phi), 50 + r * np.sin(phi), strict=True))]
    elif kind == "polygon":  # triangle, square, pentagon, ...
        n = int(rng.integers(3, 7))
        phi = 2 * np.pi * np.arange(n + 1) / n + rng.uniform(0, np.pi)
        lines = [list(zip(50 + 44 * np.cos(phi), 50 + 44 * np.sin(phi), strict=True))]
    elif kind == "wave":
        lines = [list(zip(5 + 90 * t, 50 + 25 * np.sin(2 * np.pi * rng.uniform(1.5, 3) * t), strict=True))]
    elif kind == "heart":
        phi = 2 * np.pi * t
        x, y = 16 * np.sin(phi) ** 3, -(13 * np.cos(phi) - 5 * np.cos(2 * phi) - 2 * np.cos(3 * phi) - np.cos(4 * phi))
        lines = [list(zip(50 + 2.6 * x, 45 + 2.6 * y, strict=True))]
    elif kind == "hatching":
        lines = [[(10 + 16 * i, 90), (30 + 16 * i, 10)] for i in range(int(rng.integers(3, 6)))]
    else:  # a cloud: bumps around a loop
        phi = 2 * np.pi * np.linspace(0, 1, 150)
        r = 32 + 8 * np.abs(np.sin(int(rng.integers(4, 8)) * phi / 2))
        lines = [list(zip(50 + 1.3 * r * np.cos(phi), 50 + r * np.sin(phi), strict=True))]
    return pen_drawing(lines, rng, height, rng.uniform(0.03, 0.14))


def near_blank(rng, size: int = 100) -> np.ndarray:
    """Paper with next to nothing on it: a few specks of dust, a dot, or a faint smudge."""
    ink = np.zeros((size, size), np.float32)
    kind = rng.choice(["specks", "dot", "smudge"])
    if kind == "specks":
        for _ in range(int(rng.integers(1, 6))):
            r, c = rng.integers(0, size, 2)
            ink[r, c] = rng.uniform(0.3, 1)
        ink = ndimage.grey_dilation(ink, size=(2, 2))
    elif kind == "dot":
        r, c = rng.integers(20, size - 20, 2)
        ink[r - 2 : r + 2, c - 2 : c + 2] = 1
    else:
        r, c = rng.integers(20, size - 20, 2)
        ink[r, c] = 1
        ink = ndimage.gaussian_filter(ink, rng.uniform(6, 12))
        ink = 0.12 * ink / ink.max()
    return ink


def blot(rng, size: int = 100) -> np.ndarray:
    """A filled shape, an ink blot, a smear or a patch of noise: ink with no strokes."""
    kind = rng.choice(["disc", "box", "blot", "smear", "noise"])
    rows, cols = np.mgrid[0:size, 0:size] / size
    if kind == "disc":
        ink = (np.hypot(rows - 0.5, (cols - 0.5) * rng.uniform(0.6, 1.6)) < rng.uniform(0.2, 0.45)).astype(np.float32)
    elif kind == "box":
        h, w = rng.uniform(0.2, 0.45, 2)
        ink = ((abs(rows - 0.5) < h) & (abs(cols - 0.5) < w)).astype(np.float32)
    elif kind == "blot":
        ink = ndimage.gaussian_filter(rng.random((size, size)), size / 12)
        ink = (ink > np.quantile(ink, rng.uniform(0.6, 0.85))).astype(np.float32)
    elif kind == "smear":
        ink = ndimage.gaussian_filter(rng.random((size, size)) * (abs(rows - 0.5) < 0.15), (2, size / 6))
        ink = np.clip(ink / ink.max() * 1.5, 0, 1)
    else:
        ink = rng.random((size, size)).astype(np.float32) * rng.uniform(0.5, 1)
    return ink


def _styled(ink: np.ndarray, rng) -> np.ndarray:
    """A little slant and rotation, as a hand writes."""
    ink = ndimage.rotate(ink, rng.uniform(-12, 12), reshape=True, order=1)
    shear = rng.uniform(-0.25, 0.25)
    return np.clip(
        ndimage.affine_transform(ink, [[1, 0], [-shear, 1]], offset=(0, shear * ink.shape[0] / 2), order=1), 0, 1
    )


def generate(kind: str, rng, height: int = 100) -> tuple[np.ndarray, str]:
    """One non-digit of ``kind`` (one of :data:`KINDS`; or "digit, typeset", a digit in one of the fonts): its
    ink and what it shows."""
    if kind == "letter, typeset":
        char, font = rng.choice(LETTERS), rng.choice(FONTS)
        return _styled(typeset(char, font, height), rng), f"{char} ({font.removesuffix('.ttf')})"
    if kind == "letter, pen":
        name = rng.choice(list(PEN_LETTERS))  # none of them is written like a digit
        return _styled(pen_drawing(PEN_LETTERS[name], rng, height, rng.uniform(0.04, 0.16)), rng), name[0]
    if kind == "symbol":
        if rng.random() < 0.5:
            char = rng.choice(SYMBOLS)
            return _styled(typeset(char, rng.choice(FONTS[:3]), height), rng), char  # DejaVu Sans has them all
        name = rng.choice(list(PEN_SYMBOLS))
        return _styled(pen_drawing(PEN_SYMBOLS[name], rng, height, rng.uniform(0.04, 0.14)), rng), name
    if kind == "doodle":
        return _styled(doodle(rng, height), rng), "doodle"
    if kind == "blot or noise":
        return blot(rng, height), "blot or noise"
    if kind == "near-blank":
        return near_blank(rng, height), "near-blank"
    if kind == "digit, typeset":  # not a non-digit: the detector's typeset positives, styled like the letters
        digit = int(rng.integers(10))
        return _styled(typeset(str(digit), rng.choice(FONTS), height), rng), str(digit)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def framed(count: int, seed: int, kinds=OUT_OF_DISTRIBUTION) -> tuple[np.ndarray, np.ndarray]:
    """``count`` non-digits of ``kinds`` (in turn), framed like MNIST: uint8 N x 28 x 28 and their kinds."""
    rng = np.random.default_rng(seed)
    kinds_out = [kinds[i % len(kinds)] for i in range(count)]
    images = [frame_digit(generate(k, rng)[0]) for k in kinds_out]
    return np.stack(images), np.asarray(kinds_out)


def _part_of(ink: np.ndarray, rng, ink_level: float) -> np.ndarray:
    """The left or the right part of ``ink``, cut at 30-70% of the width of its columns above ``ink_level``."""
    cols = np.flatnonzero(ink.max(axis=0) > ink_level)
    cut = int(cols.min() + rng.uniform(0.3, 0.7) * np.ptp(cols))
    return ink[:, :cut] if rng.random() < 0.5 else ink[:, cut:]


def pieces_of_others(count: int, rng) -> np.ndarray:
    """Part of a letter, symbol or doodle (cut at 30-70% of its width), framed like MNIST: what the reader
    sees when it tries to cut a non-digit into digits. Pieces narrower than 0.4 of their height (a stroke, as
    a 1 is) are left out."""
    out = []
    while len(out) < count:
        ink, _ = generate(rng.choice(OUT_OF_DISTRIBUTION[:4]), rng, 60)
        if np.count_nonzero(ink.max(axis=0) > 0.3) < 4:
            continue
        piece = _part_of(ink, rng, 0.3)
        rows, cols = np.flatnonzero(piece.max(axis=1) > 0.3), np.flatnonzero(piece.max(axis=0) > 0.3)
        if rows.size and cols.size and np.ptp(cols) >= 0.4 * np.ptp(rows):
            out.append(frame_digit(piece))
    return np.stack(out)


def pieces_of_numbers(x: np.ndarray, y: np.ndarray, count: int, rng) -> np.ndarray:
    """What a wrong cut of a handwritten number gives, framed like MNIST (uint8 N x 28 x 28): part of a digit
    (cut at 30-70% of its width), two digits side by side read as one, or a digit with a piece of its
    neighbour. From real digits ``x`` (N x 28 x 28, labels ``y``; 1s are left out, any piece of one is a 1)."""
    usable = np.flatnonzero(np.asarray(y) != 1)
    out = []
    while len(out) < count:
        a, b = (x[i].astype(np.float32) for i in rng.choice(usable, 2))
        kind = rng.integers(3)
        if kind == 0:
            piece = _part_of(a, rng, 60)
        else:
            a_right, b_cols = np.flatnonzero(a.max(axis=0) > 60).max(), np.flatnonzero(b.max(axis=0) > 60)
            start = max(0, int(a_right + rng.integers(-2, 3) - b_cols.min()))  # touching, or a pixel or two apart
            pair = np.zeros((28, start + 56), np.float32)
            pair[:, :28] = a
            pair[:, start : start + 28] = np.maximum(pair[:, start : start + 28], b)
            if kind == 2:  # a digit and 20-40% of the next one
                piece = pair[:, : int(start + b_cols.min() + rng.uniform(0.2, 0.4) * np.ptp(b_cols)) + 1]
            else:
                piece = pair
        if piece.max() > 60:
            out.append(frame_digit(piece))
    return np.stack(out)


def restroked(x: np.ndarray, rng) -> np.ndarray:
    """Framed images (uint8 N x 28 x 28) written with another pen: strokes made bolder by one or two pixels
    (a marker, an upscaled scan) or thinner by one, then framed again like MNIST."""
    out = []
    for image in x:
        pen = int(rng.integers(3))
        ink = np.pad(image.astype(np.float32), 4)
        ink = ndimage.grey_erosion(ink, size=(2, 2)) if pen == 0 else ndimage.grey_dilation(ink, size=(pen + 1,) * 2)
        out.append(frame_digit(ink) if ink.max() > 0 else image)
    return np.stack(out)
