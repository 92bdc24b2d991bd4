"""The training recipes, named once: each is a :class:`~digits.train.TrainConfig`.

A notebook that reuses another notebook's model (06 reads 01's and 04's, 07 and 09 read 04's)
calls the same recipe, so the run cache returns the model trained there instead of training it
again, and a recipe changed here changes it everywhere::

    recipes.fit("cnn_improved", splits, epochs=30)          # the model's own recipe ("best")
    recipes.fit("cnn_improved", splits, "best", seed=43)    # a named recipe, one option changed
    recipes.get("cnn_improved", "best")                     # its TrainConfig
    recipes.fine_tune_deskewed(run, splits, 5, "best")       # run + 5 epochs with Deskew in front
"""

from __future__ import annotations

from .checks import is_count
from .data import Splits
from .layers import Augmentation
from .train import TrainConfig, TrainResult
from .train import fit as train_fit

# One random affine resampling: rotation +-10 degrees, translation and zoom +-10%.
AUGMENTATION = Augmentation(rotation=10, translation=0.1, zoom=0.1)

RECIPES = {
    "plain": TrainConfig(),  # Adam 1e-3, constant learning rate, batch 128
    "cosine": TrainConfig(lr_schedule="cosine"),
    # cnn_improved's (notebooks 04, 06, 09): cosine decay to zero over all epochs, the last weights kept (no early
    # stopping); random erasing and early stopping gave no gain (notebook 04's "What did not help")
    "best": TrainConfig(epochs=30, augment=AUGMENTATION, lr_schedule="cosine", clipnorm=1.0),
    # cnn_lean's: the best recipe's augmentation and clipping on a network that pools before it normalises, 12
    # epochs instead of 30, a one-cycle schedule to 3e-3 (chosen on validation in notebook 09, Table 8)
    "lean": TrainConfig(epochs=12, augment=AUGMENTATION, lr_schedule="warmup_cosine", learning_rate=3e-3, clipnorm=1.0),
    # make bench: Keras' "simple MNIST convnet" example as documented (Adam, batch 128, 15 epochs) ...
    "keras example": TrainConfig(epochs=15, validate=False),
    # ... and the fast recipe: one epoch on straightened digits, 10% warm-up to a high rate, cosine to zero
    "fast": TrainConfig(epochs=1, deskew=True, learning_rate=2e-2, lr_schedule="warmup_cosine", validate=False),
}

# The recipe each reference model is reported with (notebooks 01, 02, 04).
COSINE_MODELS = [
    "mlp_baseline",
    "mlp_tuned",
    "cnn_dropout",
    "cnn_wide",
    "cnn1_minimal",
    "cnn2_deep",
    "cnn3_regularized",
]
MODEL_RECIPES = dict.fromkeys([*COSINE_MODELS, "lenet5"], "cosine") | {
    "cnn_basic": "plain",
    "keras_simple_convnet": "plain",
    "cnn_improved": "best",
    "cnn_lean": "lean",
}


def get(model: str, recipe: str | None = None, **changes) -> TrainConfig:
    """The configuration of ``recipe`` (default: the model's own recipe), with ``changes`` applied."""
    recipe = recipe or MODEL_RECIPES.get(model)
    if recipe not in RECIPES:
        known = ", ".join(sorted(RECIPES))
        raise ValueError(f"no recipe {recipe!r} for model {model!r}; name one of: {known}")
    return RECIPES[recipe].replace(**changes)


def fit(model: str, splits: Splits, recipe: str | None = None, **changes) -> TrainResult:
    """``train.fit`` with the recipe's configuration; ``changes`` replace its options (epochs, seed, ...)
    or say how to run (label, cache, verbose, ...)."""
    options = {k: changes.pop(k) for k in list(changes) if k in TrainConfig.__dataclass_fields__}
    return train_fit(model, splits, get(model, recipe, **options), **changes)


def fine_tune_deskewed(run: TrainResult, splits: Splits, epochs: int, recipe: str | None = None, **changes):
    """``run`` (a run of ``recipe``) trained ``epochs`` more with a ``Deskew`` layer in front, with its own
    recipe and seed (``Deskew`` has no weights, so the run's weights fit). Notebook 06 fine-tunes its models
    this way for USPS and notebook 09 reads the same calls, so the run cache trains each once."""
    return fit(run.name, splits, recipe, epochs=epochs, seed=run.seed, deskew=True, start_from=run, **changes)


def fit_on_budget(
    model: str, splits: Splits, images: int, recipe: str | None = None, *, epoch_images: int = 5_000, **changes
) -> TrainResult:
    """``fit`` on a budget of ``images`` training images seen in all, whatever the training set's size: the
    set is repeated (``Splits.tiled``) into epochs of at least ``min(epoch_images, images)`` images, and
    trained for as many epochs as the budget holds (at least one). Runs on 100 or 10,000 images then cost
    the same and see the same number of images."""
    if not is_count(images):
        raise ValueError(f"images (the training budget) must be an integer >= 1, got {images!r}")
    tiled = splits.tiled(min(epoch_images, int(images)))
    epochs = max(1, round(images / len(tiled.y_train)))
    return fit(model, tiled, recipe, epochs=epochs, **changes)
