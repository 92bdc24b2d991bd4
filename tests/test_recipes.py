import pytest

from digits import recipes, train


def test_each_reference_model_has_a_recipe_and_overrides_win(monkeypatch):
    seen = {}

    def fake_fit(model, splits, **options):
        seen.clear()
        seen.update(model=model, **options)

    monkeypatch.setattr(train, "fit", fake_fit)
    recipes.fit("cnn_improved", splits=None, epochs=3, seed=7)
    assert seen == {"model": "cnn_improved", **recipes.RECIPES["improved"], "epochs": 3, "seed": 7}
    recipes.fit("cnn_improved", splits=None, recipe="best", lr_schedule=None)
    assert seen["lr_schedule"] is None and "early_stopping" not in seen
    assert recipes.options("mlp_tuned") == {"lr_schedule": "cosine"}


def test_unknown_recipe_names_the_known_ones():
    with pytest.raises(ValueError, match="name one of: best, cosine, improved, improved \\+ erasing, plain"):
        recipes.options("cnn_improved", "fastest")
    with pytest.raises(ValueError, match="no recipe None for model 'my_model'"):
        recipes.options("my_model")
