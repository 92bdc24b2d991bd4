"""Reading a number of any length, and declining what is not a digit (``digits.reader``, ``predict --number``).

The images are drawn here with a pen (``make_examples.STROKES``; letters and doodles from
``digits.nondigits``), so no dataset is needed; the shipped model and its decline rule read them."""

import json
import sys

import numpy as np
import pytest
from PIL import Image

from digits import config, nondigits, paper, preprocess, reader
from digits.__main__ import main

sys.path.insert(0, str(config.PROJ_ROOT / "data" / "examples"))
from make_examples import STROKES  # noqa: E402

needs_shipped = pytest.mark.skipif(
    not (config.PROJ_ROOT / "reports" / "models" / "cnn_improved.decline.npz").is_file(),
    reason="the shipped model's decline rule is made by notebook 08",
)


def _glyph(lines, rng, height=80):
    ink = nondigits.pen_drawing(lines, rng, height, pen_share=0.09, jitter=1.0)
    cols = np.flatnonzero(ink.max(axis=0) > 0.3)
    rows = np.flatnonzero(ink.max(axis=1) > 0.3)
    return ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]


def _line(glyphs, gap):
    """Glyphs side by side, ``gap`` pixels between their ink (negative: overlapping), bottoms aligned."""
    height = max(g.shape[0] for g in glyphs)
    width = sum(g.shape[1] for g in glyphs) + gap * (len(glyphs) - 1)
    out, x = np.zeros((height, width + 2), np.float32), 0
    for g in glyphs:
        region = out[height - g.shape[0] :, x : x + g.shape[1]]
        np.maximum(region, g, out=region)
        x += g.shape[1] + gap
    return out


def _save(ink, path, margin=30):
    """Blue-black ink on white paper, as a PNG."""
    ink = np.pad(ink, margin)
    Image.fromarray((255 - 225 * np.clip(ink, 0, 1)).astype(np.uint8)).save(path)
    return path


def _number(text, gap, path, seed=0):
    rng = np.random.default_rng(seed)
    return _save(_line([_glyph(STROKES[int(c)], rng) for c in text], gap), path)


# ------------------------------------------------------------------------------------------------ segmentation


@pytest.mark.parametrize("text,gap,glyphs", [("7", 0, 1), ("2134", 12, 4), ("90213456", 10, 8), ("0213", 5, 4)])
def test_glyphs_are_the_separate_pieces_left_to_right(tmp_path, text, gap, glyphs):
    ink = preprocess.read_image(_number(text, gap, tmp_path / "n.png"))
    found = preprocess.glyphs(ink)
    assert len(found) == glyphs
    lefts = [cols.start for (rows, cols), _ in found]
    assert lefts == sorted(lefts)


def test_a_broken_stroke_stays_with_its_digit():
    ink = np.zeros((60, 120), np.float32)
    ink[10:50, 20:24] = 1  # a "1"
    ink[10:12, 60:90] = 1  # the top bar of a 5, written apart ...
    ink[16:33, 60:63] = 1  # ... and its body
    ink[30:33, 60:85] = 1
    ink[30:50, 82:85] = 1
    found = preprocess.glyphs(ink)
    assert len(found) == 2


def test_touching_digits_are_cut_where_they_meet():
    box = np.zeros((40, 20), np.float32)
    box[5:35, 2:18] = 1
    box[8:32, 5:15] = 0  # a "0" ...
    joined = np.concatenate([box, box[:, 2:]], axis=1)  # ... touching another at column 18
    parts = preprocess.cuts(joined, 2)[0]
    assert len(parts) == 2
    assert 16 <= parts[1][1] <= 20 and parts[0][0].shape[1] <= 18  # the second starts where the first ends


def test_a_glyph_no_wider_than_a_digit_is_one_digit():
    assert list(preprocess.digit_counts(50, 60)) == [1]
    assert 2 in preprocess.digit_counts(90, 60) and 1 in preprocess.digit_counts(90, 60)
    assert 8 in preprocess.digit_counts(400, 80) and 1 not in preprocess.digit_counts(400, 80)


# ------------------------------------------------------------------------------------------------ reading


@pytest.fixture(scope="module")
def shipped_reader():
    return reader.Reader.shipped()


@needs_shipped
@pytest.mark.parametrize(
    "text,gap",
    [("4", 0), ("2134", 14), ("0213", 6), ("90213456", 10), ("47", 0), ("305", 0), ("86", -2)],
    ids=["one digit", "apart", "leading zero", "eight digits", "touching", "three touching", "overlapping"],
)
def test_numbers_are_read_whole(tmp_path, shipped_reader, text, gap):
    reading = shipped_reader.read(_number(text, gap, tmp_path / "n.png"), number=True)
    assert reading.label == text, reading.digits
    boxes = [d["box"] for d in reading.digits]
    assert [b[0] for b in boxes] == sorted(b[0] for b in boxes)
    assert all(b[0] < b[2] and b[1] < b[3] for b in boxes)


