import numpy as np
import pytest
from conftest import needs_real_data

from digits import mnist100, models, shipped


def test_pairs_are_balanced_labelled_and_deterministic():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (200, 28, 28)).astype(np.uint8)
    labels = np.repeat(np.arange(10), 20)
    x, y = mnist100.make_pairs(images, labels, 1_000, seed=1)
    assert x.shape == (1_000, 28, 56) and np.bincount(y).tolist() == [10] * 100
    x2, y2 = mnist100.make_pairs(images, labels, 1_000, seed=1)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    # each half is an image of the right digit
    lookup = {img.tobytes(): lab for img, lab in zip(images, labels, strict=False)}
    for img, lab in zip(x[:50], y[:50], strict=False):
        assert lookup[img[:, :28].tobytes()] == lab // 10 and lookup[img[:, 28:].tobytes()] == lab % 10
    with pytest.raises(ValueError, match="multiple of 100"):
        mnist100.make_pairs(images, labels, 150, seed=1)


@needs_real_data
def test_builder_keeps_test_digits_out_of_training(tmp_path, monkeypatch):
    from digits import config, data

    monkeypatch.setattr(config, "PROCESSED_DATA_DIR", tmp_path)
    splits = mnist100.load_mnist100(n_train=2_000, n_val=500, n_test=1_000)
    assert splits.x_train.shape == (2_000, 28, 56, 1) and splits.num_classes == 100
    _, (x_test, _) = data.load_mnist()
    test_digits = {img.tobytes() for img in x_test}
    halves = [h for img in splits.x_train[..., 0] for h in (img[:, :28], img[:, 28:])]
    assert not any(np.ascontiguousarray(h).tobytes() in test_digits for h in halves)
    again = mnist100.load_mnist100(n_train=2_000, n_val=500, n_test=1_000)  # from the cache
    assert again.fingerprint() == splits.fingerprint() and len(list(tmp_path.glob("*.npz"))) == 1


def test_pair_model_multiplies_the_halves():

    digit = models.build("cnn_basic")
    pair = models.pair_model(digit)
    x = np.random.default_rng(0).integers(0, 255, (3, 28, 56, 1)).astype(np.uint8)
    p = pair.predict(x, verbose=0)
    left = digit.predict(x[:, :, :28], verbose=0)
    right = digit.predict(x[:, :, 28:], verbose=0)
    np.testing.assert_allclose(p, (left[:, :, None] * right[:, None, :]).reshape(3, 100), rtol=1e-5, atol=1e-7)


@needs_real_data
def test_pair_result_reads_a_digit_model_on_each_half(small_splits):
    """A trained digit model becomes a 0..99 result tested on the pairs; its training facts are kept."""
    from digits import train

    digit = train.fit("cnn1_minimal", small_splits, epochs=1, cache=False)
    x, y = mnist100.make_pairs(small_splits.x_test, small_splits.y_test, 200, seed=3)
    from digits.data import Splits, add_channel

    pairs = Splits(add_channel(x), y, add_channel(x), y, add_channel(x), y)
    result = mnist100.pair_result(digit, pairs)
    expected = digit.model.predict(x[:, :, :28, None], verbose=0).argmax(1) * 10 + digit.model.predict(
        x[:, :, 28:, None], verbose=0
    ).argmax(1)
    np.testing.assert_array_equal(result.y_pred, expected)
    assert result.test["n"] == 200 and result.test["accuracy"] == np.mean(expected == y)
    assert result.train_seconds == digit.train_seconds and result.label.endswith("on each half")


def test_without_a_shipped_number_model_the_digit_model_reads_each_half(small_model_path, tmp_path, monkeypatch):

    monkeypatch.setitem(shipped.SHIPPED, "mnist100", tmp_path / "absent.keras")
    model = shipped.load("mnist100", digit_path=small_model_path)
    assert model.output_shape == (None, 100)
    with pytest.raises(FileNotFoundError, match="no model file"):
        shipped.load("mnist100", tmp_path / "typo.keras")  # a path the user named is never replaced


@needs_real_data
def test_pair_result_of_several_digit_models_averages_them(small_splits):
    from digits import train
    from digits.data import Splits, add_channel

    runs = [train.fit(name, small_splits, epochs=1, cache=False) for name in ("cnn1_minimal", "mlp_baseline")]
    x, y = mnist100.make_pairs(small_splits.x_test, small_splits.y_test, 100, seed=4)
    pairs = Splits(add_channel(x), y, add_channel(x), y, add_channel(x), y)
    result = mnist100.pair_result(runs, pairs, label="both")
    halves = [
        np.mean([r.model.predict(x[:, :, s, None], verbose=0) for r in runs], axis=0).argmax(1)
        for s in (slice(0, 28), slice(28, 56))
    ]
    np.testing.assert_array_equal(result.y_pred, 10 * halves[0] + halves[1])
    assert result.params == sum(r.params for r in runs) and result.label == "both"
