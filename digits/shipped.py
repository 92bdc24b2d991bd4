"""The models this repository ships (``reports/models/``): where they are, loading and saving them."""

from __future__ import annotations

import json
from pathlib import Path

import keras

from . import config, files
from .layers import Temperature
from .models import pair_model

SHIPPED = {
    "mnist10": config.PROJ_ROOT / "reports" / "models" / "cnn_improved.keras",
    "mnist100": config.PROJ_ROOT / "reports" / "models" / "mnist100_best.keras",
}
MADE_BY = {"mnist10": "make report-04_improved_cnn", "mnist100": "make report-07_mnist100"}


def calibration_path(model_path: Path) -> Path:
    """Where a model's fitted temperature is kept: ``<model>.calibration.json`` beside it."""
    return model_path.with_name(model_path.stem + ".calibration.json")


def save_temperature(task: str, temperature: float, **evidence) -> Path:
    """Ship a temperature fitted on validation with the shipped model of ``task``: from then on
    :func:`load` returns calibrated probabilities (``evidence``: the figures that justified it)."""
    name = SHIPPED[task].name
    path = calibration_path(config.reports_dir() / "models" / name)
    return files.write_json(path, {"model": name, "temperature": float(temperature)} | evidence)


def temperature(model_path: Path) -> float:
    """The temperature shipped with the model file at ``model_path`` (1.0 when none was fitted)."""
    path = calibration_path(Path(model_path))
    return float(json.loads(path.read_text())["temperature"]) if path.is_file() else 1.0


def calibrated(model: keras.Model, model_path: Path) -> keras.Model:
    """``model`` followed by its shipped temperature, when one was fitted; else ``model`` itself."""
    if not calibration_path(model_path).is_file():
        return model
    fitted = temperature(model_path)
    return keras.Model(model.input, Temperature(fitted, name="temperature")(model.output), name=model.name)


def load(task: str = "mnist10", path: str | Path | None = None, *, digit_path: str | Path | None = None):
    """The model for ``task`` ("mnist10" or "mnist100"): the file at ``path``, else the shipped one.

    Without a shipped 0-99 model, "mnist100" is the digit model (``digit_path`` or the shipped one)
    applied to each half. A shipped model comes with its fitted temperature, when notebook 10 found that
    one calibrates it on validation (``<model>.calibration.json``). A missing file raises
    FileNotFoundError, a file that is no Keras model ValueError, each saying what to do.
    """
    if task not in SHIPPED:
        raise ValueError(f"task must be one of {sorted(SHIPPED)}, got {task!r}")
    model_path = Path(path) if path else SHIPPED[task]
    if model_path.is_file():
        try:
            model = keras.saving.load_model(model_path)
        except Exception as err:
            raise ValueError(f"{model_path} is not a loadable Keras model ({err})") from err
        return calibrated(model, model_path) if path is None else model
    if path is None and task == "mnist100":
        return pair_model(load("mnist10", digit_path))
    hint = "" if path else f" Train it with `{MADE_BY[task]}`."
    raise FileNotFoundError(f"no model file at {model_path}.{hint}")


def save(model: keras.Model, name: str) -> Path:
    """Save a trained model as ``reports/models/<name>.keras`` (published with the notebook's report)."""
    return files.save_model(model, config.reports_dir() / "models" / f"{name}.keras")
