"""Paths and run-wide settings, defined once (cookiecutter-data-science style)."""

from __future__ import annotations

import os
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[1]
RAW_DATA_DIR = PROJ_ROOT / "data" / "raw"
PROCESSED_DATA_DIR = PROJ_ROOT / "data" / "processed"
CACHE_DIR = PROJ_ROOT / ".cache"

SEED = 42


def reports_dir() -> Path:
    """Where figures and metrics go: ``$DIGITS_REPORTS_DIR`` (set by the report runner) or ``reports/``."""
    return Path(os.environ.get("DIGITS_REPORTS_DIR", PROJ_ROOT / "reports"))


def user_data_dir() -> Path | None:
    """The folder named by ``$DIGITS_DATA_DIR``, if set."""
    value = os.environ.get("DIGITS_DATA_DIR")
    return Path(value).expanduser() if value else None


def keras_cache_dir() -> Path:
    """Keras' dataset cache: ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "datasets"


def headless() -> bool:
    """True under papermill (the report runner sets DIGITS_HEADLESS) or CI: log one line per epoch."""
    return bool(os.environ.get("DIGITS_HEADLESS") or os.environ.get("CI"))


def profile() -> str:
    """The profile a notebook runs under: ``$DIGITS_PROFILE`` (set by the report runner), else ``smoke`` — the
    values of each notebook's ``parameters`` cell, which interactive Jupyter and nbval run."""
    return os.environ.get("DIGITS_PROFILE", "smoke")


def cache_dir() -> Path:
    """Where trained runs are cached: ``$DIGITS_CACHE_DIR`` or ``.cache/`` in the project."""
    return Path(os.environ.get("DIGITS_CACHE_DIR", CACHE_DIR))


def runs_dir() -> Path:
    """The run cache: one folder per trained run (its ``result.json`` written last)."""
    return cache_dir() / "runs"


def tensorboard_enabled() -> bool:
    """``DIGITS_TENSORBOARD=1`` makes every training run write TensorBoard logs (``make tensorboard`` shows them)."""
    return os.environ.get("DIGITS_TENSORBOARD", "0") not in ("0", "", "false", "no")


def cache_enabled() -> bool:
    """``DIGITS_CACHE=0`` turns the run cache off (every fit trains from scratch)."""
    return os.environ.get("DIGITS_CACHE", "1") not in ("0", "false", "no")
