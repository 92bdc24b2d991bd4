"""digits: handwritten digit classification with Keras 3 — data, models, training, evaluation, plots.

Importing the package is cheap (``python -m digits --help`` answers at once): TensorFlow loads only when a
module that uses it is imported, and then quietly (see :class:`_QuietTensorFlow`).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Loads TensorFlow, whenever something first imports it, with file descriptor 2 on /dev/null: its C++
    start-up lines (absl, oneDNN, CPU features) reach that descriptor before any setting can silence them, and
    would open every executed report. An import error is still raised, and printed, after the descriptor is
    restored."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: find the real spec, then wrap its loader
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 2)
                run(module)
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                os.close(devnull)
            module.get_logger().setLevel("ERROR")  # retracing notes for each new model are noise here

        spec.loader.exec_module = exec_module
        return spec


if os.environ["KERAS_BACKEND"] == "tensorflow" and "tensorflow" not in sys.modules:
    sys.meta_path.insert(0, _QuietTensorFlow())

from .config import PROJ_ROOT, SEED  # noqa: E402

__version__ = "0.1.0"
__all__ = ["PROJ_ROOT", "SEED", "claim", "setup", "__version__"]


def __getattr__(name: str):
    """``digits.setup`` and ``digits.claim`` (from :mod:`digits.session`), imported on first use."""
    if name in ("setup", "claim"):
        from . import session

        return getattr(session, name)
    raise AttributeError(f"module 'digits' has no attribute {name!r}")
