"""Execute notebooks with papermill into ``reports/``, each with the parameters of a named profile.

A profile is a named set of notebook parameters (``notebooks/profiles.yaml``); the smoke profile is
what each notebook's ``parameters`` cell holds (what nbval runs). Any parameter can be overridden:
``--set SEEDS=5`` (``make report-09_best_model PROFILE=full SEEDS=5``). The ``full`` profile writes into
``reports/``; any other into ``reports/profiles/<profile>/`` (see :func:`reports_dir`).

Each notebook runs into a staging folder (its figures, metrics and models included); only when it
finishes are its products moved into ``reports/``. A failing notebook leaves its previous report
untouched and raises :class:`NotebookFailed` naming the notebook and the failing cell.

``lanes=2`` runs two notebooks at a time, in two processes, each kernel with half the cores as TensorFlow
threads (a thread count changes floating-point sums, so figures differ in the last digits from a one-lane
run): a notebook starts once the notebooks whose models it reads (``NEEDS``) have finished, so each model is
still trained in the notebook where it belongs and reused through the run cache elsewhere.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

import papermill
import yaml

from .. import config, files
from . import site

NOTEBOOKS_DIR = config.PROJ_ROOT / "notebooks"
PROFILES_FILE = NOTEBOOKS_DIR / "profiles.yaml"
KERNEL = "digits"

# The notebooks each notebook reads trained runs or shipped models of: it starts only once they have finished.
NEEDS = {
    "06_usps_transfer": ("01_mlp_vs_cnn", "04_improved_cnn"),
    "07_mnist100": ("01_mlp_vs_cnn", "04_improved_cnn", "06_usps_transfer"),
    "08_custom_images": ("04_improved_cnn", "07_mnist100", "10_why_cnns_beat_mlps"),  # the shipped models
    "09_best_model": ("01_mlp_vs_cnn", "02_cnn_architectures", "04_improved_cnn", "06_usps_transfer"),
    "10_why_cnns_beat_mlps": ("01_mlp_vs_cnn", "04_improved_cnn"),
}


def reports_dir(profile: str) -> Path:
    """Where a profile's reports go: ``reports/`` for ``full`` (the committed results), else
    ``reports/profiles/<profile>/`` (ignored by git), so a quick run never overwrites the committed reports."""
    base = config.reports_dir()
    return base if profile == "full" else base / "profiles" / profile


class NotebookFailed(RuntimeError):
    """A notebook raised while papermill executed it."""


def notebooks(names: list[str] | None = None) -> list[Path]:
    """Notebook sources in order, optionally only those whose stem matches or starts with a name."""
    found = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return found
    chosen = []
    for name in names:
        match = [p for p in found if p.stem == name or p.stem.startswith(name)]
        if not match:
            raise ValueError(f"no notebook matches {name!r}; there are: {', '.join(p.stem for p in found)}")
        chosen += match
    return chosen


def profiles() -> dict[str, dict[str, dict]]:
    """``{profile: {notebook: {PARAMETER: value}}}`` from ``notebooks/profiles.yaml``."""
    loaded = yaml.safe_load(PROFILES_FILE.read_text()) if PROFILES_FILE.is_file() else {}
    return {"smoke": {}} | {name: (values or {}) for name, values in (loaded or {}).items()}


def declared_parameters(source: Path) -> dict:
    """The parameters a notebook declares in its ``parameters`` cell, with their default values."""
    return {name: p["default"] for name, p in papermill.inspect_notebook(str(source)).items()}


def parse_overrides(pairs: list[str]) -> dict:
    """``["EPOCHS=30", "SEEDS=[42, 43]"]`` -> ``{"EPOCHS": 30, "SEEDS": [42, 43]}`` (values read as YAML)."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"a parameter is set as NAME=VALUE (e.g. EPOCHS=3), got {pair!r}")
        out[name] = yaml.safe_load(value)
    return out


