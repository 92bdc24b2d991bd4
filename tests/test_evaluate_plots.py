import numpy as np
import pandas as pd
import pytest

from digits import config, evaluate, plots, session


def test_mcnemar_counts_discordant_pairs():
    y = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    a = y.copy()
    b = y.copy()
    b[:6] = (b[:6] + 1) % 10  # B wrong on 6 that A gets right
    a[9] = 0  # A wrong on one B gets right
    out = evaluate.mcnemar(y, a, b)
    assert out["a_only"] == 6 and out["b_only"] == 1
    assert out["p_value"] == pytest.approx(0.125)  # two-sided binomial, 7 trials
    assert evaluate.mcnemar(y, y, y)["p_value"] == 1.0


def test_summary_and_per_class():
    y = np.array([0, 0, 1, 1])
    pred = np.array([0, 1, 1, 1])
    s = evaluate.summary(y, pred)
    assert s["accuracy"] == 0.75 and s["errors"] == 1
    table = evaluate.per_class(y, pred)
    assert table.loc[0, "recall"] == 0.5 and table.loc[1, "precision"] == pytest.approx(2 / 3)


def test_plateau_table():
    h = pd.DataFrame({"val_accuracy": [0.90, 0.95, 0.97, 0.9705, 0.9702]})
    row = evaluate.plateau_table({"m": h}).loc["m"]
    assert row["plateau_epoch"] == 3 and row["best_epoch"] == 4


def test_figures_are_written_under_the_notebook_folder():
    session.setup("99_test")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (40, 28, 28, 1)).astype(np.uint8)
    y = np.repeat(np.arange(10), 4)
    proba = rng.dirichlet(np.ones(10), size=40)
    history = pd.DataFrame(
        {"accuracy": [0.8, 0.9], "val_accuracy": [0.7, 0.85], "loss": [0.5, 0.3], "val_loss": [0.6, 0.4]}
    )
    plots.training_curves({"m": history}, name="curves")
    plots.generalization_gap({"m": history}, name="gap")
    plots.confusion_matrix(y, proba.argmax(1), name="cm")
    plots.misclassified_grid(x, y, proba, name="wrong")
    plots.prediction_grid(x, y, proba, name="pred")
    plots.class_distribution({"train": y}, name="dist")
    folder = config.reports_dir() / "figures" / "99_test"
    assert sorted(p.stem for p in folder.glob("*.png")) == ["cm", "curves", "dist", "gap", "pred", "wrong"]
    assert all(p.stat().st_size > 5_000 for p in folder.glob("*.png"))


def test_metrics_file_lists_each_model_once(tmp_path):
    import json
    from types import SimpleNamespace

    session.setup("98_metrics")
    row = {"parameters": 1, "test_accuracy": 0.5, "macro_f1": 0.5, "train_seconds": 1.0, "epochs": 1}
    done = "2026-11-24T08:00:00+00:00"
    result = SimpleNamespace(
        cached=False, finished_utc=done, seed=1, config={"seed": 1}, row=lambda: {"model": "m"} | row
    )
    ensemble = SimpleNamespace(
        cached=False,
        finished_utc=None,
        seed=1,
        config={"seed": 1, "members": ["m", "n"]},
        row=lambda: {"model": "e"} | row,
    )
    payload = json.loads(session.save_metrics([result, ensemble], "smoke", extra={"k": 1}).read_text())
    assert payload["models"] == {
        "m": row | {"cached": False, "finished_utc": done},
        "e": row | {"cached": False, "finished_utc": None, "members": ["m", "n"]},
    }
    assert payload["profile"] == "smoke" and payload["extra"] == {"k": 1} and payload["notebook_seconds"] >= 0


def test_metrics_file_keeps_every_seed_of_a_configuration():
    import json
    from types import SimpleNamespace

    session.setup("97_seeds")
    runs = [
        SimpleNamespace(
            cached=False,
            finished_utc=None,
            seed=seed,
            config={"seed": seed},
            row=lambda: {
                "model": "base",
                "parameters": 1,
                "test_accuracy": 0.5,
                "macro_f1": 0.5,
                "train_seconds": 1.0,
                "epochs": 1,
            },
        )
        for seed in (42, 43, 44)
    ]
    payload = json.loads(session.save_metrics(runs, "smoke").read_text())
    assert list(payload["models"]) == ["base", "base (seed 43)", "base (seed 44)"]


def test_two_digit_error_analysis():
    y_true = np.array([12, 12, 34, 99, 50])
    y_pred = np.array([12, 17, 84, 88, 50])  # right, units wrong, tens wrong, both wrong, right
    table = evaluate.position_errors({"m": y_pred}, y_true)
    assert table.loc["m"].to_dict() == pytest.approx(
        {"tens_wrong": 0.4, "units_wrong": 0.4, "any_wrong": 0.6, "both_wrong": 0.2}
    )
    grid = evaluate.number_accuracy(y_true, y_pred)
    assert grid.shape == (10, 10)
    assert grid.loc[1, 2] == 0.5 and grid.loc[5, 0] == 1.0 and grid.loc[9, 9] == 0.0
    assert np.isnan(grid.loc[0, 0])  # no test pair of that number


def test_select_ensemble_adds_members_only_while_validation_loss_falls():
    y = np.array([0, 1, 0, 1])
    good = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]])
    complementary = np.array([[0.6, 0.4], [0.4, 0.6], [0.9, 0.1], [0.1, 0.9]])
    wrong = np.array([[0.1, 0.9], [0.9, 0.1], [0.2, 0.8], [0.8, 0.2]])
    chosen = evaluate.select_ensemble({"good": good, "wrong": wrong, "complementary": complementary}, y)
    assert chosen == ["complementary", "good"]  # lowest loss first; "wrong" would raise the loss
    assert evaluate.select_ensemble({"good": good, "complementary": complementary}, y, max_members=1) == [
        "complementary"
    ]
    with pytest.raises(ValueError, match="at least one"):
        evaluate.select_ensemble({}, y)


def test_generalization_gap_is_training_minus_validation_accuracy_in_points():
    history = pd.DataFrame({"accuracy": [0.90, 0.95], "val_accuracy": [0.88, 0.96]})
    assert np.allclose(evaluate.generalization_gap(history), [2.0, -1.0])


def test_predict_proba_gives_the_same_numbers_in_one_batch_as_in_several():
    from digits import models

    model = models.build("mlp_baseline")
    x = np.random.default_rng(0).random((7, 28, 28), dtype=np.float32)
    one_batch = evaluate.predict_proba(model, x)  # predict_on_batch
    batches = evaluate.predict_proba(model, x, batch_size=3)  # predict, three batches
    assert one_batch.shape == (7, 10) and np.allclose(one_batch.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(one_batch, batches, atol=1e-6)


def test_accuracy_is_the_share_read_as_labelled():
    from digits import models

    model = models.build("mlp_baseline")
    x = np.random.default_rng(0).random((8, 28, 28), dtype=np.float32)
    read = evaluate.predict_proba(model, x).argmax(axis=1)
    wrong = (read + 1) % 10
    labels = np.where(np.arange(8) < 3, read, wrong)  # three of eight labelled as the model reads them
    assert evaluate.accuracy(model, x, labels) == pytest.approx(3 / 8)


def test_gap_to_a_published_figure_says_how_far_and_which_way():
    from digits import published

    assert published.gap(0.9912, 0.987) == "0.42 points above theirs"
    assert published.gap(0.979, 0.980) == "0.10 points below theirs"
