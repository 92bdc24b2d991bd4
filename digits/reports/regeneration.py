"""``reports/regeneration.json``: what one ``make reports`` cost — when it ran, minutes per notebook, how
many models it trained and how many it reused from the run cache, on what machine and library versions."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from .. import config, files

FILE = "regeneration.json"
LIBRARIES = ("tensorflow", "keras", "keras-tuner", "numpy", "pandas", "scikit-learn", "papermill", "nbval")
DISTRIBUTIONS = {"tensorflow": ("tensorflow", "tensorflow-cpu")}  # where a library installs under another name


def cached_runs() -> int:
    """How many trained runs the run cache holds now (0: a from-scratch regeneration)."""
    runs = config.cache_dir() / "runs"
    return sum(1 for p in runs.glob("*/result.json")) if runs.is_dir() else 0


def library_versions() -> dict:
    """Installed versions of the libraries the reports depend on (``None`` where one is missing)."""
    versions = {}
    for name in LIBRARIES:
        versions[name] = None
        for distribution in DISTRIBUTIONS.get(name, (name,)):
            try:
                versions[name] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions


def run_counts(metrics: dict) -> dict:
    """Models a notebook trained and models it reloaded from the run cache (study runs included), from its
    metrics file; an ensemble is made of other runs and counts as neither."""
    rows = [r for r in metrics.get("models", {}).values() if "members" not in r]
    study = metrics.get("study_runs", {})
    reused = sum(bool(r.get("cached")) for r in rows) + study.get("cached", 0)
    return {"trained": len(rows) + study.get("runs", 0) - reused, "reused": reused}


class Clock:
    """Times one ``make reports``: start it before the first notebook, ``lap`` after each."""

    def __init__(self, profile: str):
        self.profile = profile
        self.started = datetime.now(UTC)
        self.cached_at_start = cached_runs()
        self._t0 = time.perf_counter()
        self.laps: list[tuple[str, float]] = []

    def lap(self, notebook: str, seconds: float) -> None:
        self.laps.append((notebook, seconds))

    def record(self, reports: Path) -> dict:
        """The regeneration record, reading each notebook's trained/reused counts from its metrics file."""
        from ..session import environment  # imports Keras: only when a record is written

        notebooks = []
        for stem, seconds in self.laps:
            metrics_file = reports / "metrics" / f"{stem}.json"
            counts = run_counts(json.loads(metrics_file.read_text())) if metrics_file.exists() else {}
            notebooks.append({"notebook": stem, "wall_minutes": round(seconds / 60, 2)} | counts)
        env = environment()
        return {
            "profile": self.profile,
            "started_utc": self.started.isoformat(timespec="seconds"),
            "ended_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_minutes": round((time.perf_counter() - self._t0) / 60, 2),
            "from_empty_cache": self.cached_at_start == 0,
            "runs_in_cache_at_start": self.cached_at_start,
            "models_trained": sum(n.get("trained", 0) for n in notebooks),
            "models_reused": sum(n.get("reused", 0) for n in notebooks),
            "notebooks": notebooks,
            "cpu": env["cpu"],
            "cores": env["cpu_count"],
            "gpus": env["gpus"],
            "python": env["python"],
            "libraries": library_versions(),
        }

    def write(self, reports: Path | None = None) -> Path:
        reports = reports or config.reports_dir()
        return files.write_json(reports / FILE, self.record(reports))


def summary(reports: Path) -> str:
    """One paragraph for the READMEs: when and how fast the reports were last regenerated, or ''."""
    path = reports / FILE
    if not path.exists():
        return ""
    r = json.loads(path.read_text())
    source = "an empty run cache" if r["from_empty_cache"] else f"a run cache holding {r['runs_in_cache_at_start']} runs"
    slowest = sorted(r["notebooks"], key=lambda n: -n["wall_minutes"])[:3]
    return (
        f"Last `make reports` (profile {r['profile']}, `reports/{FILE}`): from {source}, **{r['wall_minutes']:.0f} "
        f"minutes** ({r['started_utc']} to {r['ended_utc']} UTC) on {r['cpu']} with {r['cores']} cores; "
        f"{r['models_trained']} models trained, {r['models_reused']} reused from the run cache; slowest: "
        + ", ".join(f"{n['notebook']} {n['wall_minutes']:.0f} min" for n in slowest)
        + f"; TensorFlow {r['libraries'].get('tensorflow')}, Keras {r['libraries'].get('keras')}.\n"
    )
