"""Export a digit model for deployment, load each artefact back, and measure it.

Formats: ``keras`` (Keras 3), ``h5`` (legacy Keras), ``savedmodel`` (TensorFlow Serving; signature
``serve`` takes raw pixels: uint8 N x 28 x 28, N x 28 x 56 for a 0-99 model, white on black, 0-255)
and ``tflite`` (phones; same input, optionally quantized: ``float16`` weights, or ``int8`` post-training
quantization calibrated on training images). Every artefact returns the class probabilities.

``python -m digits export --format tflite --quantize int8 --out digit.tflite`` exports one;
``make export`` exports every format and writes ``reports/export.json`` (size, accuracy, latency).
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import config, files

FORMATS = ("keras", "h5", "savedmodel", "tflite")
QUANTIZATIONS = ("float16", "int8")
SUFFIX = {"keras": ".keras", "h5": ".h5", "savedmodel": "", "tflite": ".tflite"}


def check_options(fmt: str, quantize: str | None = None) -> None:
    """Refuse an unknown format, or a quantization the format cannot hold, saying what is possible."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ValueError(f"unknown quantization {quantize!r}; choose one of {', '.join(QUANTIZATIONS)}")
    if quantize is not None and fmt != "tflite":
        raise ValueError(f"--quantize applies to --format tflite only, not {fmt!r}")


