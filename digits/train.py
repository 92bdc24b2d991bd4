"""One ``fit()`` for every notebook: seeded, resumable, cached by its full configuration.

``fit(model, data, config)`` builds the registered model after seeding (so every run is
reproducible on its own), compiles it with Adam and sparse categorical cross-entropy, trains
on in-memory arrays, evaluates once on the test set and returns a :class:`TrainResult`. Every
training option lives in one frozen :class:`TrainConfig`; runs are cached under
``.cache/runs/`` keyed by the model's architecture, the options that differ from their
defaults, the exact data and the library versions, so regenerating a report does not retrain
an unchanged configuration. An interrupted run resumes from its last finished epoch (Keras
``BackupAndRestore``) and counts the training time of every epoch it trained; its dropout and
augmentation draws continue where the interrupted run's stopped, so it trains exactly as an
uninterrupted run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from filelock import FileLock, Timeout
from sklearn.metrics import log_loss

from . import config as settings
from . import evaluate, files, models
from .checks import is_count
from .data import Splits
from .layers import Augmentation

log = logging.getLogger(__name__)

LR_SCHEDULES = (None, "plateau", "cosine", "warmup_cosine")


@dataclass(frozen=True)
class TrainConfig:
    """Every option of a training run, with its default. A recipe is a named instance (``digits.recipes``).

    Args:
        hparams: the architecture's own hyperparameters (``models.hparams_of``).
        augment: training-time augmentation (``None``: none).
        deskew: straighten every input digit inside the model (``layers.Deskew``).
        lr_schedule: None (constant), "plateau" (ReduceLROnPlateau on ``monitor``), "cosine" (cosine
            decay to zero over all epochs) or "warmup_cosine" (10% warm-up from lr/10, then cosine).
        early_stopping: patience in epochs (the best weights are restored), or None.
        clipnorm: gradient clipping by global norm, or None.
        ema: keep an exponential moving average of the weights with this momentum (e.g. 0.999) and end
            training with the averaged weights (Keras' ``use_ema``), or None.
        validate: evaluate on the validation set after each epoch (early stopping and "plateau" need it).
    """

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    lr_schedule: str | None = None
    early_stopping: int | None = None
    monitor: str = "val_loss"
    clipnorm: float | None = None
    ema: float | None = None
    hparams: dict = field(default_factory=dict)
    augment: Augmentation | dict | bool | None = None
    deskew: bool = False
    seed: int = settings.SEED
    deterministic: bool = True
    validate: bool = True

    def __post_init__(self):
        object.__setattr__(self, "augment", Augmentation.of(self.augment))  # True or a dict (from JSON) as well
        for name in ("epochs", "batch_size", "early_stopping"):  # a NumPy integer keys the run cache as an int does
            if isinstance(getattr(self, name), np.integer):
                object.__setattr__(self, name, int(getattr(self, name)))
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        """What is wrong with these options, in words (empty when nothing is)."""
        out = []
        if not is_count(self.epochs):
            out.append(f"epochs must be an integer >= 1, got {self.epochs!r}")
        if not is_count(self.batch_size):
            out.append(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        if not (isinstance(self.learning_rate, (int, float)) and 0 < self.learning_rate < 10):
            out.append(f"learning_rate must be a number in (0, 10), got {self.learning_rate!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            out.append(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.early_stopping is not None and not is_count(self.early_stopping):
            out.append(f"early_stopping is a patience in epochs (integer >= 1) or None, got {self.early_stopping!r}")
        if self.clipnorm is not None and not (isinstance(self.clipnorm, (int, float)) and self.clipnorm > 0):
            out.append(f"clipnorm must be a positive number or None, got {self.clipnorm!r}")
        if self.ema is not None and not (isinstance(self.ema, float) and 0 < self.ema < 1):
            out.append(f"ema is a momentum in (0, 1), such as 0.999, or None, got {self.ema!r}")
        if not isinstance(self.hparams, dict):
            out.append(f"hparams must be a dict of the architecture's hyperparameters, got {self.hparams!r}")
        if not self.validate and (self.early_stopping or self.lr_schedule == "plateau"):
            out.append("early_stopping and lr_schedule='plateau' need validate=True")
        return out

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` (unknown option names are refused with the known ones listed)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            known = ", ".join(f.name for f in dataclasses.fields(self))
            raise ValueError(f"unknown training option(s) {unknown}; the options are: {known}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Every option as JSON-ready data (``from_dict`` reads it back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        return cls().replace(**values)

    def non_defaults(self) -> dict:
        """The options that differ from their defaults: what identifies a run in the cache, so that an
        option added later with a default leaves every earlier run's key as it was."""
        default = type(self)().to_dict()
        return {k: v for k, v in self.to_dict().items() if v != default[k]}


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
    label: str | None = None
    finished_utc: str | None = None  # when training ended (ISO 8601); None in runs cached by older versions
    run_id: str | None = None  # its name in the run cache (``fit`` sets it, cached or not)
    model: keras.Model | None = field(default=None, repr=False, compare=False)

    @property
    def test_accuracy(self) -> float:
        return self.test["accuracy"]

    @property
    def seed(self) -> int:
        return self.config.get("seed", settings.SEED)

    @property
    def train_config(self) -> TrainConfig:
        """The run's options as a TrainConfig (``config`` less what describes the run: name, data sizes, ...)."""
        return TrainConfig.from_dict({k: v for k, v in self.config.items() if k in TrainConfig.__dataclass_fields__})

    def row(self) -> dict:
        """The comparison-table row."""
        return {
            "model": self.label or self.name,
            "parameters": self.params,
            "test_accuracy": self.test["accuracy"],
            "macro_f1": self.test["macro_f1"],
            "train_seconds": round(self.train_seconds, 1),
            "epochs": self.epochs_run,
        }

    def to_dict(self) -> dict:
        """The JSON-ready fields, without the model (``dataclasses.asdict`` would deep-copy it)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}
        return out | {"history": self.history.to_dict(orient="list"), "y_pred": self.y_pred.tolist()}

    def save(self, path: str | Path) -> Path:
        """Write the result as JSON (atomically)."""
        return files.write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> TrainResult:
        raw = json.loads(Path(path).read_text())
        raw["history"] = pd.DataFrame(raw["history"])
        raw["y_pred"] = np.asarray(raw["y_pred"], dtype=np.int64)
        return cls(**raw)


class EpochClock(keras.callbacks.Callback):
    """Adds ``seconds`` (training time so far, earlier runs of a resumed run included) and ``lr`` to each
    epoch's logs."""

    def __init__(self, seconds_before: float = 0.0):
        super().__init__()
        self.seconds_before = seconds_before

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = self.seconds_before + time.perf_counter() - self.start
            logs["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class ResumeSeeds(keras.callbacks.Callback):
    """Puts every random layer's seed state (dropout, augmentation) where an uninterrupted run has it at the
    start of each epoch. A Keras backup does not hold these states, so a resumed run would otherwise repeat
    the first epochs' random draws. Each training step advances a layer's state by the same number of draws:
    one forward pass in training mode on ``probe`` (one image) counts them."""

    def __init__(self, steps_per_epoch: int, probe: np.ndarray):
        super().__init__()
        self.steps_per_epoch, self.probe = steps_per_epoch, probe

    def on_train_begin(self, logs=None):
        self.states = [v for v in self.model.non_trainable_variables if v.path.endswith("seed_generator_state")]
        before = [keras.ops.convert_to_numpy(v) for v in self.model.non_trainable_variables]
        self.initial = [keras.ops.convert_to_numpy(v) for v in self.states]
        self.model(self.probe, training=True)
        self.draws = [keras.ops.convert_to_numpy(v)[1] - i[1] for v, i in zip(self.states, self.initial, strict=True)]
        for variable, value in zip(self.model.non_trainable_variables, before, strict=True):
            variable.assign(value)  # the probe's draws and batch statistics undone

    def on_epoch_begin(self, epoch, logs=None):
        for state, initial, draws in zip(self.states, self.initial, self.draws, strict=True):
            state.assign(np.array([initial[0], initial[1] + epoch * self.steps_per_epoch * draws], dtype=state.dtype))


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow ops deterministic."""
    keras.utils.set_random_seed(seed)
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def fit(
    model: str,
    data: Splits,
    config: TrainConfig = TrainConfig(),
    *,
    label: str | None = None,
    cache: bool | None = None,
    strategy=None,
    callbacks: list | None = None,
    checkpoint: str | Path | None = None,
    csv_log: str | Path | None = None,
    tensorboard: bool | None = None,
    verbose: int | str | None = None,
    start_from: TrainResult | None = None,
    **changes,
) -> TrainResult:
    """Train the registered model ``model`` on ``data`` with ``config`` and evaluate it once on the test set.

    ``changes`` are options of :class:`TrainConfig` that replace those of ``config`` (e.g. ``epochs=3``).
    The other arguments say how to run, not what to train, and are not part of the cache key.

    Args:
        label: the name shown in tables (e.g. "cnn, no dropout").
        cache: reuse/keep the run in the run cache (default: on unless ``DIGITS_CACHE=0``).
        strategy: a ``tf.distribute`` strategy for data-parallel training.
        callbacks: extra Keras callbacks (such runs are never cached).
        checkpoint: also save the model with the best ``monitor`` value there (.keras).
        csv_log: copy the per-epoch log there.
        tensorboard: write TensorBoard logs under ``.cache/tensorboard/<run>/`` (default: ``DIGITS_TENSORBOARD``).
        start_from: a trained run of the same network (weightless layers such as ``Deskew`` may differ) whose
            weights this run starts from instead of a fresh initialisation: fine-tuning. Its run id joins the
            cache key, and its training time is not counted in this run's.
    """
    config = config.replace(**changes) if changes else config
    use_cache = (settings.cache_enabled() if cache is None else cache) and not callbacks
    keras_model = compile_model(model, data, config, strategy)
    if start_from is not None:
        _start_from(keras_model, start_from)
    run_id = _run_id(model, keras_model, config, data, start_from)
    run_dir = settings.runs_dir() / run_id if use_cache else None
    with _run_lock(run_dir):  # a process already training this run finishes first; its result is then reused
        result = _load_cached(run_dir, label)
        if result is None:
            with _workspace(run_dir) as work:
                extra = list(callbacks or []) + _tensorboard(run_id, tensorboard)
                if strategy is None:  # under a strategy, Keras creates them itself
                    _create_variables(keras_model, data)
                history = _train(keras_model, data, config, work, extra, checkpoint, verbose)
                result = _evaluate(model, keras_model, data, config, history, label)
                result.finished_utc = datetime.now(UTC).isoformat(timespec="seconds")
                if start_from is not None:
                    result.config["start_from"] = start_from.run_id
                if use_cache:
                    files.save_model(keras_model, work / "model.keras")
                    result.save(work / "result.json")
    result.run_id = run_id
    if settings.headless():  # a report shows one line per run; the per-epoch log stays in the run's history.csv
        print(run_summary(result, run_dir), flush=True)
    if csv_log:
        files.write_text(csv_log, result.history.to_csv(index=False))
    if checkpoint and not Path(checkpoint).exists():
        files.save_model(result.model, checkpoint)
    return result


def describe(cfg: TrainConfig) -> str:
    """The recipe in a few words: Adam and the options that differ from its defaults (lr 1e-3, batch 128)."""
    parts = ["Adam" if cfg.learning_rate == TrainConfig.learning_rate else f"Adam lr {cfg.learning_rate:g}"]
    parts += [f"{cfg.lr_schedule} lr"] if cfg.lr_schedule else []
    parts += [f"batch {cfg.batch_size}"] if cfg.batch_size != TrainConfig.batch_size else []
    parts += ["augmented"] if cfg.augment else []
    parts += ["deskewed"] if cfg.deskew else []
    parts += [f"clipnorm {cfg.clipnorm:g}"] if cfg.clipnorm else []
    parts += [f"EMA {cfg.ema:g}"] if cfg.ema else []
    parts += [f"early stopping {cfg.early_stopping}"] if cfg.early_stopping else []
    parts += [f"{k}={v}" for k, v in sorted(cfg.hparams.items())]
    return ", ".join(parts)


def run_summary(result: TrainResult, run_dir: Path | None = None) -> str:
    """One line for a report: model, recipe, seed, trained or taken from the run cache, time, validation and
    test accuracy, and where the per-epoch log is."""
    cfg = result.train_config
    history = result.history
    last_val = history["val_accuracy"].iloc[-1] if "val_accuracy" in history else float("nan")
    val = "no validation" if math.isnan(last_val) else f"val {last_val:.2%}"
    images = result.config.get("data_sizes", {}).get("train")
    how = "from the run cache" if result.cached else "trained"
    epochs = f"{result.epochs_run}" if result.epochs_run == cfg.epochs else f"{result.epochs_run} of {cfg.epochs}"
    where = f" · log {_shown_path(run_dir / 'history.csv')}" if run_dir is not None else ""
    return (
        f"run {result.label or result.name} · {describe(cfg)} · {f'{images:,} images · ' if images else ''}"
        f"seed {result.seed} · {epochs} epoch{'' if cfg.epochs == 1 else 's'} · "
        f"{how}, {result.train_seconds / 60:.1f} min · {val} · test {result.test_accuracy:.2%}{where}"
    )


def _shown_path(path: Path) -> str:
    """``path`` relative to the project when it is inside it."""
    try:
        return str(path.resolve().relative_to(settings.PROJ_ROOT))
    except ValueError:
        return str(path)


def compile_model(model: str, data: Splits, cfg: TrainConfig, strategy=None) -> keras.Model:
    """Seed, then build and compile the registered ``model`` for ``data`` with Adam, sparse categorical
    cross-entropy and ``cfg``'s options (inside ``strategy``'s scope when given)."""
    keras.backend.clear_session()
    set_seed(cfg.seed, cfg.deterministic)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        net = models.build(
            model, data.input_shape, data.num_classes, augment=cfg.augment, deskew=cfg.deskew, **cfg.hparams
        )
        optimizer = keras.optimizers.Adam(
            learning_rate=_learning_rate(cfg, len(data.y_train)),
            clipnorm=cfg.clipnorm,
            use_ema=cfg.ema is not None,
            ema_momentum=cfg.ema or 0.99,
        )
        net.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return net


def _create_variables(net: keras.Model, data: Splits) -> None:
    """Create the loss's, metrics' and optimizer's variables before training, with one image. Otherwise
    TensorFlow creates them while tracing the training step and then traces it a second time (1-2 s a
    run); the trained weights are the same."""
    x, y = data.x_train[:1], data.y_train[:1]
    y_pred = net(x, training=False)
    net.compute_loss(x, y, y_pred)
    net.compute_metrics(x, y, y_pred)
    net.reset_metrics()
    net.optimizer.build(net.trainable_variables)


def _learning_rate(cfg: TrainConfig, n_train: int):
    """The learning rate, or its schedule over all training steps."""
    steps = cfg.epochs * math.ceil(n_train / cfg.batch_size)
    if cfg.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(cfg.learning_rate, decay_steps=steps)
    if cfg.lr_schedule == "warmup_cosine":  # one-cycle style: 10% linear warm-up from lr/10, then cosine to 0
        warmup = max(1, steps // 10)
        return keras.optimizers.schedules.CosineDecay(
            cfg.learning_rate / 10, decay_steps=steps - warmup, warmup_target=cfg.learning_rate, warmup_steps=warmup
        )
    return cfg.learning_rate


def _start_from(net: keras.Model, parent: TrainResult) -> None:
    """Copy ``parent``'s weights into ``net`` (fine-tuning), or say why they do not fit."""
    if parent.model is None or parent.run_id is None:
        raise ValueError("start_from needs a run returned by fit() (with its model and run id)")
    try:
        net.set_weights(parent.model.get_weights())
    except ValueError as err:
        raise ValueError(
            f"cannot start {net.name} from run {parent.run_id}: its weights do not fit this network ({err}); "
            "start from a run of the same model and hyperparameters"
        ) from err


def _run_id(model: str, net: keras.Model, cfg: TrainConfig, data: Splits, start_from=None) -> str:
    """The run's name in the cache: the model's name and the start of its key."""
    return f"{model}-{_run_key(net, cfg, data, start_from)[:16]}"


def _run_key(net: keras.Model, cfg: TrainConfig, data: Splits, start_from=None) -> str:
    """sha256 of the architecture, the non-default options, the data, the library versions and the run it
    starts from, if any."""
    backend = keras.backend.backend()
    try:
        backend_version = version({"tensorflow": "tensorflow-cpu"}.get(backend, backend))
    except PackageNotFoundError:
        backend_version = version("tensorflow") if backend == "tensorflow" else "unknown"
    payload = {
        "architecture": net.to_json(),
        "options": cfg.non_defaults(),
        "data": data.fingerprint(),
        "versions": {"keras": keras.__version__, "tensorflow": backend_version, "backend": backend},
    }
    if start_from is not None:  # only then: every other run keeps its key
        payload["start_from"] = start_from.run_id
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _load_cached(run_dir: Path | None, label: str | None) -> TrainResult | None:
    """The finished run stored in ``run_dir``, or None (an unreadable entry is retrained, never trusted)."""
    if run_dir is None or not (run_dir / "result.json").is_file():
        return None
    try:
        result = TrainResult.load(run_dir / "result.json")
        result.model = keras.saving.load_model(run_dir / "model.keras")
    except Exception as err:
        log.warning("ignoring unreadable cached run %s: %s", run_dir, err)
        return None
    result.cached, result.label = True, label
    return result


def _lock_path(run_dir: Path) -> Path:
    return run_dir.parent / f"{run_dir.name}.lock"


@contextlib.contextmanager
def _run_lock(run_dir: Path | None):
    """Hold the run's lock (a file beside its folder) so that two processes, e.g. two notebooks or two test
    workers, never train the same run at once; the lock is the operating system's, so a killed process
    leaves none behind."""
    if run_dir is None:
        yield
        return
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(_lock_path(run_dir))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("run %s is being trained by another process: waiting for it to finish", run_dir.name)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def _workspace(run_dir: Path | None):
    """The run's folder in the cache (kept, so an interrupted run can resume), or a temporary one."""
    if run_dir is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield Path(tmp)
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    yield run_dir


def _tensorboard(run_id: str, enabled: bool | None) -> list:
    if not (settings.tensorboard_enabled() if enabled is None else enabled):
        return []
    return [keras.callbacks.TensorBoard(str(settings.cache_dir() / "tensorboard" / run_id))]


def _train(net, data: Splits, cfg: TrainConfig, work: Path, extra: list, checkpoint, verbose) -> pd.DataFrame:
    """Train (resuming from ``work/backup`` when an earlier attempt was interrupted); the per-epoch log."""
    log_path, backup = work / "history.csv", work / "backup"
    earlier = pd.read_csv(log_path) if backup.exists() and log_path.is_file() else None
    if earlier is None:
        log_path.unlink(missing_ok=True)  # a fresh start, not a resumed one
    seconds_before = float(earlier["seconds"].iloc[-1]) if earlier is not None and len(earlier) else 0.0
    steps = math.ceil(len(data.y_train) / cfg.batch_size)
    callbacks = [
        EpochClock(seconds_before),
        ResumeSeeds(steps, data.x_train[:1]),
        *extra,
    ]  # the clock first: later callbacks and the log see its fields
    callbacks += [keras.callbacks.BackupAndRestore(str(backup)), keras.callbacks.CSVLogger(str(log_path), append=True)]
    if cfg.early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(cfg.monitor, patience=cfg.early_stopping, restore_best_weights=True)
        )
    if cfg.lr_schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(cfg.monitor, factor=0.5, patience=2, min_lr=1e-5))
    if checkpoint:
        Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.ModelCheckpoint(str(checkpoint), monitor=cfg.monitor, save_best_only=True))
    net.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val) if cfg.validate else None,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        callbacks=callbacks,
        verbose=verbose if verbose is not None else (0 if settings.headless() else "auto"),
    )
    return pd.read_csv(log_path)