def parameters(source: Path, profile: str, overrides: dict | None = None, declared: dict | None = None) -> dict:
    """What papermill injects into ``source``: ``PROFILE``, the profile's values, then ``overrides``.
    ``declared``: the notebook's ``declared_parameters`` when the caller has them already."""
    known = profiles()
    if profile not in known:
        raise ValueError(f"no profile {profile!r}; the profiles are: {', '.join(known)} ({PROFILES_FILE.name})")
    values = {"PROFILE": profile} | known[profile].get(source.stem, {}) | (overrides or {})
    declared = declared_parameters(source) if declared is None else declared
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ValueError(f"{source.stem} has no parameter(s) {unknown}; its parameters are: {', '.join(declared)}")
    return values


def _failure_message(err: Exception, notebook: str) -> str:
    cell = getattr(err, "exec_count", None)
    ename, evalue = getattr(err, "ename", type(err).__name__), getattr(err, "evalue", str(err))
    where = f"cell [{cell}]" if cell is not None else "start-up"
    return f"notebook {notebook} failed at {where}: {ename}: {evalue}"


FOLDER_VARIABLES = ("DIGITS_DATA_DIR", "DIGITS_CACHE_DIR")


@contextmanager
def _environment(**values):
    """Set environment variables for the kernel papermill starts, restoring them afterwards."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _absolute_folders() -> dict:
    """The user's folder settings as absolute paths: the kernel runs in ``notebooks/``, not where the user typed."""
    return {k: os.path.abspath(os.environ[k]) for k in FOLDER_VARIABLES if os.environ.get(k)}


def run_notebook(
    source: Path, profile: str, reports: Path | None = None, overrides: dict | None = None, kernel: str = KERNEL
) -> float:
    """Execute one notebook into ``reports`` (atomically); returns its run time in seconds."""
    return _execute(source, parameters(source, profile, overrides), reports or reports_dir(profile), kernel)


def _execute(source: Path, values: dict, reports: Path, kernel: str = KERNEL, threads: int | None = None) -> float:
    """Execute ``source`` with the parameter ``values`` into ``reports``, its kernel with ``threads`` TensorFlow
    threads (None: TensorFlow's default); returns its run time in seconds."""
    stem = source.stem
    staging = reports / f".staging-{stem}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    executed = staging / f"{stem}.ipynb"
    started = time.perf_counter()
    threading = {"TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": str(threads)} if threads else {}
    try:
        with _environment(
            DIGITS_REPORTS_DIR=str(staging),
            DIGITS_HEADLESS="1",
            DIGITS_PROFILE=str(values.get("PROFILE", "smoke")),
            **threading,
            **_absolute_folders(),
        ):
            papermill.execute_notebook(
                str(source),
                str(executed),
                parameters=values,
                kernel_name=kernel,
                cwd=str(source.parent),
                progress_bar=False,
                log_output=True,
            )
    except Exception as err:
        if executed.exists():
            shutil.move(executed, reports / f"{stem}.failed.ipynb")
        shutil.rmtree(staging, ignore_errors=True)
        raise NotebookFailed(_failure_message(err, stem)) from err
    seconds = time.perf_counter() - started
    files.write_text(staging / f"{stem}.html", site.notebook_page(executed, [p.stem for p in notebooks()]))
    _publish(staging, reports, stem)
    (reports / f"{stem}.failed.ipynb").unlink(missing_ok=True)
    site.write_index(reports)
    return seconds


def _execute_in_lane(source: Path, values: dict, reports: Path, threads: int) -> float:
    """``_execute`` in a lane's process: papermill's cell output (one line per epoch) goes to the log as in
    the main process, each line led by the notebook's name, since two notebooks write at once."""
    logging.basicConfig(level=logging.INFO, format=f"{source.stem} | %(message)s", force=True)
    return _execute(source, values, reports, threads=threads)


def _publish(staging: Path, reports: Path, stem: str) -> None:
    """Move a finished notebook's products from staging into reports/, replacing the old ones."""
    for name in (f"{stem}.ipynb", f"{stem}.html"):
        (staging / name).replace(reports / name)
    pairs = [
        (staging / "figures" / stem, reports / "figures" / stem),
        (staging / "metrics" / f"{stem}.json", reports / "metrics" / f"{stem}.json"),
    ] + [
        (product, reports / folder / product.name)
        for folder, pattern in (
            ("models", "*.keras"), ("models", "*.calibration.json"), ("models", "*.decline.npz"), ("tuning", "*.csv")
        )
        for product in sorted((staging / folder).glob(pattern))
    ]
    for new, old in pairs:
        if not new.exists():
            continue
        old.parent.mkdir(parents=True, exist_ok=True)
        if old.is_dir():
            shutil.rmtree(old)
        new.replace(old)
    shutil.rmtree(staging, ignore_errors=True)