def inference_model(model: keras.Model) -> keras.Model:
    """A copy of ``model`` for serving: same weights, no optimizer state, and no training-time
    augmentation (which is the identity at inference)."""

    def clone(layer):
        if layer.name == "augmentation":  # called with the arguments the Sequential was called with
            return keras.Sequential([keras.layers.Identity()], name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    for layer in model.layers:
        if layer.name != "augmentation":
            copy.get_layer(layer.name).set_weights(layer.get_weights())
    return copy


def _pixels_in(model: keras.Model) -> Callable:
    """A function from raw pixels (uint8 N x 28 x 28) to the model's probabilities."""
    return lambda pixels: model(tf.cast(pixels, tf.float32)[..., tf.newaxis], training=False)


def _pixels_spec(model: keras.Model) -> tf.TensorSpec:
    """Raw pixels of the model's image size: uint8 N x H x W (28 x 28 digits, 28 x 56 numbers)."""
    return tf.TensorSpec([None, *model.input_shape[1:3]], tf.uint8, name="pixels")


def _write_savedmodel(model: keras.Model, path: Path) -> None:
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serve", fn=_pixels_in(model), input_signature=[_pixels_spec(model)])
    archive.write_out(str(path), verbose=False)


def _tflite_bytes(model: keras.Model, quantize: str | None, calibration: np.ndarray | None) -> bytes:
    with tempfile.TemporaryDirectory() as folder:  # convert the SavedModel: variables become constants
        _write_savedmodel(model, Path(folder))
        converter = tf.lite.TFLiteConverter.from_saved_model(folder, signature_keys=["serve"])
        if quantize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            if calibration is None or len(calibration) == 0:
                raise ValueError("int8 quantization needs calibration images (uint8 N x 28 x 28)")
            converter.representative_dataset = lambda: ([image[np.newaxis]] for image in calibration)
        return converter.convert()


def export(
    model: keras.Model,
    fmt: str,
    out: str | Path,
    quantize: str | None = None,
    calibration: np.ndarray | None = None,
) -> Path:
    """Write ``model`` (its inference part) to ``out`` in ``fmt``; nothing half-written on failure."""
    check_options(fmt, quantize)
    model = inference_model(model)
    out = Path(out)
    with files.atomic_path(out) as tmp:
        if fmt in ("keras", "h5"):
            model.save(tmp)
        elif fmt == "savedmodel":
            _write_savedmodel(model, tmp)
        else:
            tmp.write_bytes(_tflite_bytes(model, quantize, calibration))
    return out


def format_of(path: str | Path) -> str:
    """The format of an exported artefact, from its name (a folder is a SavedModel)."""
    path = Path(path)
    if path.is_dir():
        return "savedmodel"
    for fmt, suffix in SUFFIX.items():
        if suffix and path.suffix == suffix:
            return fmt
    raise ValueError(f"{path}: not an exported model (expected .keras, .h5, .tflite or a SavedModel folder)")


def load_predictor(path: str | Path) -> Callable[[np.ndarray], np.ndarray]:
    """Load an artefact back: a function from uint8 N x 28 x 28 pixels to N x 10 probabilities."""
    path = Path(path)
    fmt = format_of(path)
    if not path.exists():
        raise FileNotFoundError(f"no exported model at {path}")
    if fmt in ("keras", "h5"):
        model = keras.saving.load_model(path)
        return lambda pixels: np.asarray(_pixels_in(model)(pixels))
    if fmt == "savedmodel":
        loaded = tf.saved_model.load(str(path))  # keep the object: its variables live as long as it does
        return lambda pixels: loaded.serve(tf.constant(pixels, tf.uint8)).numpy()
    with warnings.catch_warnings():  # its move to the ai_edge_litert package is announced, not yet needed
        warnings.simplefilter("ignore", UserWarning)
        interpreter = tf.lite.Interpreter(model_path=str(path), num_threads=1)
    (source,), (target,) = interpreter.get_input_details(), interpreter.get_output_details()

    def predict(pixels: np.ndarray) -> np.ndarray:
        pixels = np.asarray(pixels, np.uint8)
        if tuple(interpreter.get_input_details()[0]["shape"]) != pixels.shape:
            interpreter.resize_tensor_input(source["index"], pixels.shape)
            interpreter.allocate_tensors()
        interpreter.set_tensor(source["index"], pixels)
        interpreter.invoke()
        return interpreter.get_tensor(target["index"]).copy()

    return predict


def measure(path: str | Path, x: np.ndarray, y: np.ndarray, repeats: int = 200) -> dict:
    """Size, test accuracy and median single-image latency of an exported artefact."""
    path = Path(path)
    predict = load_predictor(path)
    pred = np.concatenate([predict(x[i : i + 500]).argmax(axis=1) for i in range(0, len(x), 500)])
    one = x[:1]
    predict(one)  # the first call builds the graph
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        predict(one)
        times.append(time.perf_counter() - started)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size
    return {
        "size_bytes": int(size),
        "test_accuracy": float(np.mean(pred == y)),
        "latency_ms_p50": 1000 * float(np.median(times)),
        "predictions": pred,
    }


VARIANTS = (("keras", None), ("h5", None), ("savedmodel", None), ("tflite", None), ("tflite", "float16"),
            ("tflite", "int8"))  # fmt: skip


def calibration_images(x_train: np.ndarray, n: int = 500) -> np.ndarray:
    """The fixed sample of training images that int8 quantization is calibrated on."""
    return x_train[np.random.default_rng(0).choice(len(x_train), n, replace=False)]


def report(model_path: str | Path | None = None, out_dir: str | Path | None = None) -> dict:
    """Export the shipped (or given) digit model in every format, load each back, evaluate it on the
    MNIST test set, and write ``reports/export.json``."""
    from . import data, evaluate, shipped

    model = shipped.load("mnist10", model_path)
    out_dir = Path(out_dir or config.cache_dir() / "export")
    (x_train, _), (x_test, y_test) = data.load_mnist()
    calibration = calibration_images(x_train)
    reference = evaluate.predict_proba(model, x_test).argmax(axis=1)
    rows = []
    for fmt, quantize in VARIANTS:
        name = f"digit{'-' + quantize if quantize else ''}{SUFFIX[fmt]}"
        path = export(model, fmt, out_dir / name, quantize, calibration)
        row = measure(path, x_test, y_test)
        agreement = float(np.mean(row.pop("predictions") == reference))
        rows.append({"format": fmt, "quantize": quantize or "none", "file": name} | row | {"agreement": agreement})
    payload = {
        "model": str(Path(model_path) if model_path else shipped.SHIPPED["mnist10"].relative_to(config.PROJ_ROOT)),
        "keras_test_accuracy": float(np.mean(reference == y_test)),
        "n_test": int(len(y_test)),
        "latency": "median of 200 single-image calls, one thread for TFLite",
        "artefacts": rows,
    }
    files.write_json(config.reports_dir() / "export.json", payload)
    return payload


if __name__ == "__main__":  # make export
    from .reports import leaderboard

    result = report()
    for row in result["artefacts"]:
        print({k: row[k] for k in ("file", "size_bytes", "test_accuracy", "latency_ms_p50", "agreement")})
    leaderboard.write()
