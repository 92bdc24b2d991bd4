"""The training recipes the notebooks share, named once: ``recipes.fit(model, splits, epochs=...)``.

A notebook that reuses another notebook's model (06 reads 01's and 04's, 07 and 09 read 04's)
calls the same recipe, so the run cache returns the model trained there instead of training
it again, and a recipe changed here changes it everywhere.
"""
from __future__ import annotations

from . import train
from .data import Splits

# Augmentation of the improved CNN: one random affine resampling (rotation in degrees, translation
# and zoom as fractions of the image). Random erasing (one image in ten loses a rectangle) is the
# "improved + erasing" recipe, compared with this one in notebook 06 (on MNIST it did not help).
AUGMENT = {"rotation": 10, "translation": 0.1, "zoom": 0.1, "erasing": 0.0}

RECIPES = {
    "plain": {},  # Adam 1e-3, constant learning rate, batch 128
    "cosine": {"lr_schedule": "cosine"},
    "improved": {"augment": AUGMENT, "lr_schedule": "cosine", "early_stopping": 8, "clipnorm": 1.0},
    "improved + erasing": {"augment": AUGMENT | {"erasing": 0.1}, "lr_schedule": "cosine", "early_stopping": 8, "clipnorm": 1.0},
    # notebook 09: cosine decay to zero over all epochs, the last weights kept (no early stopping)
    "best": {"augment": AUGMENT, "lr_schedule": "cosine", "clipnorm": 1.0},
}

# The recipe each reference model is reported with (notebooks 01, 02, 04).
MODEL_RECIPES = {
    "mlp_baseline": "cosine", "mlp_tuned": "cosine", "cnn_dropout": "cosine", "cnn_wide": "cosine",
    "cnn1_minimal": "cosine", "cnn2_deep": "cosine", "cnn3_regularized": "cosine", "lenet5": "cosine",
    "cnn_basic": "plain", "cnn_improved": "improved", "keras_simple_convnet": "plain",
}  # fmt: skip


def options(model: str, recipe: str | None = None) -> dict:
    """The ``train.fit`` options of ``recipe`` (default: the model's own recipe)."""
    recipe = recipe or MODEL_RECIPES.get(model)
    if recipe not in RECIPES:
        known = ", ".join(sorted(RECIPES))
        raise ValueError(f"no recipe {recipe!r} for model {model!r}; name one of: {known}")
    return dict(RECIPES[recipe])


def fit(model: str, splits: Splits, *, recipe: str | None = None, **overrides) -> train.TrainResult:
    """``train.fit(model, splits)`` with the recipe's options; ``overrides`` (epochs, seed, label, ...) win."""
    return train.fit(model, splits, **(options(model, recipe) | overrides))