def _priorities(stems: list[str], reports: Path) -> dict[str, float]:
    """Each notebook's longest chain of minutes to the end of the run (itself and the notebooks that need it,
    timed by the last ``regeneration.json``; one minute each without it): the longest chain starts first."""
    path = reports / "regeneration.json"
    last = json.loads(path.read_text()) if path.exists() else {}
    minutes = {n["notebook"]: n["wall_minutes"] for n in last.get("notebooks", [])}
    chains: dict[str, float] = {}

    def chain(stem: str) -> float:
        if stem not in chains:
            after = [chain(s) for s in stems if stem in NEEDS.get(s, ())]
            chains[stem] = minutes.get(stem, 1.0) + max(after, default=0.0)
        return chains[stem]

    return {stem: chain(stem) for stem in stems}


def run(
    names: list[str] | None,
    profile: str,
    overrides: dict | None = None,
    reports: Path | None = None,
    skip=(),
    lanes: int = 1,
    on_start=None,
):
    """Execute the chosen notebooks, but those named in ``skip``, ``lanes`` at a time; returns an iterator
    that yields ``(notebook, seconds)`` as each finishes, and calls ``on_start(notebook)`` as each starts.

    A notebook starts once the chosen notebooks it ``NEEDS`` have finished: in order with one lane, the
    longest chain of work first with more. An override applies to every chosen notebook that declares it;
    one that none declares, or a bad ``lanes``, is refused here, before anything runs. When a notebook fails,
    no other starts; those running finish, then :class:`NotebookFailed` is raised.
    """
    if not (isinstance(lanes, int) and lanes >= 1):
        raise ValueError(f"lanes (notebooks run at once) must be an integer >= 1, got {lanes!r}")
    overrides = overrides or {}
    declared = {source: declared_parameters(source) for source in notebooks(names)}
    unused = sorted(set(overrides) - {name for params in declared.values() for name in params})
    if unused:
        raise ValueError(f"no chosen notebook has the parameter(s) {unused}")
    values = {  # computed here: a lane's process knows only what it is given
        source: parameters(source, profile, {k: v for k, v in overrides.items() if k in names}, names)
        for source, names in declared.items()
    }
    return _schedule(values, reports or reports_dir(profile), set(skip), lanes, on_start)


def _schedule(values: dict, reports: Path, done: set, lanes: int, on_start):
    """``run``'s iterator: start each notebook of ``values`` not ``done`` once its needs are met."""
    chosen = [source.stem for source in values]
    pending = [source for source in values if source.stem not in done]
    priority = _priorities(chosen, reports) if lanes > 1 else {}

    def ready() -> list[Path]:
        return [s for s in pending if all(n in done or n not in chosen for n in NEEDS.get(s.stem, ()))]

    def start_next() -> Path:
        source = ready()[0] if lanes == 1 else max(ready(), key=lambda s: priority[s.stem])
        pending.remove(source)
        if on_start:
            on_start(source.stem)
        return source

    if lanes == 1:  # in this process, in order
        while pending:
            source = start_next()
            yield source.stem, _execute(source, values[source], reports)
            done.add(source.stem)
        return
    failures, running = [], {}
    threads = max(1, (os.cpu_count() or 1) // lanes)
    with ProcessPoolExecutor(lanes, mp_context=multiprocessing.get_context("spawn")) as pool:
        while pending or running:
            while len(running) < lanes and not failures and ready():
                source = start_next()
                running[pool.submit(_execute_in_lane, source, values[source], reports, threads)] = source.stem
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                stem = running.pop(future)
                try:
                    seconds = future.result()
                except NotebookFailed as err:
                    failures.append(err)
                    continue
                done.add(stem)
                yield stem, seconds
    if failures:
        raise failures[0]
