"""Keras Tuner searches: MLP and CNN search spaces, one runner for three algorithms.

    python -m digits tune --model mlp|cnn --algo random|hyperband|bayesian [--max-trials N]
                          [--budget-minutes M] [--epochs E] [--n-train N] [--fresh]

Searches live in ``.cache/tuning/<project>/`` (Keras Tuner's own files: a search started
again continues where it stopped, finished trials are not repeated; ``fresh=True`` starts
over). The search space is recorded with the project, and a changed space is refused
rather than mixed. Results (one row per trial) go to ``reports/tuning/<project>.csv``.
Keras Tuner's distributed mode works unchanged: start a chief and workers with
``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` set.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import keras_tuner as kt
import pandas as pd

from . import config, files, models, train
from .checks import is_count
from .data import Splits

log = logging.getLogger(__name__)

ALGORITHMS = {"random": kt.RandomSearch, "hyperband": kt.Hyperband, "bayesian": kt.BayesianOptimization}


def mlp_space(hp: kt.HyperParameters) -> tuple[str, dict, float]:
    """MLP: 1-3 layers of 32-1024 units, dropout 0-0.5, log-uniform learning rate.
    The reference (224, 288, dropout 0.3, lr 1e-3) lies inside."""
    n_layers = hp.Int("layers", 1, 3, default=2)
    units = tuple(hp.Int(f"units_{i + 1}", 32, 1024, step=32, default=(224, 288, 128)[i]) for i in range(n_layers))
    dropout = hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.3)
    lr = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
    return "mlp", {"units": units, "dropout": dropout}, lr


def cnn_space(hp: kt.HyperParameters) -> tuple[str, dict, float]:
    """CNN (cnn_wide's shape): filters of both convolutions, kernel size, dense units, dropout,
    batch norm on/off, learning rate. The reference (32, 192, 3x3, 128, no batch norm) lies inside."""
    filters = (
        hp.Choice("filters_1", [16, 32, 64], default=32),
        hp.Choice("filters_2", [64, 128, 192, 256], default=192),
    )
    hparams = {
        "filters": filters,
        "kernel_size": hp.Choice("kernel_size", [3, 5], default=3),
        "dense_units": hp.Int("dense_units", 64, 256, step=64, default=128),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.5),
        "batch_norm": hp.Boolean("batch_norm", default=False),
    }
    return "cnn_wide", hparams, hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)


SPACES = {"mlp": mlp_space, "cnn": cnn_space}


class SpaceChangedError(ValueError):
    """The search space differs from the one an existing project was started with."""


def _hypermodel(space, input_shape, num_classes):
    def build(hp):
        name, hparams, lr = space(hp)
        model = models.build(name, input_shape, num_classes, **hparams)
        model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    return build


def space_of(model: str) -> dict:
    """The search space's definition (names, ranges, defaults) as plain data."""
    hp = kt.HyperParameters()
    for n in range(1, 4):  # visit every conditional branch so the whole space is recorded
        hp.values["layers"] = n
        SPACES[model](hp)
    return {p["config"]["name"]: p for p in hp.get_config()["space"]}


class _Tracked:
    """Tuner mixin: records each trial's wall time and worker, and stops starting trials past a deadline."""

    deadline: float | None = None

    def run_trial(self, trial, *args, **kwargs):
        started = time.perf_counter()
        out = super().run_trial(trial, *args, **kwargs)
        path = Path(self.project_dir) / f"timings-{self.tuner_id}.json"
        done = json.loads(path.read_text()) if path.exists() else {}
        done[trial.trial_id] = {"seconds": round(time.perf_counter() - started, 1), "worker": self.tuner_id}
        files.write_json(path, done)
        return out

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.oracle.max_trials = len(self.oracle.trials)  # the oracle starts no further trial


def make_tuner(
    model: str,
    algo: str,
    *,
    max_trials: int,
    epochs: int,
    seed: int,
    directory: Path,
    project_name: str,
    fresh: bool,
    input_shape=(28, 28, 1),
    num_classes=10,
):
    """A Keras Tuner for ``model`` ("mlp" or "cnn") with ``algo``; refuses a changed search space."""
    if model not in SPACES:
        raise ValueError(f"model must be one of {sorted(SPACES)}, got {model!r}")
    if algo not in ALGORITHMS:
        raise ValueError(f"algo must be one of {sorted(ALGORITHMS)}, got {algo!r}")
    if not is_count(max_trials):
        raise ValueError(f"max_trials must be an integer >= 1, got {max_trials!r}")
    project_dir = Path(directory) / project_name
    space_file = project_dir / "search_space.json"
    space = space_of(model)
    is_chief_or_alone = os.environ.get("KERASTUNER_TUNER_ID", "chief") == "chief"
    if space_file.exists() and not fresh and json.loads(space_file.read_text()) != json.loads(json.dumps(space)):
        raise SpaceChangedError(
            f"the search space of {model!r} differs from the one project {project_dir} was started with; "
            f"start over with --fresh (deletes its trials) or use another --project name"
        )
    base = ALGORITHMS[algo]
    tuner_class = type(f"Tracked{base.__name__}", (_Tracked, base), {})
    common = dict(
        objective="val_accuracy",
        seed=seed,
        directory=str(directory),
        project_name=project_name,
        overwrite=fresh,
        hypermodel=_hypermodel(SPACES[model], input_shape, num_classes),
    )
    with contextlib.redirect_stdout(io.StringIO()) as said:  # "Reloading Tuner from <path>": a log line, not a result
        if algo == "hyperband":
            tuner = tuner_class(max_epochs=epochs, factor=3, **common)
            tuner.oracle.max_trials = max_trials
        else:
            tuner = tuner_class(max_trials=max_trials, **common)
    if said.getvalue().strip():
        log.info(said.getvalue().strip())
    if is_chief_or_alone:
        project_dir.mkdir(parents=True, exist_ok=True)
        files.write_json(space_file, space)
    return tuner


def results(tuner) -> pd.DataFrame:
    """One row per trial: id, every hyperparameter, best validation accuracy, epochs, seconds, worker, status."""
    project_dir = Path(tuner.project_dir)
    timings = {}
    for path in project_dir.glob("timings-*.json"):
        timings |= json.loads(path.read_text())
    rows = []
    for trial in tuner.oracle.trials.values():
        best_step = getattr(trial, "best_step", None)
        rows.append(
            {
                "trial_id": trial.trial_id,
                **trial.hyperparameters.values,
                "val_accuracy": trial.score,
                "epochs": None if best_step is None else int(best_step) + 1,
                "seconds": timings.get(trial.trial_id, {}).get("seconds"),
                "worker": timings.get(trial.trial_id, {}).get("worker"),
                "status": str(trial.status),
            }
        )
    return pd.DataFrame(rows).sort_values("trial_id").reset_index(drop=True) if rows else pd.DataFrame()


def search(
    model: str = "mlp",
    algo: str = "random",
    *,
    splits: Splits,
    max_trials: int = 10,
    budget_minutes: float | None = None,
    epochs: int = 3,
    batch_size: int = 128,
    seed: int = config.SEED,
    directory: Path | None = None,
    project_name: str | None = None,
    fresh: bool = False,
    verbose: int = 0,
    write: bool = True,
) -> pd.DataFrame:
    """Run (or continue) a search; returns the results table and writes it as CSV."""
    directory = Path(directory or config.cache_dir() / "tuning")
    project_name = project_name or f"{model}_{algo}"
    train.set_seed(seed)
    tuner = make_tuner(
        model,
        algo,
        max_trials=max_trials,
        epochs=epochs,
        seed=seed,
        directory=directory,
        project_name=project_name,
        fresh=fresh,
        input_shape=splits.input_shape,
        num_classes=splits.num_classes,
    )
    if budget_minutes is not None:
        if budget_minutes <= 0:
            raise ValueError(f"budget_minutes must be positive, got {budget_minutes!r}")
        tuner.deadline = time.monotonic() + 60 * budget_minutes
    tuner.search(
        splits.x_train,
        splits.y_train,
        validation_data=(splits.x_val, splits.y_val),
        epochs=epochs,
        batch_size=batch_size,
        verbose=verbose,
    )
    if os.environ.get("KERASTUNER_TUNER_ID", "chief") != "chief":
        return pd.DataFrame()  # a distributed worker: the chief's oracle holds the results
    table = results(tuner)
    if write:
        files.write_text(config.reports_dir() / "tuning" / f"{project_name}.csv", table.to_csv(index=False))
    return table


def best_configuration(model: str, table: pd.DataFrame) -> tuple[str, dict, float]:
    """(registered model name, hparams, learning rate) of the trial with the best validation accuracy."""
    best = table.dropna(subset=["val_accuracy"]).sort_values("val_accuracy", ascending=False).iloc[0]
    space = space_of(model)
    cast = {"Int": int, "Float": float, "Boolean": lambda v: str(v) in ("True", "true", "1", "1.0")}
    hp = kt.HyperParameters()
    for name, spec in space.items():  # a table row holds floats (NaN-padded columns): restore each type
        if name in best and pd.notna(best[name]):
            kind = spec["class_name"]
            value = best[name].item() if hasattr(best[name], "item") else best[name]
            if kind == "Choice":
                value = type(spec["config"]["values"][0])(value)
            hp.values[name] = cast[kind](value) if kind in cast else value
    return SPACES[model](hp)


def retrain_best(model: str, table: pd.DataFrame, splits: Splits, epochs: int, **fit_options) -> train.TrainResult:
    """Retrain the best configuration on the full training set and evaluate it once on the test set."""
    name, hparams, lr = best_configuration(model, table)
    return train.fit(
        name, splits, hparams=hparams, learning_rate=lr, epochs=epochs, label=f"tuned {model}", **fit_options
    )


def run_distributed(workers: int, tune_args: list[str], timeout: float = 3_600) -> int:
    """Start a chief oracle and ``workers`` workers on localhost (Keras Tuner's distributed mode), each
    running ``python -m digits tune <tune_args>``; wait for all. On several machines, run the same
    command on each with KERASTUNER_ORACLE_IP set to the chief's address (see docs/deploy.md)."""
    if not is_count(workers):
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base_env = os.environ | {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
    command = [sys.executable, "-m", "digits", "tune", *tune_args]
    chief = subprocess.Popen(command, env=base_env | {"KERASTUNER_TUNER_ID": "chief"})
    time.sleep(3)  # let the chief's oracle server start listening
    procs = [
        subprocess.Popen(command + ["--no-write"], env=base_env | {"KERASTUNER_TUNER_ID": f"tuner{i}"})
        for i in range(workers)
    ]
    try:
        codes = [p.wait(timeout=timeout) for p in procs] + [chief.wait(timeout=timeout)]
    finally:
        for p in [chief, *procs]:
            if p.poll() is None:
                p.kill()
    return max(codes)
