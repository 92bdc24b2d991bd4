"""What a reader and a user of the command line meet: one line per run in a report, guarded discussions, a
quick ``--help``, one-line errors for empty or degenerate input, the machine a regeneration ran on."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import needs_real_data

from digits import config, session, train


def _cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "digits", *args], capture_output=True, text=True, cwd=cwd or config.PROJ_ROOT
    )


def test_help_answers_without_importing_tensorflow():
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['digits', '--help']\n"
        "try:\n    runpy.run_module('digits', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=config.PROJ_ROOT)
    assert "predict" in out.stdout and out.stdout.strip().endswith("False False")


def test_tensorflow_still_loads_quietly_when_a_module_needs_it():
    probe = "import digits.models, keras; keras.ops.ones(3); print('ok')"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=config.PROJ_ROOT,
        env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "0"},
    )
    assert out.stdout.strip() == "ok"
    for startup_line in ("absl::InitializeLog", "cpu_feature_guard"):
        assert startup_line not in out.stderr


def _one_line_error(out, *phrases):
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    for phrase in phrases:
        assert phrase in lines[0]


@pytest.mark.parametrize("task, shape", [("mnist10", (0, 28, 28)), ("mnist100", (0, 28, 56))])
def test_evaluate_with_no_images_is_a_one_line_error(tmp_path, task, shape):
    np.savez(tmp_path / "none.npz", x=np.zeros(shape, np.uint8), y=np.zeros(0, np.int64))
    _one_line_error(_cli("evaluate", "--task", task, "--npz", str(tmp_path / "none.npz")), "holds no images")


@pytest.mark.parametrize(
    "args, phrase",
    [
        (["tune", "--model", "mlp", "--max-trials", "0"], "--max-trials: expected an integer >= 1, got 0"),
        (["tune", "--model", "mlp", "--epochs", "0"], "--epochs: expected an integer >= 1"),
        (["tune", "--model", "mlp", "--n-train", "5"], "--n-train: expected an integer >= 10"),
        (["tune", "--model", "mlp", "--budget-minutes", "0"], "--budget-minutes: expected a positive number"),
        (["tune", "--model", "mlp", "--workers", "-1"], "--workers: expected an integer >= 0"),
        (["tune", "--model", "mlp", "--retrain-epochs", "x"], "--retrain-epochs: expected an integer >= 0"),
        (["serve", "--port", "70000"], "--port: expected a port number 1-65535"),
        (["export", "--format", "keras", "--out", " "], "--out is empty"),
        (["predict"], "the following arguments are required: FILE"),
        (["evaluate", "--task", "mnist10"], "--npz"),
    ],
)
def test_degenerate_arguments_are_one_line_errors(args, phrase):
    _one_line_error(_cli(*args), phrase)


def test_a_claim_the_numbers_do_not_carry_stops_a_full_report_and_only_warns_elsewhere(monkeypatch):
    session.claim(True, "anything true")
    monkeypatch.setenv("DIGITS_PROFILE", "full")
    with pytest.raises(session.ClaimNotSupported, match="says that the CNN wins, but this run's numbers"):
        session.claim(False, "the CNN wins")
    monkeypatch.setenv("DIGITS_PROFILE", "smoke")
    with pytest.warns(UserWarning, match="not checked"):
        session.claim(False, "the CNN wins")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        session.claim(True, "the CNN wins")


def test_describe_says_the_recipe_in_a_few_words():
    cfg = train.TrainConfig(epochs=30, lr_schedule="cosine", clipnorm=1.0, augment=True, learning_rate=2e-3)
    assert train.describe(cfg) == "Adam lr 0.002, cosine lr, augmented, clipnorm 1"
    assert train.describe(train.TrainConfig()) == "Adam"


@needs_real_data
def test_a_report_shows_one_line_per_run_and_no_epoch_lines(small_splits, monkeypatch, capfd):
    monkeypatch.setenv("DIGITS_HEADLESS", "1")  # as under papermill
    first = train.fit("mlp_baseline", small_splits, epochs=3, seed=1, label="probe")
    again = train.fit("mlp_baseline", small_splits, epochs=3, seed=1, label="probe")
    lines = capfd.readouterr().out.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("run probe · Adam · 3,000 images · seed 1 · 3 epochs · trained, ")
    assert lines[1].startswith("run probe · Adam · 3,000 images · seed 1 · 3 epochs · from the run cache, ")
    assert f"test {first.test_accuracy:.2%}" in lines[0] and "val " in lines[0]
    assert f"log {again.run_id}" not in lines[0]  # the path, not just the id
    history = config.runs_dir() / first.run_id / "history.csv"
    assert history.is_file() and str(history.relative_to(config.cache_dir().parent)).split("/")[-1] in lines[0]
    assert len(json.loads((config.runs_dir() / first.run_id / "result.json").read_text())["history"]["loss"]) == 3
    unvalidated = train.fit("mlp_baseline", small_splits, epochs=1, validate=False, label="blind", cache=False)
    assert "no validation" in train.run_summary(unvalidated) and "nan" not in train.run_summary(unvalidated)
    for noise in ("Epoch 1/3", "/step", "loss:"):
        assert noise not in "\n".join(lines)


@needs_real_data
def test_the_calibration_times_a_real_epoch():
    from digits import machine

    measured = machine.calibrate(images=512)
    assert measured["seconds"] > 0 and "512 MNIST images" in measured["what"]
    with pytest.raises(ValueError, match="at least one batch"):
        machine.calibrate(images=10)
