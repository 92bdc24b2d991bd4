import pytest

from digits import recipes, train
from digits.layers import Augmentation


def test_each_reference_model_has_a_recipe_and_changes_win(monkeypatch):
    seen = {}

    def fake_fit(model, splits, config, **run):
        seen.update(model=model, config=config, run=run)

    monkeypatch.setattr(recipes, "train_fit", fake_fit)
    recipes.fit("cnn_improved", None, epochs=3, seed=7, label="x")
    assert seen["config"] == recipes.RECIPES["improved"].replace(epochs=3, seed=7)
    assert seen["run"] == {"label": "x"}
    recipes.fit("cnn_improved", None, "best", lr_schedule=None)
    assert seen["config"].lr_schedule is None and seen["config"].early_stopping is None
    assert recipes.get("mlp_tuned") == train.TrainConfig(lr_schedule="cosine")
    assert all(model in recipes.MODEL_RECIPES for model in ("mlp_tuned", "cnn_wide", "cnn_basic", "cnn_improved"))


def test_one_augmentation_is_shared():
    assert recipes.RECIPES["improved"].augment is recipes.AUGMENTATION == recipes.RECIPES["best"].augment
    assert recipes.AUGMENTATION == Augmentation()  # the layers' default is the recipes' augmentation


def test_unknown_recipe_or_option_names_the_known_ones():
    with pytest.raises(ValueError, match="name one of: best, cosine, fast, improved"):
        recipes.get("cnn_improved", "fastest")
    with pytest.raises(ValueError, match="no recipe None for model 'my_model'"):
        recipes.get("my_model")
    with pytest.raises(ValueError, match="unknown training option.*'epoch'.*the options are: epochs"):
        recipes.get("cnn_improved", epoch=3)
