"""Makes the test corpus of user images: digits as people hand them in, with known labels.

Real MNIST and USPS test digits, and digits drawn here with a pen (``make_examples.STROKES``), are put
on paper as ink: ballpoint, pencil, marker; black or blue ink; white, lined, squared or coloured paper;
a shadow; a phone photo's uneven light, noise, blur and JPEG; a photo stored sideways with an EXIF
rotation; a small digit in a large photo; two-digit numbers whose digits stand apart, touch,
overlap a little, differ in size, or slant; numbers of 3-8 digits spaced from apart to touching; and
things that are not digits (letters in several hands, symbols, doodles, blots, near-blank paper; made by
``digits.nondigits`` with this script's own seed, never the seeds the decline rule is chosen on).
Writes the images and ``labels.csv`` (file, label, kind, source; a number's label is its digit string,
a non-digit's is empty) beside this script; seeded, so re-running it reproduces the committed files.

    DIGITS_DATA_DIR=../shared/data python data/examples/corpus/make_corpus.py
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[2])]
from make_examples import STROKES  # noqa: E402

from digits import data, nondigits  # noqa: E402
from digits.paper import (  # noqa: E402
    BLACK,
    BLUE,
    GRAPHITE,
    PAPERS,
    bolder,
    dataset_ink,
    on_paper,
    photo,
    place,
    shadow,
    sheared,
    sheet,
    sheet_for,
    styled_sheet,
)
from digits.reader import written_number  # noqa: E402

PER_KIND = 15


# ---------------------------------------------------------------- ink drawn here


def drawn(digit: int, height: int, pen_share: float, rng) -> np.ndarray:
    """A digit drawn with a round pen (``STROKES``), ``pen_share`` of its height wide, as ink 0..1."""
    scale, pen = height / 100, max(2, round(pen_share * height))
    size = round(110 * scale) + pen
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    for line in STROKES[digit]:
        points = [(pen / 2 + scale * (x + 5) + dx, pen / 2 + scale * (y + 5) + dy) for (x, y), (dx, dy) in
                  zip(line, rng.normal(0, 1.2 * scale, (len(line), 2)), strict=True)]  # fmt: skip
        draw.line(points, fill=255, width=pen, joint="curve")
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)
    return np.asarray(canvas, np.float32) / 255


def pair_ink(a: np.ndarray, b: np.ndarray, gap: int) -> np.ndarray:
    """Two digits side by side, ``gap`` pixels between their ink (negative: they overlap), bottoms aligned."""

    def cols(ink):
        c = np.flatnonzero(ink.max(axis=0) > 0.3)
        return c.min(), c.max()

    (_, a1), (b0, _) = cols(a), cols(b)
    h = max(a.shape[0], b.shape[0])
    x_b = a1 + 1 + gap - b0
    w = max(a.shape[1], x_b + b.shape[1]) + 4
    out = np.zeros((h, w), np.float32)
    out[h - a.shape[0] :, : a.shape[1]] = a
    region = out[h - b.shape[0] :, x_b : x_b + b.shape[1]]
    np.maximum(region, b, out=region)
    return out


# ---------------------------------------------------------------- files


def save(rgb: np.ndarray, name: str, jpeg: bool = False, exif_rotate: bool = False) -> str:
    image = Image.fromarray(np.clip(rgb, 0, 255).round().astype(np.uint8))
    kwargs = {}
    if exif_rotate:  # stored sideways, as a phone does; EXIF orientation 6: turn 90° clockwise to show
        shown = image
        image = image.rotate(90, expand=True)
        exif = Image.Exif()
        exif[0x0112] = 6
        kwargs["exif"] = exif.tobytes()
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90, **kwargs)
        assert ImageOps.exif_transpose(Image.open(buffer)).size == shown.size
    name += ".jpg" if jpeg or exif_rotate else ".png"
    if jpeg or exif_rotate:
        image.save(HERE / name, quality=int(70 if jpeg else 90), **kwargs)
    else:
        image.save(HERE / name, optimize=True)
    return name


# ---------------------------------------------------------------- the kinds


def single_kinds(rng):
    """(kind, function(digit image, rng) -> (rgb, jpeg, exif)) for one digit."""

    def ballpoint(d, rng):
        ink = dataset_ink(d, int(rng.integers(70, 110)))
        size = sheet_for(ink, rng)
        return on_paper(ink, sheet(size), BLACK, place(ink, size, rng)), False, False

    def pencil(d, rng):
        ink = dataset_ink(d, int(rng.integers(70, 110)))
        ink = ink * rng.uniform(0.55, 1.0, ink.shape)  # graphite grain
        size = sheet_for(ink, rng)
        return on_paper(ink, sheet(size), GRAPHITE, place(ink, size, rng), 0.75), False, False

    def marker(d, rng):
        ink = bolder(dataset_ink(d, int(rng.integers(80, 110))), rng.uniform(0.2, 0.33))
        size = sheet_for(ink, rng)
        return on_paper(ink, sheet(size), BLACK, place(ink, size, rng)), False, False

    def blue_ink(d, rng):
        ink = dataset_ink(d, int(rng.integers(70, 110)))
        size = sheet_for(ink, rng)
        return on_paper(ink, sheet(size), BLUE, place(ink, size, rng)), False, False

    def ruled(lines):
        def make(d, rng):
            ink = dataset_ink(d, int(rng.integers(70, 100)))
            size = sheet_for(ink, rng, 0.8)
            ruled_sheet = sheet(size, lines=lines, spacing=int(ink.shape[0] * rng.uniform(0.3, 0.45)))
            return (
                on_paper(ink, ruled_sheet, BLUE if rng.random() < 0.5 else BLACK, place(ink, size, rng)),
                False,
                False,
            )

        return make

    def coloured(d, rng):
        ink = dataset_ink(d, int(rng.integers(70, 110)))
        size = sheet_for(ink, rng)
        colour = list(PAPERS.values())[int(rng.integers(len(PAPERS)))]
        return (
            on_paper(ink, sheet(size, colour), BLACK if rng.random() < 0.5 else BLUE, place(ink, size, rng)),
            False,
            False,
        )

    def shadowed(d, rng):
        ink = dataset_ink(d, int(rng.integers(70, 110)))
        size = sheet_for(ink, rng, 0.8)
        return shadow(on_paper(ink, sheet(size), BLACK, place(ink, size, rng)), rng), False, False

    def phone_photo(d, rng):
        ink = dataset_ink(d, int(rng.integers(70, 110)))
        if rng.random() < 0.5:
            ink = bolder(ink, rng.uniform(0.15, 0.3))
        size = sheet_for(ink, rng, 0.8)
        return photo(on_paper(ink, sheet(size), BLACK, place(ink, size, rng)), rng), True, False

    def exif_rotated(d, rng):
        ink = dataset_ink(d, int(rng.integers(70, 100)))
        size = sheet_for(ink, rng)
        return photo(on_paper(ink, sheet(size), BLACK, place(ink, size, rng)), rng), False, True

    def small_in_large(d, rng):
        ink = dataset_ink(d, int(rng.integers(28, 44)))
        size = (480, 640)
        return photo(on_paper(ink, sheet(size), BLACK, place(ink, size, rng)), rng), True, False

    return {
        "ballpoint": ballpoint,
        "pencil": pencil,
        "marker": marker,
        "blue ink": blue_ink,
        "lined paper": ruled("lined"),
        "squared paper": ruled("squared"),
        "coloured paper": coloured,
        "shadow": shadowed,
        "phone photo": phone_photo,
        "EXIF rotation": exif_rotated,
        "small digit, large photo": small_in_large,
    }


def pair_kinds():
    """(kind, (gap range as a share of height, second digit's relative size, shear)) for two digits."""
    return {
        "pair, apart": ((0.1, 0.3), (1.0, 1.0), 0.0),
        "pair, touching": ((-0.02, 0.0), (1.0, 1.0), 0.0),
        "pair, overlapping a little": ((-0.08, -0.03), (1.0, 1.0), 0.0),
        "pair, different sizes": ((0.0, 0.15), (0.65, 0.8), 0.0),
        "pair, slanted": ((0.0, 0.12), (1.0, 1.0), 0.3),
    }


NUMBER_KINDS = {  # gap between neighbours as a share of the height
    "number, apart": (0.1, 0.3),
    "number, close": (0.0, 0.08),
    "number, touching": (-0.02, 0.0),
    "number, apart to overlapping": (-0.06, 0.25),
}
NOT_DIGITS = {  # kind in the corpus: (nondigits kind, how many)
    "not a digit: letter, pen": ("letter, pen", 16),
    "not a digit: letter, typeset": ("letter, typeset", 12),
    "not a digit: symbol": ("symbol", 12),
    "not a digit: doodle": ("doodle", 12),
    "not a digit: blot or noise": ("blot or noise", 6),
    "not a digit: near-blank paper": ("near-blank", 8),
}


def main() -> None:
    rng = np.random.default_rng(2026)
    for old in HERE.glob("*.png"):
        old.unlink()
    for old in HERE.glob("*.jpg"):
        old.unlink()
    (_, _), (mx, my) = data.load_mnist()
    (_, _), (ux, uy) = data.load_usps()
    rows = []
    picks = iter(rng.permutation(len(mx)))
    for k, (kind, make) in enumerate(single_kinds(rng).items()):
        for i in range(PER_KIND):
            j = next(picks)
            rgb, jpeg, exif = make(mx[j], rng)
            name = save(rgb, f"single_{k:02d}_{i:02d}", jpeg, exif)
            rows.append((name, int(my[j]), kind, f"MNIST test #{j}"))
    for i, j in enumerate(rng.choice(len(ux), PER_KIND, replace=False)):
        ink = dataset_ink(ux[j], int(rng.integers(70, 110)))
        size = sheet_for(ink, rng)
        name = save(on_paper(ink, sheet(size), BLACK, place(ink, size, rng)), f"single_usps_{i:02d}")
        rows.append((name, int(uy[j]), "USPS digit", f"USPS test #{j}"))
    for i in range(2 * PER_KIND):  # drawn here, pens from 2% to 35% of the digit's height
        digit, share = i % 10, float(np.linspace(0.02, 0.35, 2 * PER_KIND)[i])
        ink = drawn(digit, int(rng.integers(80, 120)), share, rng)
        size = sheet_for(ink, rng)
        as_photo = bool(i % 2)
        rgb = on_paper(ink, sheet(size), BLACK if as_photo else BLUE, place(ink, size, rng))
        name = save(photo(rgb, rng) if as_photo else rgb, f"single_drawn_{i:02d}", jpeg=as_photo)
        rows.append((name, digit, "drawn, pen 2-35% of height", f"drawn here, pen {share:.0%} of the digit's height"))
    for k, (kind, (gaps, relative, shear)) in enumerate(pair_kinds().items()):
        for i in range(PER_KIND):
            a, b = next(picks), next(picks)
            h = int(rng.integers(70, 100))
            first, second = dataset_ink(mx[a], h), dataset_ink(mx[b], int(h * rng.uniform(*relative)))
            if shear:
                first, second = sheared(first, shear), sheared(second, shear)
            ink = pair_ink(first, second, int(rng.uniform(*gaps) * h))
            size = sheet_for(ink, rng, 0.4)
            rgb = on_paper(ink, sheet(size), BLACK if i % 2 else BLUE, place(ink, size, rng))
            name = save(photo(rgb, rng) if i % 3 == 0 else rgb, f"pair_{k:02d}_{i:02d}", jpeg=i % 3 == 0)
            rows.append((name, f"{my[a]}{my[b]}", kind, f"MNIST test #{a} + #{b}"))  # "07": the digits as written
    for k, (kind, gaps) in enumerate(NUMBER_KINDS.items()):
        for i in range(PER_KIND + 1):
            length, h = int(rng.integers(3, 9)), int(rng.integers(60, 90))
            picked = [next(picks) for _ in range(length)]
            shear = rng.uniform(0.15, 0.3) if i % 4 == 3 else 0.0
            glyphs = [dataset_ink(mx[j], int(h * (rng.uniform(0.7, 0.9) if rng.random() < 0.2 else 1))) for j in picked]
            glyphs = [sheared(g, shear) if shear else g for g in glyphs]
            ink = written_number(glyphs, [int(rng.uniform(*gaps) * h) for _ in range(length - 1)])
            rgb, jpeg = styled_sheet(ink, i, rng)
            name = save(rgb, f"number_{k:02d}_{i:02d}", jpeg=jpeg)
            rows.append(
                (
                    name,
                    "".join(str(int(my[j])) for j in picked),
                    kind,
                    "MNIST test " + " + ".join(f"#{j}" for j in picked),
                )
            )
    for k, (kind, (generated, count)) in enumerate(NOT_DIGITS.items()):
        for i in range(count):
            ink, shows = nondigits.generate(generated, rng, int(rng.integers(70, 110)))
            rgb, jpeg = styled_sheet(ink, i, rng)
            name = save(rgb, f"other_{k:02d}_{i:02d}", jpeg=jpeg)
            rows.append((name, "", kind, f"digits.nondigits: {shows}"))
    with open(HERE / "labels.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "label", "kind", "source"])
        writer.writerows(rows)
    print(f"{len(rows)} images in {HERE}")


if __name__ == "__main__":
    main()
