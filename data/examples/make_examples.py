"""Draws the example images of notebooks/08_custom_images: pen strokes made for this project
(not taken from any dataset), saved the way people hand images in. Run from anywhere:
    python data/examples/make_examples.py
"""
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).parent
# Strokes in a 100x100 box: lists of polylines.
STROKES = {
    0: [[(50, 8), (28, 20), (20, 50), (28, 80), (50, 92), (72, 80), (80, 50), (72, 20), (50, 8)]],
    1: [[(38, 22), (55, 8), (52, 92)]],
    2: [[(22, 28), (35, 10), (60, 8), (76, 24), (70, 48), (24, 90), (82, 90)]],
    3: [[(24, 14), (70, 12), (44, 46), (74, 58), (72, 84), (46, 94), (22, 84)]],
    4: [[(60, 8), (18, 64), (84, 64)], [(62, 30), (60, 94)]],
    5: [[(76, 10), (32, 10), (28, 46), (60, 42), (78, 62), (70, 86), (44, 94), (22, 84)]],
    6: [[(70, 10), (40, 30), (24, 64), (34, 90), (60, 92), (74, 72), (60, 52), (32, 58)]],
    7: [[(18, 12), (82, 12), (44, 92)]],
    8: [[(50, 48), (26, 30), (34, 10), (66, 10), (74, 30), (50, 48), (24, 68), (34, 92), (66, 92), (76, 68), (50, 48)]],
    9: [[(72, 36), (50, 48), (28, 36), (34, 12), (62, 10), (72, 36), (68, 92)]],
}


def draw(digits, size=(100, 100), pen=9, ink=0, paper=255, offset=(0, 0), scale=1.0, rng=None):
    rng = rng or np.random.default_rng(0)
    img = Image.new("L", size, paper)
    pen_draw = ImageDraw.Draw(img)
    for k, digit in enumerate(digits):
        for line in STROKES[digit]:
            jitter = rng.normal(0, 1.5, (len(line), 2))
            points = [(offset[0] + scale * (x + 90 * k) + dx, offset[1] + scale * y + dy) for (x, y), (dx, dy) in zip(line, jitter)]
            pen_draw.line(points, fill=ink, width=int(pen * scale), joint="curve")
    return img


def main():
    rng = np.random.default_rng(7)
    # 1. a phone photo: grey paper with a gradient and noise, blurred, JPEG
    photo = np.asarray(draw([3], size=(300, 240), pen=10, ink=40, paper=200, offset=(90, 40), scale=1.5, rng=rng), float)
    photo += np.linspace(-25, 25, photo.shape[1])[None, :] + rng.normal(0, 6, photo.shape)
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).convert("RGB").filter(ImageFilter.GaussianBlur(1.2)).save(HERE / "photo_3.jpg", quality=85)
    # 2. a transparent PNG: black ink, alpha only where the pen went
    ink = np.asarray(draw([7], size=(160, 160), pen=12, ink=255, paper=0, offset=(20, 20), scale=1.2, rng=rng))
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., 3] = ink
    Image.fromarray(rgba, "RGBA").save(HERE / "transparent_7.png")
    # 3. chalk on a dark board, colour
    chalk = draw([4], size=(200, 200), pen=8, ink=235, paper=30, offset=(40, 40), scale=1.2, rng=rng).convert("RGB")
    chalk.save(HERE / "chalk_4.png")
    # 4. a small digit far off-centre in a big scan with wide margins
    draw([2], size=(600, 450), pen=6, ink=10, paper=250, offset=(420, 300), scale=0.9, rng=rng).save(HERE / "margin_2.png")
    # 5. a thin pen, greyscale
    draw([6], size=(120, 120), pen=4, ink=0, paper=255, offset=(10, 10), rng=rng).save(HERE / "thin_6.png")
    # 6. two-digit numbers
    draw([4, 2], size=(260, 140), pen=10, ink=20, paper=245, offset=(20, 20), rng=rng).save(HERE / "number_42.png")
    draw([1, 9], size=(260, 140), pen=10, ink=230, paper=15, offset=(25, 20), rng=rng).convert("RGB").save(HERE / "number_19.png")
    # 7. things that are not a digit
    Image.new("RGB", (80, 80), (245, 245, 245)).save(HERE / "blank.png")
    (HERE / "not_an_image.png").write_text("this file is text, not a picture\n")


if __name__ == "__main__":
    main()
