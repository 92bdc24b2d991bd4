import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REAL_DATA, needs_real_data

from digits import config, tuning

pytestmark = needs_real_data


@pytest.fixture(scope="module")
def tiny():
    from digits import data

    return data.mnist_splits(n_train=500, n_val=200, n_test=200)


def _search(tiny, tmp_path, **kw):
    options = {"splits": tiny, "max_trials": 2, "epochs": 1, "directory": tmp_path / "kt", "project_name": "p"} | kw
    return tuning.search("mlp", "random", **options)


def test_reference_values_lie_inside_the_spaces():
    mlp, cnn = tuning.space_of("mlp"), tuning.space_of("cnn")
    assert mlp["units_1"]["config"]["max_value"] >= 288 and 224 % 32 == 0 and 288 % 32 == 0
    assert 0.3 in [round(0.1 * k, 1) for k in range(6)] and mlp["dropout"]["config"]["max_value"] >= 0.3
    assert 32 in cnn["filters_1"]["config"]["values"] and 192 in cnn["filters_2"]["config"]["values"]
    assert cnn["dense_units"]["config"]["min_value"] <= 128 <= cnn["dense_units"]["config"]["max_value"]


def test_tiny_search_writes_its_table(tiny, tmp_path):
    table = _search(tiny, tmp_path)
    assert len(table) == 2 and set(table.status) == {"COMPLETED"}
    assert {"trial_id", "layers", "units_1", "dropout", "learning_rate", "val_accuracy", "seconds", "worker"} <= set(
        table
    )
    saved = pd.read_csv(config.reports_dir() / "tuning" / "p.csv")
    assert saved.trial_id.tolist() == [int(t) for t in table.trial_id]
    name, hparams, lr = tuning.best_configuration("mlp", table)
    assert name == "mlp" and len(hparams["units"]) == table.sort_values("val_accuracy").iloc[-1]["layers"]
    assert all(type(u) is int for u in hparams["units"]) and type(lr) is float  # not the table's floats
    from digits import models

    models.build(name, **hparams)  # the configuration builds


def test_restarted_search_does_not_repeat_finished_trials(tiny, tmp_path, monkeypatch):
    calls = []
    original = tuning._Tracked.run_trial

    def counting(self, trial, *args, **kwargs):
        calls.append(trial.trial_id)
        if len(calls) == 2:
            raise KeyboardInterrupt("simulated interruption during the second trial")
        return original(self, trial, *args, **kwargs)

    monkeypatch.setattr(tuning._Tracked, "run_trial", counting)
    with pytest.raises(KeyboardInterrupt):
        _search(tiny, tmp_path, max_trials=3)
    table = _search(tiny, tmp_path, max_trials=3)  # started again, same project
    assert calls[0] not in calls[1:]  # the finished first trial was not run again
    assert (table.status == "COMPLETED").sum() == 3
    more = _search(tiny, tmp_path, max_trials=3)
    assert len(calls) == 4 and more.trial_id.tolist() == table.trial_id.tolist()  # nothing left to do


def test_a_changed_search_space_is_refused(tiny, tmp_path, monkeypatch):
    _search(tiny, tmp_path, max_trials=1)
    original = tuning.SPACES["mlp"]

    def wider(hp):
        hp.Int("extra", 1, 2)
        return original(hp)

    monkeypatch.setitem(tuning.SPACES, "mlp", wider)
    with pytest.raises(tuning.SpaceChangedError, match="--fresh"):
        _search(tiny, tmp_path, max_trials=1)
    assert len(_search(tiny, tmp_path, max_trials=1, fresh=True)) == 1


def test_bad_parameters(tiny, tmp_path):
    with pytest.raises(ValueError, match="algo"):
        tuning.search("mlp", "grid", splits=tiny, directory=tmp_path)
    with pytest.raises(ValueError, match="budget_minutes"):
        _search(tiny, tmp_path, budget_minutes=0)
    for trials in (0, 2.0, True):
        with pytest.raises(ValueError, match="max_trials must be an integer >= 1"):
            _search(tiny, tmp_path, max_trials=trials)
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        tuning.run_distributed(0, [])


def test_distributed_chief_and_two_workers(tmp_path):
    env = os.environ | {"DIGITS_DATA_DIR": REAL_DATA, "DIGITS_REPORTS_DIR": str(tmp_path / "reports")}
    cmd = [
        sys.executable,
        "-m",
        "digits",
        "tune",
        "--model",
        "mlp",
        "--algo",
        "random",
        "--max-trials",
        "4",
        "--epochs",
        "1",
        "--n-train",
        "500",
        "--project",
        "dist",
        "--directory",
        str(tmp_path / "kt"),
        "--workers",
        "2",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    table = pd.read_csv(tmp_path / "reports" / "tuning" / "dist.csv")
    assert len(table) == 4 and set(table.status) == {"COMPLETED"}
    assert set(table.worker) == {"tuner0", "tuner1"}
