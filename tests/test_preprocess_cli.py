import io
import json

import numpy as np
import pytest
from conftest import needs_real_data
from PIL import Image, ImageDraw
from scipy import ndimage

from digits import preprocess
from digits.__main__ import main


def _digit(index=0):
    from digits import data

    _, (x_test, y_test) = data.load_mnist()
    return x_test[index], int(y_test[index])


def _similarity(a, b):
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def _on_paper(digit, scale=6, size=(320, 240), offset=(30, 20), mode="RGB"):
    """Dark ink on white paper, enlarged, off-centre, with wide margins."""
    big = Image.fromarray(255 - digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)
    paper = Image.new("L", size, 255)
    paper.paste(big, offset)
    return paper.convert(mode)


@needs_real_data
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_dark_ink_on_paper_off_centre_becomes_mnist_like(tmp_path, mode):
    digit, _ = _digit(0)
    path = tmp_path / "photo.jpg"
    _on_paper(digit, mode=mode).save(path, quality=92)
    out = preprocess.prepare(path)
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert _similarity(out, preprocess.frame_digit(digit)) > 0.9


@needs_real_data
def test_transparent_png_is_composited_over_white(tmp_path):
    digit, _ = _digit(1)
    rgba = np.zeros((100, 100, 4), np.uint8)  # black ink, alpha = ink strength, fully transparent paper
    big = np.asarray(Image.fromarray(digit).resize((84, 84)))
    rgba[8:92, 8:92, 3] = big
    path = tmp_path / "ink.png"
    Image.fromarray(rgba, "RGBA").save(path)
    assert _similarity(preprocess.prepare(path), preprocess.frame_digit(digit)) > 0.9


@needs_real_data
def test_light_on_dark_is_kept(tmp_path):
    digit, _ = _digit(2)
    path = tmp_path / "chalk.png"
    Image.fromarray(np.pad(digit, 40)).save(path)
    assert _similarity(preprocess.prepare(path), preprocess.frame_digit(digit)) > 0.95


@needs_real_data
def test_two_digits_are_framed_on_their_halves():
    (a, _), (b, _) = _digit(3), _digit(4)
    pair = np.concatenate([np.pad(a, 10), np.zeros((48, 15), np.uint8), np.pad(b, 10)], axis=1).astype(np.float32)
    out = preprocess.to_mnist_pair(pair)
    assert out.shape == (28, 56)
    assert _similarity(out[:, :28], preprocess.frame_digit(a)) > 0.95
    assert _similarity(out[:, 28:], preprocess.frame_digit(b)) > 0.95


@pytest.mark.parametrize(
    "content,message",
    [(b"", "empty"), (b"this is not an image", "not a readable image")],
)
def test_bad_files_get_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(preprocess.ImageError, match=message):
        preprocess.prepare(path)


def test_blank_and_huge_images_are_refused(tmp_path):
    Image.new("RGB", (50, 50), (250, 250, 250)).save(tmp_path / "blank.png")
    with pytest.raises(preprocess.ImageError, match="blank"):
        preprocess.prepare(tmp_path / "blank.png")
    Image.new("L", (5000, 10), 255).save(tmp_path / "huge.png")
    with pytest.raises(preprocess.ImageError, match="at most 4096"):
        preprocess.prepare(tmp_path / "huge.png")


@pytest.fixture
def trained_model(small_model_path):
    return small_model_path


