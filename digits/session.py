"""Notebook session: ``digits.setup()`` and the metrics file each notebook writes at its end."""
from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

from . import config

_state: dict = {"notebook": None, "started": None}


@dataclass(frozen=True)
class Session:
    notebook: str | None
    seed: int
    figures: Path
    metrics: Path


def figures_dir() -> Path:
    """``reports/figures/<notebook>/`` (``reports/figures/`` outside a notebook session)."""
    base = config.reports_dir() / "figures"
    return base / _state["notebook"] if _state["notebook"] else base


def setup(notebook: str | None = None, seed: int = config.SEED) -> Session:
    """Seed everything, set plotting defaults, remember where figures go, print versions."""
    import keras
    import matplotlib as mpl
    import seaborn as sns

    from .train import set_seed

    _state.update(notebook=notebook, started=time.perf_counter())
    set_seed(seed)
    sns.set_theme(context="notebook", style="whitegrid")
    mpl.rcParams.update({"figure.dpi": 90, "savefig.dpi": 110, "image.interpolation": "nearest"})
    print(f"digits on Keras {keras.__version__} ({keras.backend.backend()} backend), seed {seed}")
    return Session(notebook, seed, figures_dir(), config.reports_dir() / "metrics" / f"{notebook}.json")


def environment() -> dict:
    """Library versions and hardware, for metrics files and benchmarks."""
    import keras
    import numpy
    import sklearn

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
    try:
        with open("/proc/cpuinfo") as f:
            env["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return env


def save_metrics(results, profile: str, extra: dict | None = None) -> Path:
    """Write ``reports/metrics/<notebook>.json``: each model's test metrics plus environment and run time."""
    if not _state["notebook"]:
        raise RuntimeError("call digits.setup('<notebook name>') first, so the metrics file can be named")
    models = {}
    for r in results:
        row = r.row()
        label = row.pop("model")
        if label in models:  # the same configuration over several seeds: keep every run
            label = f"{label} (seed {r.config['seed']})"
        models[label] = row | {"cached": r.cached}
        if "members" in r.config:  # an ensemble: its training time is its members'
            models[label]["members"] = r.config["members"]
    payload = {
        "notebook": _state["notebook"],
        "profile": profile,
        "models": models,
        "extra": extra or {},
        "environment": environment(),
        "notebook_seconds": round(time.perf_counter() - _state["started"], 1),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    path = config.reports_dir() / "metrics" / f"{_state['notebook']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=float))
    tmp.replace(path)
    return path


def save_model(model, name: str) -> Path:
    """Save a trained model as ``reports/models/<name>.keras`` (published with the notebook's report)."""
    path = config.reports_dir() / "models" / f"{name}.keras"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{name}.tmp.keras")
    model.save(tmp)
    tmp.replace(path)
    return path


PROFILES = ("smoke", "full")


def resolve(profile: str, defaults: dict, **given) -> dict:
    """Settings for ``profile``: each value given (not None) wins over ``defaults[profile]``.

    ``defaults`` maps "smoke" and "full" to dicts of settings; the notebook's parameter
    cell holds ``profile`` and the overrides, the next cell calls this.
    """
    if profile not in PROFILES:
        raise ValueError(f"PROFILE must be one of {PROFILES}, got {profile!r}")
    unknown = set(given) - set(defaults[profile])
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(defaults[profile])}")
    return defaults[profile] | {k: v for k, v in given.items() if v is not None}