@needs_shipped
def test_blank_and_near_blank_images_are_declined_as_blank(tmp_path, shipped_reader):
    Image.new("RGB", (80, 60), (245, 245, 240)).save(tmp_path / "blank.png")
    speck = np.full((200, 200), 250, np.uint8)
    speck[100:102, 90:92] = 20
    Image.fromarray(speck).save(tmp_path / "speck.png")
    speck[20:23, 30:32] = speck[170:172, 150:153] = 30  # dust far apart
    Image.fromarray(speck).save(tmp_path / "specks.png")
    for name in ("blank.png", "speck.png", "specks.png"):
        for number in (False, True):
            reading = shipped_reader.read(tmp_path / name, number=number)
            assert (reading.label, reading.reason) == (None, reader.BLANK)


@needs_shipped
@pytest.mark.parametrize("kind", ["letter, pen", "letter, typeset", "doodle"])
def test_letters_and_doodles_are_declined(tmp_path, shipped_reader, kind):
    rng, declined = np.random.default_rng(5), 0
    for i in range(6):
        ink, _ = nondigits.generate(kind, rng, 90)
        reading = shipped_reader.read(_save(ink, tmp_path / f"{i}.png"))
        declined += reading.label is None and reading.reason == reader.NOT_A_DIGIT
    assert declined >= 5


@needs_shipped
def test_noise_is_not_read_as_a_digit(tmp_path, shipped_reader):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    assert shipped_reader.read(tmp_path / "noise.png").label is None


@needs_shipped
def test_one_letter_in_a_number_declines_the_reading_and_says_which(tmp_path, shipped_reader):
    rng = np.random.default_rng(1)
    glyphs = [_glyph(STROKES[4], rng), _glyph(nondigits.PEN_LETTERS["A"], rng), _glyph(STROKES[2], rng)]
    reading = shipped_reader.read(_save(_line(glyphs, 14), tmp_path / "4A2.png"), number=True)
    assert reading.label is None and reading.reason == reader.NOT_A_DIGIT
    assert [d["accepted"] for d in reading.digits] == [True, False, True]
    assert "glyph 2 of 3" in reading.in_words()


# ------------------------------------------------------------------------------------------------ written on paper


def test_digits_written_on_paper_read_back_framed_like_mnist():
    """Each pen and paper of ``paper.STYLES`` (a photo's JPEG among them) gives back the digit, framed as the
    reader frames a user's digit; an image with no ink comes back blank and is left out."""
    rng = np.random.default_rng(0)
    framed = np.stack([preprocess.frame_digit(_glyph(STROKES[d], rng)) for d in (2, 3, 4, 5, 7, 8)])
    images = np.concatenate([framed[:3], np.zeros((1, 28, 28), np.uint8), framed[3:]])
    back, kept = paper.rewritten(images, rng)
    assert back.shape == (6, 28, 28) and back.dtype == np.uint8 and list(kept) == [0, 1, 2, 4, 5, 6]
    for before, after in zip(framed, back, strict=True):
        assert np.corrcoef(before.ravel(), after.ravel())[0, 1] > 0.6


def test_synthetic_numbers_on_paper_are_read_back_from_a_file_and_repeat_with_their_seed():
    x = np.stack([preprocess.frame_digit(_glyph(STROKES[d], np.random.default_rng(d))) for d in range(10)])
    first, again = (
        reader.synthetic_numbers(x, np.arange(10), 6, np.random.default_rng(3), on_paper=True) for _ in "ab"
    )
    for (ink, label), (ink_again, label_again) in zip(first, again, strict=True):
        assert label.isdigit() and 1 <= len(label) <= 8 and label == label_again
        assert ink.ndim == 2 and ink.max() > 100 and np.array_equal(ink, ink_again)  # read_image's ink, 0..255


# ------------------------------------------------------------------------------------------------ the command line


@needs_shipped
def test_predict_number_json_and_text(tmp_path, capsys):
    path = _number("0213", 8, tmp_path / "n.png")
    assert main(["predict", "--number", "--json", str(path)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["label"] == "0213" and record["reason"] is None
    assert [d["digit"] for d in record["digits"]] == [0, 2, 1, 3] and len(record["digits"][0]["box"]) == 4
    assert main(["predict", "--number", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: 0213 (")


@needs_shipped
def test_predict_declines_with_exit_status_zero(tmp_path, capsys):
    rng = np.random.default_rng(2)
    letter = _save(_glyph(nondigits.PEN_LETTERS["X"], rng), tmp_path / "x.png")
    Image.new("RGB", (60, 60), "white").save(tmp_path / "blank.png")
    assert main(["predict", "--json", str(letter), str(tmp_path / "blank.png")]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["label"], r["reason"]) for r in records] == [(None, "not a digit"), (None, "blank")]
    assert main(["predict", str(letter)]) == 0
    assert capsys.readouterr().out.strip().endswith(": not a digit")


@needs_shipped
def test_predict_one_digit_keeps_its_integer_label(tmp_path, capsys):
    path = _number("3", 0, tmp_path / "3.png")
    assert main(["predict", "--json", str(path)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["label"] == 3 and record["top3"][0]["label"] == 3


def test_number_and_two_digit_together_are_refused(tmp_path, capsys):
    assert main(["predict", "--number", "--two-digit", str(tmp_path / "x.png")]) == 2
    assert "choose one" in capsys.readouterr().err
