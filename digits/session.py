"""Notebook session: ``digits.setup()`` and the metrics file each notebook writes at its end."""

from __future__ import annotations

import os
import platform
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import matplotlib as mpl
import numpy
import seaborn as sns
import sklearn

from . import config, files, machine
from .train import set_seed

_state: dict = {"notebook": None, "started": None}


@dataclass(frozen=True)
class Session:
    notebook: str | None
    seed: int
    figures: Path
    metrics: Path


class ClaimNotSupported(AssertionError):
    """A discussion's claim that the numbers of this run do not carry."""


def claim(holds: bool, statement: str) -> None:
    """Guard a sentence of a discussion: in a ``full`` report, stop with :class:`ClaimNotSupported` when the
    numbers no longer carry ``statement``, so a re-run never prints a conclusion its figures contradict. In any
    other profile (seconds of training, for tests) the text is not a finding: the failed claim is only a warning.
    """
    if holds:
        return
    message = f"the discussion says that {statement}, but this run's numbers do not carry it"
    if config.profile() == "full":
        raise ClaimNotSupported(message + "; rewrite the discussion for the new numbers")
    warnings.warn(f"{message} (profile {config.profile()!r}: not checked)", stacklevel=2)


def figures_dir() -> Path:
    """``reports/figures/<notebook>/`` (``reports/figures/`` outside a notebook session)."""
    base = config.reports_dir() / "figures"
    return base / _state["notebook"] if _state["notebook"] else base


def setup(notebook: str | None = None, seed: int = config.SEED) -> Session:
    """Seed everything, set plotting defaults, remember where figures go, print versions."""
    _state.update(notebook=notebook, started=time.perf_counter())
    set_seed(seed)
    sns.set_theme(context="notebook", style="whitegrid")
    mpl.rcParams.update({"figure.dpi": 90, "savefig.dpi": 110, "image.interpolation": "nearest"})
    print(f"digits on Keras {keras.__version__} ({keras.backend.backend()} backend), seed {seed}")
    return Session(notebook, seed, figures_dir(), config.reports_dir() / "metrics" / f"{notebook}.json")


def environment() -> dict:
    """Library versions and hardware, for metrics files and benchmarks."""
    env = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "numpy": numpy.__version__,
        "scikit_learn": sklearn.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "gpus": [],
    }
    if env["backend"] == "tensorflow":
        import tensorflow as tf

        env["tensorflow"] = tf.__version__
        env["gpus"] = [d.name for d in tf.config.list_physical_devices("GPU")]
    env["cpu"] = machine.cpuinfo().get("model name") or env["cpu"]
    return env


def save_metrics(results, profile: str, extra: dict | None = None, study_runs=()) -> Path:
    """Write ``reports/metrics/<notebook>.json``: each model's test metrics plus environment and run time.

    ``study_runs`` are runs trained only for a study's figures (on subsets, say): they are not leaderboard
    models, but their number and training time are recorded under ``"study_runs"``.
    """
    if not _state["notebook"]:
        raise RuntimeError("call digits.setup('<notebook name>') first, so the metrics file can be named")
    models = {}
    for r in results:
        row = r.row()
        label = row.pop("model")
        if label in models:  # the same configuration over several seeds: keep every run
            label = f"{label} (seed {r.seed})"
        models[label] = row | {"cached": r.cached, "finished_utc": r.finished_utc}
        if "members" in r.config:  # an ensemble: its training time is its members'
            models[label]["members"] = r.config["members"]
    payload = {
        "notebook": _state["notebook"],
        "profile": profile,
        "models": models,
        "extra": extra or {},
        "study_runs": {
            "runs": len(study_runs),
            "cached": sum(r.cached for r in study_runs),
            "cached_finished_utc": sorted(r.finished_utc or "" for r in study_runs if r.cached),
            "train_seconds": round(sum(r.train_seconds for r in study_runs), 1),
        },
        "environment": environment(),
        "notebook_seconds": round(time.perf_counter() - _state["started"], 1),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return files.write_json(config.reports_dir() / "metrics" / f"{_state['notebook']}.json", payload)
