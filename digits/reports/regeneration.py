"""``reports/regeneration.json``: what one ``make reports`` cost — when it ran, minutes per notebook, how
many models it trained and how many it reused from the run cache, on what machine and library versions."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from .. import config, files

FILE = "regeneration.json"
PARTIAL = ".regeneration.partial.json"  # the progress of an unfinished make reports
LIBRARIES = ("tensorflow", "keras", "keras-tuner", "numpy", "pandas", "scikit-learn", "papermill", "nbval")
DISTRIBUTIONS = {"tensorflow": ("tensorflow", "tensorflow-cpu")}  # where a library installs under another name


def cached_runs() -> int:
    """How many trained runs the run cache holds now (0: a from-scratch regeneration)."""
    return sum(1 for _ in config.runs_dir().glob("*/result.json"))


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


def run_counts(metrics: dict, since: str | None = None) -> dict:
    """Models a notebook trained and models it reloaded from the run cache (study runs included), from its
    metrics file; an ensemble is made of other runs and counts as neither. A run the cache handed back but
    that finished training after ``since`` (ISO 8601: when the regeneration began, or when the notebook before
    this one finished) was trained by an earlier attempt of this notebook, and counts as trained."""
    rows = [r for r in metrics.get("models", {}).values() if "members" not in r]
    study = metrics.get("study_runs", {})
    reused = sum(bool(r.get("cached")) and not _finished_since(r.get("finished_utc"), since) for r in rows)
    earlier_attempts = sum(_finished_since(t, since) for t in study.get("cached_finished_utc", []))
    reused += study.get("cached", 0) - earlier_attempts
    return {"trained": len(rows) + study.get("runs", 0) - reused, "reused": reused}


def notebook_run_counts(reports: Path, stems: list[str], started_utc: str) -> list[dict]:
    """``run_counts`` of each notebook of a regeneration that began at ``started_utc``, in the order they ran. A
    notebook trained the runs that finished after the notebook before it did (in this attempt or an earlier
    one); a run an earlier notebook trained, or one already in the cache, it reused."""
    counts, since = [], started_utc
    for stem in stems:
        path = reports / "metrics" / f"{stem}.json"
        metrics = json.loads(path.read_text()) if path.exists() else None
        counts.append(run_counts(metrics, since=since) if metrics else {})
        if metrics and metrics.get("finished_at"):
            since = max(since, metrics["finished_at"], key=datetime.fromisoformat)
    return counts


def _finished_since(finished_utc: str | None, since: str | None) -> bool:
    if not finished_utc or not since:
        return False
    return datetime.fromisoformat(finished_utc) > datetime.fromisoformat(since)


class Clock:
    """Times one ``make reports`` across interruptions: ``lap`` after each notebook saves the progress to
    ``reports/.regeneration.partial.json``; a later run with the same profile and overrides resumes it (the
    notebooks already done are skipped, their minutes kept), and ``write`` turns it into ``regeneration.json``.
    While a notebook runs, ``ticking`` saves the time spent every ``HEARTBEAT_SECONDS``: the minutes of a
    notebook that was interrupted count in the total and in that notebook's time when it finishes (up to the
    last heartbeat before the interruption)."""

    HEARTBEAT_SECONDS = 60.0

    def __init__(self, profile: str, overrides: dict | None = None, reports: Path | None = None):
        self.reports = reports or config.reports_dir()
        self.partial = self.reports / PARTIAL
        overrides = overrides or {}
        state = json.loads(self.partial.read_text()) if self.partial.exists() else None
        self._lock = threading.Lock()
        if state and state["profile"] == profile and state["overrides"] == overrides:
            self.state = state | {"attempts": state["attempts"] + 1}
        else:
            self.state = {
                "profile": profile,
                "overrides": overrides,
                "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                "runs_in_cache_at_start": cached_runs(),
                "attempts": 1,
                "earlier_seconds": 0.0,
                "laps": [],
            }
        self._t0 = self._lap_t0 = time.perf_counter()
        self._carried = self.state.get("unfinished_seconds", 0.0)  # an interrupted attempt's time in this notebook

    @property
    def done(self) -> list[str]:
        """Notebooks an interrupted earlier attempt finished (empty for a fresh start)."""
        return [lap["notebook"] for lap in self.state["laps"]]

    def _seconds(self) -> float:
        return self.state["earlier_seconds"] + time.perf_counter() - self._t0

    def _save(self) -> None:
        unfinished = self._carried + time.perf_counter() - self._lap_t0
        progress = {"earlier_seconds": round(self._seconds(), 1), "unfinished_seconds": round(unfinished, 1)}
        files.write_json(self.partial, self.state | progress)

    def beat(self) -> None:
        """Save the time spent so far, the unfinished notebook's included."""
        with self._lock:
            self._save()

    def lap(self, notebook: str, seconds: float) -> None:
        """A notebook finished in ``seconds`` (this attempt's); earlier attempts' time in it is added."""
        with self._lock:
            self.state["laps"].append({"notebook": notebook, "seconds": round(seconds + self._carried, 1)})
            self._carried, self._lap_t0 = 0.0, time.perf_counter()
            self._save()

    @contextlib.contextmanager
    def ticking(self):
        """Save the progress now, every ``HEARTBEAT_SECONDS`` and when the block ends."""
        stop = threading.Event()

        def beat_until_stopped():
            while not stop.wait(self.HEARTBEAT_SECONDS):
                self.beat()

        self.beat()
        thread = threading.Thread(target=beat_until_stopped, name="regeneration-heartbeat", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self.beat()  # a failed or interrupted notebook's time, to the second

    def record(self) -> dict:
        """The regeneration record, reading each notebook's trained/reused counts from its metrics file."""
        from ..session import environment  # imports Keras: only when a record is written

        stems = [lap["notebook"] for lap in self.state["laps"]]
        counts = notebook_run_counts(self.reports, stems, self.state["started_utc"])
        notebooks = [
            {"notebook": lap["notebook"], "wall_minutes": round(lap["seconds"] / 60, 2)} | c
            for lap, c in zip(self.state["laps"], counts, strict=True)
        ]
        env = environment()
        return {
            "profile": self.state["profile"],
            "overrides": self.state["overrides"],
            "started_utc": self.state["started_utc"],
            "ended_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_minutes": round(self._seconds() / 60, 2),
            "attempts": self.state["attempts"],
            "from_empty_cache": self.state["runs_in_cache_at_start"] == 0,
            "runs_in_cache_at_start": self.state["runs_in_cache_at_start"],
            "models_trained": sum(n.get("trained", 0) for n in notebooks),
            "models_reused": sum(n.get("reused", 0) for n in notebooks),
            "notebooks": notebooks,
            "cpu": env["cpu"],
            "cores": env["cpu_count"],
            "gpus": env["gpus"],
            "python": env["python"],
            "libraries": library_versions(),
        }

    def write(self) -> Path:
        """Write ``regeneration.json`` and forget the progress: the next ``make reports`` starts afresh."""
        path = files.write_json(self.reports / FILE, self.record())
        self.partial.unlink(missing_ok=True)
        return path


def summary(reports: Path) -> str:
    """One paragraph for the READMEs: when and how fast the reports were last regenerated, or ''."""
    path = reports / FILE
    if not path.exists():
        return ""
    r = json.loads(path.read_text())
    source = "an empty run cache" if r["from_empty_cache"] else f"a run cache holding {r['runs_in_cache_at_start']} runs"
    if r.get("attempts", 1) > 1:
        source += f", in {r['attempts']} attempts (resumed after interruptions)"
    slowest = sorted(r["notebooks"], key=lambda n: -n["wall_minutes"])[:3]
    return (
        f"Last `make reports` (profile {r['profile']}, `reports/{FILE}`): from {source}, **{r['wall_minutes']:.0f} "
        f"minutes** ({r['started_utc']} to {r['ended_utc']} UTC) on {r['cpu']} with {r['cores']} cores; "
        f"{r['models_trained']} models trained, {r['models_reused']} reused from the run cache; slowest: "
        + ", ".join(f"{n['notebook']} {n['wall_minutes']:.0f} min" for n in slowest)
        + f"; TensorFlow {r['libraries'].get('tensorflow')}, Keras {r['libraries'].get('keras')}.\n"
    )
