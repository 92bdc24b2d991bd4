"""Execute notebooks with papermill into ``reports/``, each with the parameters of a named profile.

A profile is a named set of notebook parameters (``notebooks/profiles.yaml``); the smoke profile is
what each notebook's ``parameters`` cell holds (what nbval runs). Any parameter can be overridden:
``--set SEEDS=5`` (``make report-09_best_model PROFILE=full SEEDS=5``).

Each notebook runs into a staging folder (its figures, metrics and models included); only when it
finishes are its products moved into ``reports/``. A failing notebook leaves its previous report
untouched and raises :class:`NotebookFailed` naming the notebook and the failing cell.
"""

from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
import papermill
import yaml
from nbconvert import HTMLExporter

from .. import config, files

NOTEBOOKS_DIR = config.PROJ_ROOT / "notebooks"
PROFILES_FILE = NOTEBOOKS_DIR / "profiles.yaml"
KERNEL = "digits"


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


def parameters(source: Path, profile: str, overrides: dict | None = None) -> dict:
    """What papermill injects into ``source``: ``PROFILE``, the profile's values, then ``overrides``."""
    known = profiles()
    if profile not in known:
        raise ValueError(f"no profile {profile!r}; the profiles are: {', '.join(known)} ({PROFILES_FILE.name})")
    values = {"PROFILE": profile} | known[profile].get(source.stem, {}) | (overrides or {})
    declared = declared_parameters(source)
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ValueError(
            f"{source.stem} has no parameter(s) {unknown}; its parameters are: {', '.join(declared)}"
        )
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
    reports = reports or config.reports_dir()
    values = parameters(source, profile, overrides)
    stem = source.stem
    staging = reports / f".staging-{stem}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    executed = staging / f"{stem}.ipynb"
    started = time.perf_counter()
    try:
        with _environment(DIGITS_REPORTS_DIR=str(staging), DIGITS_HEADLESS="1", **_absolute_folders()):
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
    html, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    files.write_text(staging / f"{stem}.html", html)
    _publish(staging, reports, stem)
    (reports / f"{stem}.failed.ipynb").unlink(missing_ok=True)
    return seconds


def _publish(staging: Path, reports: Path, stem: str) -> None:
    """Move a finished notebook's products from staging into reports/, replacing the old ones."""
    for name in (f"{stem}.ipynb", f"{stem}.html"):
        (staging / name).replace(reports / name)
    pairs = [
        (staging / "figures" / stem, reports / "figures" / stem),
        (staging / "metrics" / f"{stem}.json", reports / "metrics" / f"{stem}.json"),
    ] + [
        (product, reports / folder / product.name)
        for folder, pattern in (("models", "*.keras"), ("models", "*.calibration.json"), ("tuning", "*.csv"))
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


def run(
    names: list[str] | None, profile: str, overrides: dict | None = None, reports: Path | None = None, skip=()
):
    """Execute the chosen notebooks in order, but those named in ``skip``; yields ``(notebook, seconds)`` as
    each finishes.

    An override applies to every chosen notebook that declares it; one that none declares is refused
    before anything runs.
    """
    overrides = overrides or {}
    declared = {source: declared_parameters(source) for source in notebooks(names)}
    unused = sorted(set(overrides) - {name for params in declared.values() for name in params})
    if unused:
        raise ValueError(f"no chosen notebook has the parameter(s) {unused}")
    for source in [source for source in declared if source.stem not in skip]:
        mine = {k: v for k, v in overrides.items() if k in declared[source]}
        yield source.stem, run_notebook(source, profile, reports, mine)
