"""digits: handwritten digit classification with Keras 3 — data, models, training, evaluation, plots."""
from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's C++ start-up chatter out of reports

from .config import PROJ_ROOT, SEED  # noqa: E402

__version__ = "0.1.0"
__all__ = ["PROJ_ROOT", "SEED", "setup", "__version__"]


def setup(notebook: str | None = None, seed: int = SEED):
    """The first cell of every notebook: seeds, plotting defaults, figure folder, versions."""
    from .session import setup as _setup

    return _setup(notebook, seed)
