import dataclasses
import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from conftest import needs_real_data

from digits import config, models, recipes, train
from digits.layers import Augmentation

pytestmark = needs_real_data


def test_short_run_on_real_images_learns(small_splits):
    result = train.fit("cnn3_regularized", small_splits, epochs=3, verbose=0)
    assert result.history["val_accuracy"].iloc[-1] > 0.90
    assert result.test_accuracy > 0.90
    assert result.epochs_run == 3 and result.params == 225_034
    assert list(result.history.columns[:3]) == ["epoch", "accuracy", "loss"] or "val_loss" in result.history


def test_result_round_trips_and_cache_returns_the_same_run(small_splits, tmp_path):
    first = train.fit("mlp_baseline", small_splits, epochs=2, verbose=0, label="baseline")
    path = first.save(tmp_path / "result.json")
    again = train.TrainResult.load(path)
    assert again.test == first.test and again.params == first.params
    assert np.array_equal(again.y_pred, first.y_pred)
    assert again.history.equals(first.history)
    assert json.loads(path.read_text())["config"]["epochs"] == 2

    cached = train.fit("mlp_baseline", small_splits, epochs=2, verbose=0, label="baseline")
    assert cached.cached and not first.cached
    assert cached.test == first.test and cached.model is not None
    assert cached.finished_utc == first.finished_utc and first.finished_utc.endswith("+00:00")  # when it was trained
    retrained = train.fit("mlp_baseline", small_splits, epochs=3, verbose=0)  # another configuration
    assert not retrained.cached


def test_a_run_can_start_from_another_runs_weights(small_splits):
    parent = train.fit("mlp_baseline", small_splits, epochs=2, verbose=0)
    still = 1e-9  # a learning rate that leaves the starting weights as they are
    tuned = train.fit("mlp_baseline", small_splits, epochs=1, learning_rate=still, start_from=parent, verbose=0)
    fresh = train.fit("mlp_baseline", small_splits, epochs=1, learning_rate=still, verbose=0)
    assert np.mean(tuned.y_pred == parent.y_pred) > 0.99  # the parent's weights, not a fresh start
    assert fresh.test_accuracy < parent.test_accuracy - 0.3
    assert tuned.config["start_from"] == parent.run_id and tuned.run_id not in (parent.run_id, fresh.run_id)
    again = train.fit("mlp_baseline", small_splits, epochs=1, learning_rate=still, start_from=parent, verbose=0)
    assert again.cached and again.run_id == tuned.run_id
    straightened = train.fit("mlp_baseline", small_splits, epochs=1, deskew=True, start_from=parent, verbose=0)
    assert straightened.config["deskew"] and straightened.run_id != tuned.run_id  # Deskew has no weights: it fits
    with pytest.raises(ValueError, match="do not fit"):
        train.fit("cnn3_regularized", small_splits, epochs=1, start_from=parent, verbose=0)


def test_deskew_is_built_into_the_model_and_kept_apart_in_the_cache(small_splits):
    plain = train.fit("mlp_baseline", small_splits, epochs=1, verbose=0)
    straightened = train.fit("mlp_baseline", small_splits, epochs=1, verbose=0, deskew=True)
    assert not straightened.cached and straightened.config["deskew"] is True
    assert straightened.model.get_layer("deskew") is not None
    assert plain.config["deskew"] is False
    assert not any(layer.name == "deskew" for layer in plain.model.layers)


def test_same_seed_same_result_without_cache(small_splits):
    a = train.fit("mlp_baseline", small_splits, epochs=1, verbose=0, cache=False)
    b = train.fit("mlp_baseline", small_splits, epochs=1, verbose=0, cache=False)
    assert a.test == b.test


def test_training_step_is_traced_once_and_trains_the_same(small_splits, monkeypatch):
    traces = []
    original = keras.Model.train_step

    def counted(self, data):
        traces.append(1)
        return original(self, data)

    monkeypatch.setattr(keras.Model, "train_step", counted)
    once = train.fit("mlp_baseline", small_splits, epochs=2, verbose=0, cache=False)
    assert len(traces) == 1
    monkeypatch.setattr(train, "_create_variables", lambda net, data: None)  # variables made while tracing
    twice = train.fit("mlp_baseline", small_splits, epochs=2, verbose=0, cache=False)
    assert len(traces) == 3
    columns = ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert once.history[columns].equals(twice.history[columns]) and once.test == twice.test


