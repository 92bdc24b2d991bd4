"""One ``fit()`` for every notebook: seeded, resumable, cached by its full configuration.

``fit(name, data, ...)`` builds the registered model after seeding (so every model is
reproducible on its own), compiles it with Adam and sparse categorical cross-entropy,
trains on in-memory arrays, evaluates once on the test set and returns a
:class:`TrainResult`. Runs are cached under ``.cache/runs/`` keyed by a hash of the
model's architecture, every training option, the exact data and the library versions, so
regenerating a report does not retrain an unchanged configuration. An interrupted run
resumes from its last finished epoch (Keras BackupAndRestore).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from . import config, evaluate, models
from .data import Splits

LR_SCHEDULES = (None, "plateau", "cosine", "warmup_cosine")

if keras.backend.backend() == "tensorflow":  # retracing notes for each new model are noise here
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")


@dataclass
class TrainResult:
    """What one training run produced; ``save``/``load`` round-trip it through JSON."""

    name: str
    config: dict
    history: pd.DataFrame
    test: dict  # accuracy, macro_f1, loss, errors, n
    params: int
    train_seconds: float
    epochs_run: int
    y_pred: np.ndarray
    cached: bool = False
    model: keras.Model | None = field(default=None, repr=False, compare=False)

    @property
    def test_accuracy(self) -> float:
        return self.test["accuracy"]

    def row(self) -> dict:
        """The comparison-table row."""
        return {
            "model": self.config.get("label") or self.name,
            "parameters": self.params,
            "test_accuracy": self.test["accuracy"],
            "macro_f1": self.test["macro_f1"],
            "train_seconds": round(self.train_seconds, 1),
            "epochs": self.epochs_run,
        }

    def to_dict(self) -> dict:
        out = asdict(self) | {"history": self.history.to_dict(orient="list"), "y_pred": self.y_pred.tolist()}
        out.pop("model")
        return out

    def save(self, path: str | Path) -> Path:
        """Write the result as JSON (atomically)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "TrainResult":
        raw = json.loads(Path(path).read_text())
        raw["history"] = pd.DataFrame(raw["history"])
        raw["y_pred"] = np.asarray(raw["y_pred"], dtype=np.int64)
        return cls(**raw)


