"""Export: every format round-trips and predicts what the Keras model predicts; bad requests are refused."""

import numpy as np
import pytest
import tensorflow as tf

from digits import data, evaluate, export, shipped
from digits.__main__ import main


@pytest.fixture(scope="module")
def digits_200():
    (x_train, _), (x_test, y_test) = data.load_mnist()
    pick = np.random.default_rng(1).choice(len(x_test), 200, replace=False)
    return x_train[:300], x_test[pick], y_test[pick]


@pytest.fixture(scope="module")
def model():
    return shipped.load("mnist10")


@pytest.mark.parametrize("fmt, quantize", export.VARIANTS)
def test_each_format_round_trips_and_predicts_like_the_keras_model(fmt, quantize, model, digits_200, tmp_path):
    calibration, x, y = digits_200
    path = export.export(model, fmt, tmp_path / f"digit{export.SUFFIX[fmt]}", quantize, calibration)
    proba = export.load_predictor(path)(x)
    keras_labels = evaluate.predict_proba(model, x).argmax(axis=1)
    assert proba.shape == (200, 10) and np.allclose(proba.sum(axis=1), 1, atol=1e-2)
    if quantize == "int8":  # quantized activations may move a few borderline digits
        assert abs(np.mean(proba.argmax(axis=1) == y) - np.mean(keras_labels == y)) <= 0.005
    else:
        assert np.array_equal(proba.argmax(axis=1), keras_labels)
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary left behind


def test_savedmodel_serves_raw_pixels(model, digits_200, tmp_path):
    _, x, _ = digits_200
    loaded = tf.saved_model.load(str(export.export(model, "savedmodel", tmp_path / "digit")))
    spec = loaded.serve.concrete_functions[0].structured_input_signature[0][0]
    assert spec.dtype == tf.uint8 and spec.shape.as_list() == [None, 28, 28]
    assert loaded.serve(tf.constant(x[:3])).shape == (3, 10)


def _layer_types(model) -> set[str]:
    found = set()
    for layer in model.layers:
        found.add(type(layer).__name__)
        found |= _layer_types(layer) if hasattr(layer, "layers") else set()
    return found


def test_export_drops_the_training_augmentation_and_the_optimizer(model):
    assert any(name.startswith("Random") for name in _layer_types(model))  # the shipped model trains with it
    served = export.inference_model(model)
    assert getattr(served, "optimizer", None) is None
    assert not any(name.startswith("Random") for name in _layer_types(served))
    x = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype("float32")
    assert np.allclose(served(x, training=False), model(x, training=False), atol=1e-6)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "onnx", "--out", "m.onnx"], "unknown format 'onnx'; choose one of keras, h5, savedmodel, tflite"),
        (["--format", "h5", "--quantize", "int8", "--out", "m.h5"], "--quantize applies to --format tflite only"),
        (["--format", "tflite", "--quantize", "int4", "--out", "m.tflite"], "unknown quantization 'int4'"),
        (["--format", "h5", "--out", "m.keras"], "a h5 file must end in .h5"),
        (["--model", "{bad}", "--format", "h5", "--out", "m.h5"], "is not a loadable Keras model"),
        (["--model", "{missing}", "--format", "h5", "--out", "m.h5"], "no model file at"),
    ],
)
def test_bad_export_requests_get_a_clear_error_and_write_nothing(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.keras").write_text("not a model")
    args = [a.format(bad=tmp_path / "bad.keras", missing=tmp_path / "missing.keras") for a in args]
    assert main(["export", *args]) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.keras"]


def test_a_file_that_is_not_an_export_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not an exported model"):
        export.load_predictor(tmp_path / "model.onnx")
    with pytest.raises(FileNotFoundError, match="no exported model"):
        export.load_predictor(tmp_path / "model.tflite")


def test_int8_without_mnist_says_where_the_calibration_images_come_from(isolated_sources, tmp_path, capsys):
    assert main(["export", "--format", "tflite", "--quantize", "int8", "--out", str(tmp_path / "m.tflite")]) == 2
    err = capsys.readouterr().err
    assert "calibrated on MNIST training images" in err and "DIGITS_DATA_DIR" in err
    assert not (tmp_path / "m.tflite").exists()