def test_interrupted_run_resumes_and_counts_every_epochs_time(small_splits, monkeypatch):
    original = train.EpochClock.on_epoch_end
    calls = {"n": 0}

    def slow_then_crash(self, epoch, logs=None):
        time.sleep(0.5)  # slow epochs before the interruption: their time must still be counted
        original(self, epoch, logs)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("simulated interruption")

    monkeypatch.setattr(train.EpochClock, "on_epoch_end", slow_then_crash)
    with pytest.raises(KeyboardInterrupt):
        train.fit("mlp_baseline", small_splits, epochs=4, verbose=0)
    monkeypatch.setattr(train.EpochClock, "on_epoch_end", original)
    resumed = train.fit("mlp_baseline", small_splits, epochs=4, verbose=0)
    assert resumed.epochs_run == 4
    assert resumed.history["epoch"].tolist() == [0, 1, 2, 3]
    seconds = resumed.history["seconds"].tolist()
    assert seconds == sorted(seconds) and seconds[1] >= 1.0  # the two slow epochs before the crash
    assert resumed.train_seconds == seconds[-1] > seconds[1]


def test_a_resumed_run_trains_exactly_as_an_uninterrupted_one(small_splits, monkeypatch):
    # dropout and augmentation draw random numbers every step; a Keras backup does not hold their seed states
    config = train.TrainConfig(epochs=3, augment=Augmentation(rotation=10, translation=0.1))
    whole = train.fit("mlp_tuned", small_splits, config, verbose=0, cache=False)
    original, ended = train.EpochClock.on_epoch_end, []

    def crash_after_two_epochs(self, epoch, logs=None):
        original(self, epoch, logs)
        ended.append(epoch)
        if len(ended) == 2:
            raise KeyboardInterrupt("simulated interruption")

    monkeypatch.setattr(train.EpochClock, "on_epoch_end", crash_after_two_epochs)
    with pytest.raises(KeyboardInterrupt):
        train.fit("mlp_tuned", small_splits, config, verbose=0)
    monkeypatch.setattr(train.EpochClock, "on_epoch_end", original)
    resumed = train.fit("mlp_tuned", small_splits, config, verbose=0)
    columns = ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert resumed.history[columns].equals(whole.history[columns])
    assert resumed.test == whole.test and np.array_equal(resumed.y_pred, whole.y_pred)