class _EpochClock(keras.callbacks.Callback):
    """Adds ``seconds`` (cumulative training time) and ``lr`` to each epoch's logs."""

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = time.perf_counter() - self.start
            lr = self.model.optimizer.learning_rate
            logs["lr"] = float(keras.ops.convert_to_numpy(lr))


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow ops deterministic."""
    keras.utils.set_random_seed(seed)
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def _check_options(epochs, batch_size, learning_rate, lr_schedule, early_stopping, clipnorm):
    problems = []
    if not (isinstance(epochs, int) and epochs >= 1):
        problems.append(f"epochs must be an integer >= 1, got {epochs!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        problems.append(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if not (isinstance(learning_rate, (int, float)) and 0 < learning_rate < 10):
        problems.append(f"learning_rate must be a number in (0, 10), got {learning_rate!r}")
    if lr_schedule not in LR_SCHEDULES:
        problems.append(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}")
    if early_stopping is not None and not (isinstance(early_stopping, int) and early_stopping >= 1):
        problems.append(f"early_stopping is a patience in epochs (integer >= 1) or None, got {early_stopping!r}")
    if clipnorm is not None and not (isinstance(clipnorm, (int, float)) and clipnorm > 0):
        problems.append(f"clipnorm must be a positive number or None, got {clipnorm!r}")
    if problems:
        raise ValueError("; ".join(problems))


def _run_key(model: keras.Model, options: dict, data: Splits) -> str:
    from importlib.metadata import PackageNotFoundError, version

    backend = keras.backend.backend()
    try:
        backend_version = version({"tensorflow": "tensorflow-cpu"}.get(backend, backend))
    except PackageNotFoundError:
        backend_version = version("tensorflow") if backend == "tensorflow" else "unknown"
    payload = {
        "architecture": model.to_json(),
        "options": options,
        "data": data.fingerprint(),
        "versions": {"keras": keras.__version__, "tensorflow": backend_version, "backend": backend},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def fit(
    name: str,
    data: Splits,
    *,
    hparams: dict | None = None,
    augment: bool | dict | None = None,
    deskew: bool = False,
    epochs: int = 10,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    lr_schedule: str | None = None,
    early_stopping: int | None = None,
    monitor: str = "val_loss",
    clipnorm: float | None = None,
    seed: int = config.SEED,
    deterministic: bool = True,
    label: str | None = None,
    checkpoint: str | Path | None = None,
    csv_log: str | Path | None = None,
    cache: bool | None = None,
    strategy=None,
    callbacks: list | None = None,
    validate: bool = True,
    verbose: int | str | None = None,
) -> TrainResult:
    """Train the registered model ``name`` on ``data`` and evaluate it once on the test set.

    deskew: straighten every input digit inside the model (``models.Deskew``).
    lr_schedule: None (constant), "plateau" (ReduceLROnPlateau on ``monitor``), "cosine"
    (cosine decay over all epochs) or "warmup_cosine" (10% warm-up, then cosine decay). early_stopping: patience in epochs (best weights are
    restored). clipnorm: gradient clipping by norm. checkpoint: save the best model (.keras)
    there. csv_log: copy the per-epoch log there. cache: reuse/keep the run in the run cache
    (default: on unless DIGITS_CACHE=0). strategy: a ``tf.distribute`` strategy for
    data-parallel training. label: the name shown in tables (e.g. "cnn, no dropout").
    callbacks: extra Keras callbacks (such runs are never cached). validate: evaluate on the
    validation set after each epoch (needed by early stopping and the plateau schedule).
    """
    _check_options(epochs, batch_size, learning_rate, lr_schedule, early_stopping, clipnorm)
    hparams = dict(hparams or {})
    options = {
        "name": name, "hparams": hparams, "augment": augment, "epochs": epochs, "batch_size": batch_size,
        "learning_rate": learning_rate, "lr_schedule": lr_schedule, "early_stopping": early_stopping,
        "monitor": monitor, "clipnorm": clipnorm, "seed": seed, "deterministic": deterministic,
        "optimizer": "adam", "loss": "sparse_categorical_crossentropy", "validate": validate,
    }  # fmt: skip
    if deskew:  # only when set, so the cache keys of runs without it stay what they were
        options["deskew"] = True
    if not validate and (early_stopping or lr_schedule == "plateau" or monitor.startswith("val_") and checkpoint):
        raise ValueError("early_stopping, lr_schedule='plateau' and checkpoint need validate=True")
    use_cache = (config.cache_enabled() if cache is None else cache) and not callbacks

    keras.backend.clear_session()
    set_seed(seed, deterministic)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        model = models.build(name, data.input_shape, data.num_classes, augment=augment, deskew=deskew, **hparams)
        steps = math.ceil(len(data.y_train) / batch_size)
        lr = learning_rate
        if lr_schedule == "cosine":
            lr = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps)
        elif lr_schedule == "warmup_cosine":  # one-cycle style: 10% linear warm-up from lr/10, then cosine to 0
            warmup = max(1, epochs * steps // 10)
            lr = keras.optimizers.schedules.CosineDecay(
                learning_rate / 10, decay_steps=epochs * steps - warmup, warmup_target=learning_rate, warmup_steps=warmup
            )
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=lr, clipnorm=clipnorm),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )

    run_dir = config.cache_dir() / "runs" / f"{name}-{_run_key(model, options, data)[:16]}" if use_cache else None
    if use_cache and (run_dir / "result.json").is_file():
        try:
            result = TrainResult.load(run_dir / "result.json")
            result.model, result.cached, result.config["label"] = (
                keras.saving.load_model(run_dir / "model.keras"), True, label,
            )  # fmt: skip
            _export(result, checkpoint, csv_log, run_dir)
            return result
        except Exception as err:  # an unreadable cache entry is rebuilt, never trusted
            print(f"[digits] ignoring unreadable cached run {run_dir}: {err}")

    with contextlib.ExitStack() as stack:
        work = run_dir if use_cache else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        work.mkdir(parents=True, exist_ok=True)
        backup = work / "backup"
        if not backup.exists():
            (work / "history.csv").unlink(missing_ok=True)  # a fresh start, not a resumed one
        extra = list(callbacks or [])
        callbacks = [_EpochClock(), *extra]  # the clock first: later callbacks and the log see its fields
        callbacks += [
            keras.callbacks.BackupAndRestore(str(backup)),
            keras.callbacks.CSVLogger(str(work / "history.csv"), append=True),
        ]
        if early_stopping:
            callbacks.append(keras.callbacks.EarlyStopping(monitor, patience=early_stopping, restore_best_weights=True))
        if lr_schedule == "plateau":
            callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor, factor=0.5, patience=2, min_lr=1e-5))
        if checkpoint:
            Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
            callbacks.append(keras.callbacks.ModelCheckpoint(str(checkpoint), monitor=monitor, save_best_only=True))

        started = time.perf_counter()
        model.fit(
            data.x_train, data.y_train,
            validation_data=(data.x_val, data.y_val) if validate else None,
            epochs=epochs, batch_size=batch_size, callbacks=callbacks,
            verbose=verbose if verbose is not None else (2 if config.headless() else "auto"),
        )  # fmt: skip
        train_seconds = time.perf_counter() - started

        proba = evaluate.predict_proba(model, data.x_test)
        y_pred = proba.argmax(axis=1)
        from sklearn.metrics import log_loss

        test = evaluate.summary(data.y_test, y_pred) | {
            "loss": float(log_loss(data.y_test, proba, labels=np.arange(proba.shape[1])))
        }
        history = pd.read_csv(work / "history.csv")
        result = TrainResult(
            name=name, config=options | {"label": label, "data_sizes": data.sizes()}, history=history, test=test,
            params=models.count_params(model), train_seconds=train_seconds, epochs_run=len(history),
            y_pred=y_pred.astype(np.int64), model=model,
        )  # fmt: skip
        if use_cache:
            model.save(work / "model.keras.tmp.keras")
            (work / "model.keras.tmp.keras").replace(work / "model.keras")
            result.save(work / "result.json")
        _export(result, checkpoint, csv_log, work)
    return result


def _export(result: TrainResult, checkpoint, csv_log, run_dir: Path) -> None:
    if csv_log:
        Path(csv_log).parent.mkdir(parents=True, exist_ok=True)
        result.history.to_csv(csv_log, index=False)
    if checkpoint and not Path(checkpoint).exists() and result.model is not None:
        result.model.save(checkpoint)


def clear_cache() -> None:
    """Delete every cached run."""
    shutil.rmtree(config.cache_dir() / "runs", ignore_errors=True)


def ensemble(runs: list[TrainResult], data: Splits, label: str | None = None, wrap=None) -> TrainResult:
    """The mean of several trained runs' probabilities (one run: that run's model) as one result, tested
    once on ``data``'s test set; ``wrap(model)`` may turn it into another model first (e.g. a 0..99 reader
    of 0..9 models). Parameters and training seconds are the members' sums; the history is the first member's."""
    from dataclasses import replace

    if not runs:
        raise ValueError("an ensemble needs at least one trained run")
    model = runs[0].model if len(runs) == 1 else models.ensemble([r.model for r in runs])
    model = wrap(model) if wrap else model
    y_pred = evaluate.predict_proba(model, data.x_test).argmax(axis=1)
    names = [r.config.get("label") or r.name for r in runs]
    return replace(
        runs[0], name=model.name, config=runs[0].config | {"label": label or "ensemble of " + " + ".join(names), "members": names},
        test=evaluate.summary(data.y_test, y_pred), y_pred=y_pred.astype(np.int64), model=model,
        params=sum(r.params for r in runs), train_seconds=sum(r.train_seconds for r in runs),
        epochs_run=max(r.epochs_run for r in runs), cached=all(r.cached for r in runs),
    )  # fmt: skip