def _evaluate(name: str, net, data: Splits, cfg: TrainConfig, history: pd.DataFrame, label) -> TrainResult:
    """Test once: accuracy, macro F1, errors and log loss, with the run's history and configuration."""
    proba = evaluate.predict_proba(net, data.x_test)
    y_pred = proba.argmax(axis=1)
    test = evaluate.summary(data.y_test, y_pred)
    test["loss"] = float(log_loss(data.y_test, proba, labels=np.arange(proba.shape[1])))
    return TrainResult(
        name=name,
        config=cfg.to_dict() | {"name": name, "data_sizes": data.sizes()},
        history=history,
        test=test,
        params=models.count_params(net),
        train_seconds=float(history["seconds"].iloc[-1]),
        epochs_run=len(history),
        y_pred=y_pred.astype(np.int64),
        label=label,
        model=net,
    )


def clear_cache() -> None:
    """Delete every cached run."""
    shutil.rmtree(settings.runs_dir(), ignore_errors=True)


def ensemble(runs: list[TrainResult], data: Splits, label: str | None = None, wrap=None) -> TrainResult:
    """The mean of several trained runs' probabilities (one run: that run's model) as one result, tested
    once on ``data``'s test set; ``wrap(model)`` may turn it into another model first (e.g. a 0..99 reader
    of 0..9 models). Parameters and training seconds are the members' sums; the history is the first member's."""
    if not runs:
        raise ValueError("an ensemble needs at least one trained run")
    net = runs[0].model if len(runs) == 1 else models.ensemble([r.model for r in runs])
    net = wrap(net) if wrap else net
    y_pred = evaluate.predict_proba(net, data.x_test).argmax(axis=1)
    names = [r.label or r.name for r in runs]
    return dataclasses.replace(
        runs[0],
        name=net.name,
        config=runs[0].config | {"members": names},
        label=label or "ensemble of " + " + ".join(names),
        test=evaluate.summary(data.y_test, y_pred),
        y_pred=y_pred.astype(np.int64),
        model=net,
        params=sum(r.params for r in runs),
        train_seconds=sum(r.train_seconds for r in runs),
        epochs_run=max(r.epochs_run for r in runs),
        cached=all(r.cached for r in runs),
        run_id=None,  # made of runs, not one
    )