@needs_real_data
def test_predict_cli_labels_good_files_and_reports_bad_ones(tmp_path, trained_model, capsys):
    from digits import data

    _, (x_test, y_test) = data.load_mnist()
    goods = []
    for i in range(5):
        path = tmp_path / f"digit{i}.png"
        _on_paper(x_test[i]).save(path)
        goods.append((path, int(y_test[i])))
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    status = main(["predict", "--json", "--model", str(trained_model), *[str(p) for p, _ in goods], str(bad)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1  # one file failed, the others were still predicted
    by_file = {rec["file"]: rec for rec in lines}
    assert "error" in by_file[str(bad)]
    correct = sum(by_file[str(p)]["label"] == y for p, y in goods)
    assert correct >= 4
    for p, _ in goods:
        rec = by_file[str(p)]
        assert 0 <= rec["confidence"] <= 1 and len(rec["top3"]) == 3 and rec["top3"][0]["label"] == rec["label"]


@needs_real_data
def test_evaluate_cli_on_a_small_npz(tmp_path, trained_model, capsys, small_splits):
    npz = tmp_path / "few.npz"
    np.savez(npz, x=small_splits.x_test[:200, ..., 0], y=small_splits.y_test[:200])
    assert main(["evaluate", "--task", "mnist10", "--model", str(trained_model), "--npz", str(npz)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 200 and out["accuracy"] > 0.85
    np.savez(npz, x=small_splits.x_test[:5].astype(np.float32), y=small_splits.y_test[:5])
    assert main(["evaluate", "--task", "mnist10", "--model", str(trained_model), "--npz", str(npz)]) == 2
    assert "uint8" in capsys.readouterr().err


@pytest.mark.parametrize(
    "task,labels,shape",
    [("mnist10", [3, 400, 1], (28, 28)), ("mnist10", [3, -1, 1], (28, 28)), ("mnist100", [5, 100, 7], (28, 56))],
)
def test_evaluate_refuses_labels_outside_the_task(tmp_path, capsys, task, labels, shape):
    npz = tmp_path / "labels.npz"
    np.savez(npz, x=np.zeros((3, *shape), np.uint8), y=np.array(labels))
    assert main(["evaluate", "--task", task, "--model", str(tmp_path / "unused.keras"), "--npz", str(npz)]) == 2
    err = capsys.readouterr().err
    classes = 10 if task == "mnist10" else 100
    assert f"labels 0-{classes - 1}" in err and str(labels[1]) in err


def test_missing_model_says_how_to_make_it(tmp_path, capsys):
    assert main(["evaluate", "--task", "mnist10", "--model", str(tmp_path / "nope.keras"), "--npz", "x.npz"]) == 2
    assert "x.npz" in capsys.readouterr().err  # the npz is checked first


@needs_real_data
def test_uneven_lighting_and_jpeg_noise_are_removed(tmp_path):
    digit, _ = _digit(5)
    paper = np.asarray(_on_paper(digit, mode="L"), dtype=float)
    paper = paper * np.linspace(0.55, 1.0, paper.shape[1])[None, :]  # light falls off to the left
    paper += np.random.default_rng(0).normal(0, 5, paper.shape)
    path = tmp_path / "photo.jpg"
    Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).save(path, quality=80)
    out = preprocess.prepare(path)
    assert _similarity(out, preprocess.frame_digit(digit)) > 0.85
    rows, cols = np.nonzero(out > 30)
    assert max(np.ptp(rows), np.ptp(cols)) >= 17  # the digit, not the shading, fills the 20x20 box


def _bold_digit_photo(points, pen: int, gradient: bool = True) -> tuple[bytes, np.ndarray]:
    """A digit drawn with a round pen of ``pen`` pixels on a 280x280 white canvas (digit 200 px high), optionally
    lit unevenly; returns the PNG bytes and the stroke mask."""
    canvas = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(canvas).line(points, fill=0, width=pen, joint="curve")
    for x, y in (points[0], points[-1]):  # round pen ends
        ImageDraw.Draw(canvas).ellipse((x - pen // 2, y - pen // 2, x + pen // 2, y + pen // 2), fill=0)
    pixels = np.asarray(canvas, float)
    if gradient:
        pixels = pixels * np.linspace(0.6, 1.0, 280)[None, :]  # light falls off to the left
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue(), np.asarray(canvas) < 128


@pytest.mark.parametrize("pen_share", [0.01, 0.05, 0.15, 0.25, 0.35])
@pytest.mark.parametrize("points", [[(140, 40), (140, 240)], [(60, 50), (220, 50), (120, 240)]], ids=["one", "seven"])
def test_a_stroke_of_any_width_stays_filled(pen_share, points):
    png, stroke = _bold_digit_photo(points, max(2, round(pen_share * 200)))
    ink = preprocess.read_image(png)
    assert np.mean(ink[stroke] > 0.5 * ink.max()) > 0.95  # solid, not hollowed into its outline
    assert np.mean(ink[~stroke] < 0.1 * ink.max()) > 0.99  # and the unevenly lit paper is gone


@pytest.mark.parametrize("lines", ["lined", "squared"])
def test_the_rules_of_lined_and_squared_paper_go_and_the_digit_stays(lines):
    canvas = Image.new("RGB", (240, 240), (250, 250, 248))
    draw = ImageDraw.Draw(canvas)
    for k in range(12, 240, 22):  # light blue rules edge to edge, a red margin on lined paper
        draw.line([(0, k), (239, k)], fill=(150, 182, 226), width=2)
        if lines == "squared":
            draw.line([(k, 0), (k, 239)], fill=(150, 182, 226), width=2)
    if lines == "lined":
        draw.line([(24, 0), (24, 239)], fill=(226, 120, 120), width=2)
    stroke = Image.new("L", (240, 240), 0)
    for target, colour in ((ImageDraw.Draw(canvas), (25, 25, 30)), (ImageDraw.Draw(stroke), 255)):
        target.line([(70, 60), (170, 60), (110, 190)], fill=colour, width=9, joint="curve")  # a 7
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    ink, seven = preprocess.read_image(buffer.getvalue()), np.asarray(stroke) > 128
    assert np.mean(ink[seven] > 0.5 * ink.max()) > 0.95  # the digit stays, where it crosses a rule too
    far = ~ndimage.binary_dilation(seven, iterations=4)
    assert np.mean(ink[far] < 0.1 * ink.max()) > 0.995  # the rules are gone


def test_a_line_opening_is_binary_openings_pixel_for_pixel():
    rng = np.random.default_rng(0)
    for _ in range(100):  # odd and even lines, lines longer than the image, sparse and dense masks
        mask = rng.random(tuple(rng.integers(5, 60, 2))) < rng.uniform(0.3, 0.95)
        axis = int(rng.integers(2))
        length = int(rng.integers(3, mask.shape[axis] + 4))
        line = np.ones((length, 1) if axis == 0 else (1, length), bool)
        np.testing.assert_array_equal(preprocess.opened_along(mask, length, axis), ndimage.binary_opening(mask, line))


def test_digits_that_touch_and_slant_split_between_them():
    image = np.zeros((80, 90), np.float32)
    first, second = np.zeros_like(image, bool), np.zeros_like(image, bool)
    for row in range(8, 72):  # two strokes leaning right, like "11" written in italics
        shift = (72 - row) // 4
        first[row, 20 + shift : 27 + shift] = True
        second[row, 44 + shift : 51 + shift] = True
    bridge = np.zeros_like(first)
    bridge[66:70, 27:45] = True  # the pen did not lift between the two digits
    image[first | second | bridge] = 255
    left, right = preprocess.split_two_digits(image)
    assert (left[first] > 0).all() and (right[second] > 0).all()
    assert not (left[second] > 0).any() and not (right[first] > 0).any()


def test_a_number_offers_several_splits_and_the_least_ink_one_first():
    image = np.zeros((60, 100), np.float32)
    image[10:50, 20:30] = image[10:50, 60:70] = 255
    candidates = preprocess.pair_candidates(image)
    assert candidates.ndim == 3 and candidates.shape[1:] == (28, 56) and len(candidates) >= 1
    assert np.array_equal(candidates[0], preprocess.to_mnist_pair(image))
