import keras
import numpy as np
import pytest

from digits import layers, models

# Parameter counts the reference projects report (trainable, as PyTorch counts them).
REFERENCE_COUNTS = {
    "mlp_tuned": 243_530,
    "cnn_wide": 1_261_450,
    "cnn_improved": 391_370,
    "mlp_baseline": 109_386,  # 784-128-64-10, arithmetic from the description
    "lenet5": 61_706,  # LeCun et al. 1998 layout with 'same' first convolution
}


@pytest.mark.parametrize("name,expected", sorted(REFERENCE_COUNTS.items()))
def test_reference_parameter_counts(name, expected):
    assert models.count_params(models.build(name)) == expected


@pytest.mark.parametrize("name", models.available())
@pytest.mark.parametrize("shape,classes", [((16, 16, 1), 10), ((28, 56, 1), 100)])
def test_every_model_builds_for_other_shapes_and_classes(name, shape, classes):
    if name == "pair_cnn_two_head" and classes != 100:
        with pytest.raises(ValueError, match="num_classes must be 100"):
            models.build(name, input_shape=shape, num_classes=classes)
        return
    model = models.build(name, input_shape=shape, num_classes=classes)
    out = model.predict(np.zeros((2, *shape), np.uint8), verbose=0)
    assert out.shape == (2, classes)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_models_take_raw_pixels():
    model = models.build("mlp_baseline")
    assert model.layers[1].name == "scale_0_1"


def test_augmentation_is_inactive_at_inference():
    model = models.build("cnn_basic", augment={"rotation": 20, "translation": 0.2, "zoom": 0.2, "erasing": 1.0})
    x = np.random.default_rng(0).integers(0, 255, (4, 28, 28, 1)).astype(np.uint8)
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))
    assert models.count_params(model) == models.count_params(models.build("cnn_basic"))


def test_deskew_straightens_slanted_strokes_and_keeps_upright_ones():
    upright = np.zeros((28, 28), np.float32)
    upright[4:24, 13:16] = 1.0
    slanted = np.zeros_like(upright)
    for row in range(4, 24):  # a bar leaning right: x = 14 + 0.4 (14 - row)
        col = int(round(14 + 0.4 * (14 - row)))
        slanted[row, col - 1 : col + 2] = 1.0
    images = np.stack([upright, slanted])[..., None]
    assert abs(layers.slant(images[..., 0])[1]) > 0.3
    out = np.asarray(layers.Deskew()(images))[..., 0]
    assert np.abs(layers.slant(out)).max() < 0.05
    np.testing.assert_allclose(out[0], upright, atol=1e-4)  # nothing to straighten
    # the centre of mass does not move
    cols = np.arange(28)
    np.testing.assert_allclose(
        (out[1].sum(0) * cols).sum() / out[1].sum(), (slanted.sum(0) * cols).sum() / slanted.sum(), atol=0.1
    )


def test_deskew_is_part_of_the_saved_model(tmp_path):
    model = models.build("cnn1_minimal", deskew=True)
    assert model.get_layer("deskew") is not None
    x = np.random.default_rng(1).integers(0, 255, (3, 28, 28, 1)).astype(np.uint8)
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(
        keras.saving.load_model(tmp_path / "m.keras").predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5
    )
    assert models.count_params(model) == models.count_params(models.build("cnn1_minimal"))


def test_bad_names_and_hyperparameters_say_what_is_accepted():
    with pytest.raises(ValueError, match="choose one of"):
        models.build("cnn_wid")
    with pytest.raises(ValueError, match="accepts"):
        models.build("cnn_wide", dropuot=0.2)
    with pytest.raises(ValueError, match="num_classes"):
        models.build("cnn_wide", num_classes=1)
    with pytest.raises(ValueError, match="input_shape"):
        models.build("cnn_wide", input_shape=(28, 28))
    with pytest.raises(ValueError, match="pooling"):
        models.build("cnn_ablation", pooling="avg")
    with pytest.raises(ValueError, match="two numbers"):
        models.build("cnn_fast", filters=(16, 32, 64))


def test_two_head_output_is_the_product_of_its_heads():
    model = models.build("pair_cnn_two_head", input_shape=(28, 56, 1), num_classes=100)
    x = np.random.default_rng(1).integers(0, 255, (3, 28, 56, 1)).astype(np.uint8)
    heads = keras.Model(model.inputs, [model.get_layer("tens").output, model.get_layer("units").output])
    tens, units = (np.asarray(h) for h in heads.predict(x, verbose=0))
    joint = model.predict(x, verbose=0)
    np.testing.assert_allclose(joint, (tens[:, :, None] * units[:, None, :]).reshape(3, 100), rtol=1e-5)
    # argmax of the joint is (argmax tens, argmax units)
    np.testing.assert_array_equal(joint.argmax(1), 10 * tens.argmax(1) + units.argmax(1))


def test_ensemble_averages_member_probabilities(tmp_path):
    members = [models.build("mlp_baseline"), models.build("cnn1_minimal")]
    x = np.random.default_rng(2).integers(0, 255, (4, 28, 28, 1)).astype(np.uint8)
    expected = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(models.ensemble(members).predict(x, verbose=0), expected, rtol=1e-5)
    twins = [models.build("cnn1_minimal"), models.build("cnn1_minimal")]  # two runs of one architecture
    saved = tmp_path / "twins.keras"
    models.ensemble(twins).save(saved)
    expected = np.mean([m.predict(x, verbose=0) for m in twins], axis=0)
    np.testing.assert_allclose(keras.saving.load_model(saved).predict(x, verbose=0), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="at least one"):
        models.ensemble([])


def test_test_time_shifts_average_the_model_over_five_placements(tmp_path):
    model = models.build("cnn1_minimal")
    x = np.random.default_rng(3).integers(0, 255, (4, 28, 28, 1)).astype(np.uint8)
    placed = [np.roll(x, (rows, cols), axis=(1, 2)) for rows, cols in models.TEST_TIME_SHIFTS]  # down, up, right, left
    expected = np.mean([model.predict(p, verbose=0) for p in placed], axis=0)
    shifted = models.test_time_shifts(model)
    np.testing.assert_allclose(shifted.predict(x, verbose=0), expected, rtol=1e-5)
    assert shifted.count_params() == model.count_params()  # the same weights, read five times
    assert not np.allclose(expected, model.predict(x, verbose=0))  # the shifts do change what it reads
    shifted.save(tmp_path / "shifted.keras")
    np.testing.assert_allclose(
        keras.saving.load_model(tmp_path / "shifted.keras").predict(x, verbose=0), expected, rtol=1e-5
    )
    digit = np.zeros((1, 28, 28, 1), np.float32)
    digit[0, 10, 12] = 1.0
    moved = np.asarray(layers.Shift(2, -3)(digit))
    assert moved[0, 12, 9, 0] == 1.0 and moved.sum() == 1.0  # two rows down, three columns left


def test_the_lean_cnn_normalises_after_pooling():
    """cnn_lean is cnn_improved with each block's pooling moved before batch norm: a quarter of the positions."""
    model = models.build("cnn_lean")
    assert models.count_params(model) == 391_146  # cnn_improved's 391,370 less the convolutions' 224 biases
    names = [layer.name for layer in model.layers]
    for i in (1, 2, 3):
        assert names.index(f"conv_{i}") < names.index(f"pool_{i}") < names.index(f"bn_{i}") < names.index(f"relu_{i}")
    assert tuple(model.get_layer("bn_1").output.shape[1:]) == (14, 14, 32)
