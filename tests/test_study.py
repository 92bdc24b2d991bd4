"""The helpers of the why-CNNs study: moving digits, calibration, and what a network looks at."""

import keras
import numpy as np
import pytest
from conftest import needs_real_data

from digits import calibration, explain, robustness


def test_shift_moves_a_known_image_exactly():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 10, 12] = 255
    moved = robustness.shift(image, 3, -2)  # 3 down, 2 left
    assert moved[0, 13, 10] == 255 and moved.sum() == 255
    assert robustness.shift(image, 0, 0).tolist() == image.tolist()
    assert robustness.shift(image, 0, 20).sum() == 0  # moved out of the frame: nothing wraps round
    assert robustness.shift(image[..., None], 1, 1).shape == (1, 28, 28)


def test_rotation_and_scaling_about_the_centre():
    image = np.zeros((1, 28, 28), np.float32)
    image[0, 4:10, 13:15] = 200.0  # a bar above the centre
    quarter = robustness.affine(image, degrees=90)
    np.testing.assert_allclose(quarter[0], np.rot90(image[0]), atol=1e-3)  # anticlockwise, exactly a quarter turn
    np.testing.assert_allclose(robustness.affine(image, degrees=0, scale=1.0), image, atol=1e-4)
    dot = np.zeros((1, 27, 27), np.float32)
    dot[0, 13, 16] = 100.0  # 3 pixels right of the centre
    doubled = robustness.affine(dot, scale=2.0)
    assert np.unravel_index(doubled[0].argmax(), doubled[0].shape) == (13, 19)  # twice as far from the centre
    with pytest.raises(ValueError, match="scale must be positive"):
        robustness.affine(image, scale=0)


def test_permutation_is_a_bijection_applied_identically():
    order = robustness.pixel_permutation(784, seed=3)
    assert sorted(order.tolist()) == list(range(784))
    rng = np.random.default_rng(0)
    train, test = rng.integers(0, 255, (5, 28, 28), np.uint8), rng.integers(0, 255, (3, 28, 28), np.uint8)
    both = robustness.permute(np.concatenate([train, test]), order)
    np.testing.assert_array_equal(both[:5], robustness.permute(train, order))  # same scramble for every image
    np.testing.assert_array_equal(both[5:], robustness.permute(test, order))
    restored = robustness.permute(both, np.argsort(order))
    np.testing.assert_array_equal(restored, np.concatenate([train, test]))
    assert not np.array_equal(both[:5], train)
    with pytest.raises(ValueError, match="exactly once"):
        robustness.permute(train, np.zeros(784, int))


def _toy(confidence: float, accuracy: float, n: int = 20_000, seed: int = 0):
    """n predictions of ``confidence`` on the top class, right a fraction ``accuracy`` of the time."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    right = rng.random(n) < accuracy
    predicted = np.where(right, y, (y + 1 + rng.integers(0, 9, n)) % 10)
    proba = np.full((n, 10), (1 - confidence) / 9)
    proba[np.arange(n), predicted] = confidence
    return proba, y


def test_expected_calibration_error():
    calibrated = _toy(0.8, 0.8)
    assert calibration.ece(*calibrated) < 0.01
    overconfident = _toy(0.99, 0.7)
    assert calibration.ece(*overconfident) > 0.25
    table = calibration.reliability(*overconfident)
    assert table["count"].sum() == 20_000 and len(table) == 15


def test_temperature_fitted_on_validation_lowers_its_nll():
    proba, y = _toy(0.99, 0.7, seed=1)
    t = calibration.fit_temperature(proba, y)
    assert t > 1  # over-confidence is softened
    assert calibration.nll(calibration.scale(proba, t), y) < calibration.nll(proba, y) - 0.5
    held_out, y_held = _toy(0.99, 0.7, seed=2)
    assert calibration.ece(calibration.scale(held_out, t), y_held) < calibration.ece(held_out, y_held) / 3
    np.testing.assert_allclose(calibration.scale(proba, 1.0), proba, atol=1e-9)


def test_the_calibration_summary_says_what_the_temperature_does():
    (val, y_val), (test, y_test) = _toy(0.99, 0.7, seed=3), _toy(0.99, 0.7, seed=4)
    row = calibration.summary(val, y_val, test, y_test)
    assert row["temperature"] > 1 and row["ece_scaled"] < row["ece"] / 3 and row["ece_val_scaled"] < row["ece_val"]
    assert abs(row["accuracy"] - 0.7) < 0.02 and abs(row["mean_confidence"] - 0.99) < 1e-9
    assert row["share_above_99"] == 0.0 and np.isnan(row["right_above_99"])  # scaled, nothing stays above 99%


@needs_real_data
def test_saliency_and_grad_cam_maps(small_model_path, small_splits):
    model = keras.saving.load_model(small_model_path)
    images = small_splits.x_test[:4]
    for maps in (explain.saliency(model, images), explain.grad_cam(model, images)):
        assert maps.shape == (4, 28, 28)
        assert all(np.ptp(m) > 0 for m in maps)  # not constant
    cam = explain.grad_cam(model, images)
    assert cam.min() >= 0 and np.allclose(cam.max(axis=(1, 2)), 1.0)
    assert explain.first_layer_weights(model).shape == (32, 3, 3)
    assert {"conv_1", "pool_1", "conv_2"} <= set(explain.feature_maps(model, images[0]))
    features = explain.penultimate(model, small_splits.x_test[:300])
    assert features.shape == (300, 128)
    assert explain.separability(features, small_splits.y_test[:300]) > explain.separability(
        small_splits.x_test[:300].reshape(300, -1), small_splits.y_test[:300]
    )  # the trained representation separates the digits better than raw pixels
