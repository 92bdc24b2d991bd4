import numpy as np
import pytest

from digits import data, recipes, train
from digits.layers import Augmentation


def test_each_reference_model_has_a_recipe_and_changes_win(monkeypatch):
    seen = {}

    def fake_fit(model, splits, config, **run):
        seen.update(model=model, config=config, run=run)

    monkeypatch.setattr(recipes, "train_fit", fake_fit)
    recipes.fit("cnn_improved", None, epochs=3, seed=7, label="x")
    assert seen["config"] == recipes.RECIPES["best"].replace(epochs=3, seed=7)
    assert seen["run"] == {"label": "x"}
    recipes.fit("cnn_improved", None, "cosine", epochs=5)  # a named recipe instead of the model's own
    assert seen["config"] == train.TrainConfig(lr_schedule="cosine", epochs=5)
    recipes.fit("cnn_improved", None, lr_schedule=None)
    assert seen["config"].lr_schedule is None and seen["config"].augment is recipes.AUGMENTATION
    assert recipes.get("mlp_tuned") == train.TrainConfig(lr_schedule="cosine")
    assert all(model in recipes.MODEL_RECIPES for model in ("mlp_tuned", "cnn_wide", "cnn_basic", "cnn_improved"))


def test_one_augmentation_is_shared():
    assert recipes.RECIPES["best"].augment is recipes.AUGMENTATION
    assert recipes.AUGMENTATION == Augmentation()  # the layers' default is the recipes' augmentation


def test_unknown_recipe_or_option_names_the_known_ones():
    with pytest.raises(ValueError, match="name one of: best, cosine, fast, keras example, lean, plain"):
        recipes.get("cnn_improved", "fastest")
    with pytest.raises(ValueError, match="no recipe None for model 'my_model'"):
        recipes.get("my_model")
    with pytest.raises(ValueError, match="unknown training option.*'epoch'.*the options are: epochs"):
        recipes.get("cnn_improved", epoch=3)


@pytest.mark.parametrize(
    ("n_train", "budget", "epoch_len", "epochs"),
    [
        (100, 30_000, 5_000, 6),
        (300, 30_000, 5_100, 6),
        (3_000, 30_000, 6_000, 5),
        (10_000, 30_000, 10_000, 3),
        (100, 3_000, 3_000, 1),
        (1_000, 500, 1_000, 1),
    ],
)
def test_a_budget_of_images_sets_the_epochs_whatever_the_training_set_size(
    monkeypatch, n_train, budget, epoch_len, epochs
):
    seen = {}

    def fake_fit(model, splits, config, **run):
        seen.update(n=len(splits.y_train), epochs=config.epochs, seed=config.seed, run=run)

    monkeypatch.setattr(recipes, "train_fit", fake_fit)
    x, y = np.zeros((n_train, 2, 2, 1), np.uint8), np.arange(n_train) % 10
    splits = data.Splits(x, y, x[:10], y[:10], x[:10], y[:10])
    recipes.fit_on_budget("mlp_tuned", splits, budget, seed=3, label="x")
    assert seen == {"n": epoch_len, "epochs": epochs, "seed": 3, "run": {"label": "x"}}
    assert abs(epoch_len * epochs - budget) <= max(budget, epoch_len) / 2  # about the budget, never far off
    with pytest.raises(ValueError, match="images \\(the training budget\\) must be an integer >= 1"):
        recipes.fit_on_budget("mlp_tuned", splits, 0)


def test_a_deskew_fine_tune_continues_the_run_with_its_recipe_and_seed(monkeypatch):
    seen = {}

    def fake_fit(model, splits, config, **run):
        seen.update(model=model, config=config, run=run)

    monkeypatch.setattr(recipes, "train_fit", fake_fit)
    parent = train.TrainResult("cnn_improved", {"seed": 43}, None, {}, 0, 0.0, 30, np.array([]), run_id="p")
    recipes.fine_tune_deskewed(parent, None, 5, "best", label="x")
    assert seen["model"] == "cnn_improved"
    assert seen["config"] == recipes.RECIPES["best"].replace(epochs=5, seed=43, deskew=True)
    assert seen["run"] == {"start_from": parent, "label": "x"}


def test_the_lean_recipe_trains_and_repeats_itself_exactly(small_splits):
    """The cheaper recipe (cnn_lean, augmentation, clipping, its schedule) learns on a small subset and two runs
    with one seed give the same model."""
    s = small_splits
    subset = data.Splits(
        s.x_train[:1280], s.y_train[:1280], s.x_val[:256], s.y_val[:256], s.x_test[:256], s.y_test[:256]
    )
    runs = [recipes.fit("cnn_lean", subset, epochs=2, cache=False, verbose=0) for _ in range(2)]
    assert runs[0].config["augment"] and runs[0].config["lr_schedule"] == "warmup_cosine"
    history = runs[0].history
    assert history["loss"].iloc[1] < history["loss"].iloc[0] and history["accuracy"].iloc[1] > 0.5
    assert runs[0].test == runs[1].test and np.array_equal(runs[0].y_pred, runs[1].y_pred)
    assert runs[0].history[["loss", "val_loss"]].equals(runs[1].history[["loss", "val_loss"]])
