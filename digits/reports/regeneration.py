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

from .. import config, files, machine

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


def notebook_run_counts(reports: Path, laps: list[dict], started_utc: str) -> list[dict]:
    """``run_counts`` of each notebook of a regeneration that began at ``started_utc``, in the order they
    finished. A notebook trained the runs that finished after it first started (in this attempt or an earlier
    one); a run an earlier notebook trained, or one already in the cache, it reused. A lap without its start
    (a record of the one-lane runner before notebooks ran side by side) starts when the notebook before it ended."""
    counts, since = [], started_utc
    for lap in laps:
        path = reports / "metrics" / f"{lap['notebook']}.json"
        metrics = json.loads(path.read_text()) if path.exists() else None
        counts.append(run_counts(metrics, since=lap.get("started_utc") or since) if metrics else {})
        if metrics and metrics.get("finished_at"):
            since = max(since, metrics["finished_at"], key=datetime.fromisoformat)
    return counts


def _finished_since(finished_utc: str | None, since: str | None) -> bool:
    if not finished_utc or not since:
        return False
    return datetime.fromisoformat(finished_utc) > datetime.fromisoformat(since)


class Clock:
    """Times one ``make reports`` across interruptions: ``start`` and ``lap`` as each notebook starts and
    finishes (several may run at once) save the progress to ``reports/.regeneration.partial.json``; a later
    run with the same profile and overrides resumes it (the notebooks already done are skipped, their minutes
    kept), and ``write`` turns it into ``regeneration.json``. While notebooks run, ``ticking`` saves the time
    spent every ``HEARTBEAT_SECONDS``: the minutes of a notebook that was interrupted count in the total and in
    that notebook's time when it finishes (up to the last heartbeat before the interruption)."""

    HEARTBEAT_SECONDS = 60.0

    def __init__(
        self,
        profile: str,
        overrides: dict | None = None,
        reports: Path | None = None,
        lanes: int = 1,
        calibration=None,
    ):
        self.reports = reports or config.reports_dir()
        # () -> {"what", "seconds"}: timed once, before the first notebook (default: machine.calibrate)
        self.calibration = calibration or (lambda: machine.calibrate())
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
        self.state.setdefault("starts", {})  # each notebook's first start (UTC), kept across attempts
        self.state["lanes"] = lanes  # notebooks at a time (this attempt's)
        self._t0 = time.perf_counter()
        self._carried = dict(self.state.get("unfinished", {}))  # interrupted attempts' time in each notebook
        self._running: dict[str, float] = {}  # notebook -> when this attempt started it
        self._measured = False

    @property
    def done(self) -> list[str]:
        """Notebooks an interrupted earlier attempt finished (empty for a fresh start)."""
        return [lap["notebook"] for lap in self.state["laps"]]

    def _seconds(self) -> float:
        return self.state["earlier_seconds"] + time.perf_counter() - self._t0

    def _save(self) -> None:
        now = time.perf_counter()
        unfinished = self._carried | {
            stem: self._carried.get(stem, 0.0) + now - t0 for stem, t0 in self._running.items()
        }
        progress = {
            "earlier_seconds": round(self._seconds(), 1),
            "unfinished": {stem: round(seconds, 1) for stem, seconds in unfinished.items()},
        }
        files.write_json(self.partial, self.state | progress)

    def beat(self) -> None:
        """Save the time spent so far, the unfinished notebooks' included."""
        with self._lock:
            self._save()

    def measure_machine(self) -> None:
        """Describe the machine and time the calibration workload, once per regeneration (a resumed run keeps
        the first attempt's; one that resumes on another machine says so in ``machine["resumed_on"]``)."""
        here = machine.describe()
        if "machine" not in self.state:
            self.state["machine"] = here | {"calibration": self.calibration()}
        elif self.state["machine"]["cpu"] != here["cpu"]:
            self.state["machine"].setdefault("resumed_on", []).append(here["cpu"])

    def start(self, notebook: str) -> None:
        """``notebook`` starts now (the machine is measured before the first)."""
        if not self._measured:
            self.measure_machine()
            self._measured = True
        with self._lock:
            self._running[notebook] = time.perf_counter()
            self.state["starts"].setdefault(notebook, datetime.now(UTC).isoformat(timespec="seconds"))
            self._save()

    def lap(self, notebook: str, seconds: float) -> None:
        """A notebook finished in ``seconds`` (this attempt's); earlier attempts' time in it is added."""
        with self._lock:
            lap = {"notebook": notebook, "seconds": round(seconds + self._carried.pop(notebook, 0.0), 1)}
            if notebook in self.state["starts"]:
                lap["started_utc"] = self.state["starts"][notebook]
            self.state["laps"].append(lap)
            self._running.pop(notebook, None)
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

        counts = notebook_run_counts(self.reports, self.state["laps"], self.state["started_utc"])
        notebooks = sorted(  # in the notebooks' order, whatever order they finished in
            (
                {"notebook": lap["notebook"], "wall_minutes": round(lap["seconds"] / 60, 2)}
                | ({"started_utc": lap["started_utc"]} if "started_utc" in lap else {})
                | c
                for lap, c in zip(self.state["laps"], counts, strict=True)
            ),
            key=lambda n: n["notebook"],
        )
        env = environment()
        return {
            "profile": self.state["profile"],
            "overrides": self.state["overrides"],
            "started_utc": self.state["started_utc"],
            "ended_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_minutes": round(self._seconds() / 60, 2),
            "attempts": self.state["attempts"],
            "lanes": self.state["lanes"],
            "from_empty_cache": self.state["runs_in_cache_at_start"] == 0,
            "runs_in_cache_at_start": self.state["runs_in_cache_at_start"],
            "models_trained": sum(n.get("trained", 0) for n in notebooks),
            "models_reused": sum(n.get("reused", 0) for n in notebooks),
            "notebooks": notebooks,
            "machine": self.state.get("machine") or machine.describe(),
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
    if r.get("lanes", 1) > 1:
        source += f", {r['lanes']} notebooks at a time"
    slowest = sorted(r["notebooks"], key=lambda n: -n["wall_minutes"])[:3]
    cpu, calibration = r.get("machine", {}).get("cpu", r["cpu"]), r.get("machine", {}).get("calibration")
    units = (
        f", {r['wall_minutes'] * 60 / calibration['seconds']:.0f} times the machine's calibration workload "
        f"({calibration['what']}: {calibration['seconds']:.0f} s)"
        if calibration
        else ""
    )
    return (
        f"Last `make reports` (profile {r['profile']}, `reports/{FILE}`): from {source}, **{r['wall_minutes']:.0f} "
        f"minutes**{units} ({r['started_utc']} to {r['ended_utc']} UTC) on {cpu} with {r['cores']} cores; "
        f"{r['models_trained']} models trained, {r['models_reused']} reused from the run cache; slowest: "
        + ", ".join(f"{n['notebook']} {n['wall_minutes']:.0f} min" for n in slowest)
        + f"; TensorFlow {r['libraries'].get('tensorflow')}, Keras {r['libraries'].get('keras')}.\n"
    )
