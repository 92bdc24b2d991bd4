"""digits: handwritten digit classification with Keras 3 — data, models, training, evaluation, plots."""

from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_tensorflow_quietly() -> None:
    """TensorFlow's C++ start-up lines (absl, oneDNN, CPU features) reach file descriptor 2 before any
    setting can silence them, and would open every executed report: load it with that descriptor on
    /dev/null. An import error is still raised, and printed, after the descriptor is restored."""
    if os.environ["KERAS_BACKEND"] != "tensorflow" or importlib.util.find_spec("tensorflow") is None:
        return
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # retracing notes for each new model are noise here
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_tensorflow_quietly()

from .config import PROJ_ROOT, SEED  # noqa: E402
from .session import setup  # noqa: E402

__version__ = "0.1.0"
__all__ = ["PROJ_ROOT", "SEED", "setup", "__version__"]
