"""The models this repository ships (``reports/models/``): where they are, loading and saving them."""

from __future__ import annotations

from pathlib import Path

import keras

from . import config, files
from .models import pair_model

SHIPPED = {
    "mnist10": config.PROJ_ROOT / "reports" / "models" / "cnn_improved.keras",
    "mnist100": config.PROJ_ROOT / "reports" / "models" / "mnist100_best.keras",
}
MADE_BY = {"mnist10": "make report-04_improved_cnn", "mnist100": "make report-07_mnist100"}


def load(task: str = "mnist10", path: str | Path | None = None, *, digit_path: str | Path | None = None):
    """The model for ``task`` ("mnist10" or "mnist100"): the file at ``path``, else the shipped one.

    Without a shipped 0-99 model, "mnist100" is the digit model (``digit_path`` or the shipped one)
    applied to each half. A missing file raises FileNotFoundError, a file that is no Keras model
    ValueError, each saying what to do.
    """
    if task not in SHIPPED:
        raise ValueError(f"task must be one of {sorted(SHIPPED)}, got {task!r}")
    model_path = Path(path) if path else SHIPPED[task]
    if model_path.is_file():
        try:
            return keras.saving.load_model(model_path)
        except Exception as err:
            raise ValueError(f"{model_path} is not a loadable Keras model ({err})") from err
    if path is None and task == "mnist100":
        return pair_model(load("mnist10", digit_path))
    hint = "" if path else f" Train it with `{MADE_BY[task]}`."
    raise FileNotFoundError(f"no model file at {model_path}.{hint}")


def save(model: keras.Model, name: str) -> Path:
    """Save a trained model as ``reports/models/<name>.keras`` (published with the notebook's report)."""
    return files.save_model(model, config.reports_dir() / "models" / f"{name}.keras")