def test_config_round_trips_through_json():
    cfg = recipes.get("cnn_improved", "best", epochs=40, hparams={"dense_units": 128}, deskew=True)
    again = train.TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and isinstance(again.augment, Augmentation)
    assert cfg.non_defaults() == {
        "epochs": 40,
        "lr_schedule": "cosine",
        "clipnorm": 1.0,
        "hparams": {"dense_units": 128},
        "augment": {"rotation": 10, "translation": 0.1, "zoom": 0.1, "erasing": 0.0},
        "deskew": True,
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 3


def test_cache_key_is_stable_when_an_option_with_a_default_is_added(small_splits):
    extended = dataclasses.make_dataclass(
        "Extended", [("use_ema", bool, False)], bases=(train.TrainConfig,), frozen=True
    )  # what adding an option to TrainConfig does
    model = models.build("mlp_baseline")
    base = train.TrainConfig(epochs=3, lr_schedule="cosine")
    same = extended(epochs=3, lr_schedule="cosine")
    assert train._run_key(model, same, small_splits) == train._run_key(model, base, small_splits)
    assert train._run_key(model, extended(epochs=3, lr_schedule="cosine", use_ema=True), small_splits) != (
        train._run_key(model, base, small_splits)
    )
    assert train._run_key(model, base.replace(epochs=4), small_splits) != train._run_key(model, base, small_splits)


def test_training_options_are_checked(small_splits):
    for bad in (
        {"epochs": 0},
        {"epochs": 2.5},
        {"epochs": True},
        {"batch_size": -1},
        {"learning_rate": 0},
        {"lr_schedule": "step"},
        {"early_stopping": 0},
        {"clipnorm": -1.0},
        {"ema": 1.5},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            train.fit("mlp_baseline", small_splits, **bad)
        with pytest.raises(ValueError, match=next(iter(bad))):
            train.TrainConfig(**bad)
    with pytest.raises(ValueError, match="need validate=True"):
        train.TrainConfig(early_stopping=3, validate=False)
    # A NumPy integer (from a sweep over an array) is a valid count and keys the run cache as the int does.
    model = models.build("mlp_baseline")
    numpy_config = train.TrainConfig(epochs=np.int64(3), batch_size=np.int32(64))
    assert numpy_config == train.TrainConfig(epochs=3, batch_size=64) and type(numpy_config.epochs) is int
    assert train._run_key(model, numpy_config, small_splits) == train._run_key(
        model, train.TrainConfig(epochs=3, batch_size=64), small_splits
    )


def test_every_option_runs(small_splits, tmp_path):
    result = train.fit(
        "mlp_baseline",  # the options are the model's wrapping, not its layers: the smallest model will do
        small_splits,
        epochs=2,
        verbose=0,
        augment=True,
        lr_schedule="plateau",
        early_stopping=1,
        clipnorm=1.0,
        checkpoint=tmp_path / "best.keras",
        csv_log=tmp_path / "log.csv",
    )
    assert (tmp_path / "best.keras").is_file() and (tmp_path / "log.csv").is_file()
    assert 1 <= result.epochs_run <= 2


SAME_RUN = """
import json
from digits import data, train
splits = data.mnist_splits(n_train=1_000, n_val=200, n_test=200)
result = train.fit("mlp_baseline", splits, epochs=2, verbose=0)
print(json.dumps({"cached": result.cached, "epochs": result.history["epoch"].tolist(), "pred": result.y_pred.tolist()}))
"""


def test_two_processes_asking_for_one_run_train_it_once():
    from filelock import FileLock

    from digits import data

    splits = data.mnist_splits(n_train=1_000, n_val=200, n_test=200)
    cfg = train.TrainConfig(epochs=2)
    run_dir = config.runs_dir() / train._run_id(
        "mlp_baseline", train.compile_model("mlp_baseline", splits, cfg), cfg, splits
    )
    run_dir.parent.mkdir(parents=True)
    with FileLock(train._lock_path(run_dir)):  # as if a third process were training it
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", SAME_RUN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        for proc in procs:  # each one says it waits, then waits
            seen = []
            for line in proc.stderr:
                seen.append(line)
                if "waiting for it to finish" in line:
                    break
            else:
                pytest.fail("a process did not wait for the run's lock; it wrote:\n" + "".join(seen[-20:]))
        assert all(proc.poll() is None for proc in procs)
    outputs = [json.loads(proc.communicate(timeout=300)[0].splitlines()[-1]) for proc in procs]
    assert sorted(out["cached"] for out in outputs) == [False, True]  # one trained, the other reused its run
    assert [out["epochs"] for out in outputs] == [[0, 1], [0, 1]]  # one history each, not two interleaved
    assert outputs[0]["pred"] == outputs[1]["pred"]
    assert (run_dir / "result.json").is_file()


MIRRORED = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from digits import data, train
splits = data.mnist_splits(n_train=2_000, n_val=500, n_test=500)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
result = train.fit("cnn3_regularized", splits, epochs=2, verbose=0, cache=False, strategy=strategy)
print("replicas", strategy.num_replicas_in_sync, "accuracy", result.test_accuracy)
"""


def test_data_parallel_training_on_two_logical_cpus():
    done = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True, timeout=300, env=os.environ)
    assert done.returncode == 0, done.stderr[-2000:]
    words = done.stdout.split()
    assert words[words.index("replicas") + 1] == "2"
    assert float(words[words.index("accuracy") + 1]) > 0.8


@needs_real_data
def test_ensemble_result_averages_members(small_splits):
    runs = [train.fit(name, small_splits, epochs=1, cache=False) for name in ("cnn1_minimal", "mlp_baseline")]
    result = train.ensemble(runs, small_splits)
    mean = np.mean([r.model.predict(small_splits.x_test, verbose=0) for r in runs], axis=0)
    np.testing.assert_array_equal(result.y_pred, mean.argmax(1))
    assert result.test["n"] == len(small_splits.y_test) and result.params == sum(r.params for r in runs)
    assert result.label == "ensemble of cnn1_minimal + mlp_baseline"
    with pytest.raises(ValueError, match="at least one"):
        train.ensemble([], small_splits)


def test_tensorboard_logs_go_to_one_folder_per_run(small_splits, monkeypatch):
    result = train.fit("mlp_baseline", small_splits, epochs=1, verbose=0, tensorboard=True)
    runs = list((config.cache_dir() / "tensorboard").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("mlp_baseline-")
    assert list(runs[0].rglob("events.out.tfevents.*"))
    monkeypatch.setenv("DIGITS_TENSORBOARD", "1")  # the environment turns it on for every run
    train.fit("mlp_baseline", small_splits, epochs=2, verbose=0)
    assert len(list((config.cache_dir() / "tensorboard").iterdir())) == 2
    assert result.test_accuracy > 0.5
