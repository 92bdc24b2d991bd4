"""One registry of models by name: ``build(name, input_shape, num_classes, **hparams)``.

Every model takes raw 0..255 pixels (``Rescaling(1/255)`` is its first layer, so a saved
``.keras`` file needs no preprocessing of its own), may start with augmentation layers
(``augment=``, active only in training) and a :class:`~digits.layers.Deskew` layer, and ends in a
softmax over ``num_classes``. The reference architectures keep the names and parameter counts
their sources report.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import keras
from keras import layers

from .data import PIXEL_SCALE
from .layers import Augmentation, Deskew, Shift, augmentation

REGISTRY: dict[str, Callable] = {}
POOLING = {"max": layers.MaxPooling2D, "average": layers.AveragePooling2D, None: None}


def register(name: str):
    """Add a model body ``f(x, num_classes, **hparams) -> outputs`` to the registry."""

    def wrap(body: Callable) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        REGISTRY[name] = body
        return body

    return wrap


def available() -> list[str]:
    """Names accepted by :func:`build`."""
    return sorted(REGISTRY)


def hparams_of(name: str) -> dict:
    """The hyperparameters a model accepts, with their defaults."""
    parameters = list(inspect.signature(_lookup(name)).parameters.values())[2:]
    return {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY or p.default is not p.empty}


def _lookup(name: str) -> Callable:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(available())}") from None


def build(
    name: str,
    input_shape: tuple[int, ...] = (28, 28, 1),
    num_classes: int = 10,
    *,
    augment: Augmentation | dict | bool | None = None,
    deskew: bool = False,
    **hparams,
) -> keras.Model:
    """Build the registered model ``name`` (uncompiled).

    Args:
        augment: an :class:`~digits.layers.Augmentation` (or a dict of its settings; ``True``: the default one),
            applied in training only.
        deskew: put a :class:`~digits.layers.Deskew` layer after the augmentation, so the network only
            ever sees straightened digits.
        hparams: the architecture's own hyperparameters (:func:`hparams_of`).
    """
    body = _lookup(name)
    unknown = sorted(set(hparams) - set(hparams_of(name)))
    if unknown:
        raise ValueError(f"model {name!r} has no hyperparameter(s) {unknown}; it accepts {sorted(hparams_of(name))}")
    if not (isinstance(num_classes, int) and num_classes >= 2):
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")

    inputs = keras.Input(shape=input_shape, name="pixels")
    x = layers.Rescaling(PIXEL_SCALE, name="scale_0_1")(inputs)
    spec = Augmentation.of(augment)
    if spec:
        x = augmentation(spec)(x)
    if deskew:
        x = Deskew(name="deskew")(x)
    return keras.Model(inputs, body(x, num_classes, **hparams), name=name)


def count_params(model: keras.Model) -> int:
    """Trainable parameters (what PyTorch reports as the parameter count)."""
    return int(sum(keras.ops.size(w) for w in model.trainable_weights))


# --------------------------------------------------------------------------- building blocks


def conv_block(
    x,
    i: int,
    filters: int,
    kernel_size: int = 3,
    *,
    padding: str = "valid",
    strides: int = 1,
    activation: str = "relu",
    batch_norm: bool = False,
    pooling: str | None = "max",
    dropout: float = 0.0,
    kernel_initializer: str = "glorot_uniform",
):
    """Conv -> (BatchNorm -> ReLU, with ``batch_norm``) -> 2x2 pooling -> dropout, layers named ``conv_i``,
    ``bn_i``, ``relu_i``, ``pool_i``, ``conv_dropout_i``."""
    conv = dict(padding=padding, strides=strides, kernel_initializer=kernel_initializer, name=f"conv_{i}")
    if batch_norm:
        x = layers.Conv2D(filters, kernel_size, **conv)(x)
        x = layers.ReLU(name=f"relu_{i}")(layers.BatchNormalization(name=f"bn_{i}")(x))
    else:
        x = layers.Conv2D(filters, kernel_size, activation=activation, **conv)(x)
    if pooling:
        x = POOLING[pooling](2, name=f"pool_{i}")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"conv_dropout_{i}")(x)
    return x


def _head(x, num_classes, name="predictions"):
    return layers.Dense(num_classes, activation="softmax", name=name)(x)


def _dense_stack(x, units, dropout=0.0, activation="relu"):
    for i, n in enumerate(units, start=1):
        x = layers.Dense(n, activation=activation, name=f"dense_{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
    return x


def _flatten(x):
    return layers.Flatten(name="flatten")(x)


# --------------------------------------------------------------------------- MLPs


@register("mlp")
def mlp(x, num_classes, *, units=(128, 64), dropout=0.0, activation="relu"):
    """Flatten -> Dense(units...) -> softmax. The tuning search space builds on this."""
    return _head(_dense_stack(_flatten(x), units, dropout, activation), num_classes)


@register("mlp_baseline")
def mlp_baseline(x, num_classes):
    """Flatten -> Dense 128 -> Dense 64 -> Dense 10 (109,386 parameters on MNIST)."""
    return mlp(x, num_classes, units=(128, 64))


@register("mlp_tuned")
def mlp_tuned(x, num_classes, *, dropout=0.3):
    """784 -> 224 -> 288 -> 10, ReLU, dropout 0.3: the reference search's best MLP (243,530 parameters)."""
    return mlp(x, num_classes, units=(224, 288), dropout=dropout)


# --------------------------------------------------------------------------- reference CNNs


@register("cnn1_minimal")
def cnn1_minimal(x, num_classes, *, filters=32, kernel_size=3):
    """One Conv2D (32, 3x3) -> Flatten -> softmax."""
    return _head(_flatten(conv_block(x, 1, filters, kernel_size, pooling=None)), num_classes)


@register("cnn2_deep")
def cnn2_deep(x, num_classes):
    """Conv 32 -> Pool -> Conv 64 -> Pool -> Conv 128 (same) -> Dense 64 -> Dense 32 -> softmax (no regularisation)."""
    x = conv_block(conv_block(x, 1, 32), 2, 64)
    x = conv_block(x, 3, 128, padding="same", pooling=None)
    return _head(_dense_stack(_flatten(x), (64, 32)), num_classes)


@register("cnn3_regularized")
def cnn3_regularized(x, num_classes, *, dropout=0.5):
    """Conv 32 -> Pool -> Conv 64 -> Pool -> Dense 128 -> Dropout -> softmax (reported 99.22% test)."""
    x = conv_block(conv_block(x, 1, 32), 2, 64)
    return _head(_dense_stack(_flatten(x), (128,), dropout), num_classes)


@register("cnn_dropout")
def cnn_dropout(x, num_classes, *, conv_dropout=0.25, dense_dropout=0.5):
    """Conv 32 -> Pool -> Dropout -> Conv 64 -> Pool -> Dropout -> Dense 128 -> Dropout -> softmax."""
    x = conv_block(conv_block(x, 1, 32, dropout=conv_dropout), 2, 64, dropout=conv_dropout)
    return _head(_dense_stack(_flatten(x), (128,), dense_dropout), num_classes)


@register("cnn_wide")
def cnn_wide(x, num_classes, *, filters=(32, 192), kernel_size=3, dense_units=128, dropout=0.5, batch_norm=False):
    """Conv 32 (3x3, same) -> Pool -> Conv 192 -> Pool -> Dense 128 -> Dropout -> softmax (1,261,450 parameters).
    The CNN search space varies its filters, kernel size, dense units, dropout and batch norm."""
    for i, f in enumerate(filters, start=1):
        x = conv_block(x, i, f, kernel_size, padding="same", batch_norm=batch_norm)
    return _head(_dense_stack(_flatten(x), (dense_units,), dropout), num_classes)


@register("lenet5")
def lenet5(x, num_classes):
    """LeNet-5 (LeCun et al. 1998) with tanh and average pooling: 61,706 parameters on MNIST."""
    x = conv_block(x, 1, 6, 5, padding="same", activation="tanh", pooling="average")
    x = conv_block(x, 2, 16, 5, activation="tanh", pooling="average")
    return _head(_dense_stack(_flatten(x), (120, 84), activation="tanh"), num_classes)


@register("cnn_basic")
def cnn_basic(x, num_classes):
    """Conv 32 -> Pool -> Conv 64 -> Pool -> Dense 64 -> softmax: 121,930 parameters.

    The reference PyTorch project reports 122,570 for its basic CNN; no plain
    conv/pool/dense stack we tried reproduces that figure exactly (640 apart).
    """
    x = conv_block(conv_block(x, 1, 32), 2, 64)
    return _head(_dense_stack(_flatten(x), (64,)), num_classes)


@register("cnn_improved")
def cnn_improved(x, num_classes, *, filters=(32, 64, 128), dense_units=256, conv_dropout=0.0, dense_dropout=0.4):
    """Three blocks Conv(same) -> BatchNorm -> ReLU -> Pool (-> Dropout if ``conv_dropout``), then Dense 256 ->
    BatchNorm -> ReLU -> Dropout -> softmax, He (Kaiming) init: 391,370 trainable parameters, as the reference
    reports. Dropout after the batch-normalised conv blocks is off by default: together with augmentation
    it lowered test accuracy in our 20-epoch trials."""
    for i, f in enumerate(filters, start=1):
        x = conv_block(x, i, f, padding="same", batch_norm=True, dropout=conv_dropout, kernel_initializer="he_normal")
    x = layers.Dense(dense_units, kernel_initializer="he_normal", name="dense_1")(_flatten(x))
    x = layers.ReLU(name="relu_dense")(layers.BatchNormalization(name="bn_dense")(x))
    return _head(layers.Dropout(dense_dropout, name="dropout_dense")(x), num_classes)


@register("cnn_lean")
def cnn_lean(x, num_classes, *, filters=(32, 64, 128), dense_units=256, dense_dropout=0.4):
    """``cnn_improved`` made cheaper to train on a CPU: each block pools before it normalises, Conv(same, no
    bias) -> MaxPool -> BatchNorm -> ReLU, so batch norm and ReLU run on a quarter of the positions (ReLU
    commutes with max pooling; batch norm after the pool is a different but equally usual network). Same
    head, 391,146 trainable parameters (the convolutions' biases are gone: batch norm's shift replaces them)."""
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, 3, padding="same", use_bias=False, kernel_initializer="he_normal", name=f"conv_{i}")(x)
        x = layers.MaxPooling2D(name=f"pool_{i}")(x)
        x = layers.ReLU(name=f"relu_{i}")(layers.BatchNormalization(name=f"bn_{i}")(x))
    x = layers.Dense(dense_units, kernel_initializer="he_normal", name="dense_1")(_flatten(x))
    x = layers.ReLU(name="relu_dense")(layers.BatchNormalization(name="bn_dense")(x))
    return _head(layers.Dropout(dense_dropout, name="dropout_dense")(x), num_classes)


@register("cnn_ablation")
def cnn_ablation(x, num_classes, *, dropout=True, batch_norm=False, pooling="max", width=1.0):
    """The base CNN of the regularisation ablations: Conv 32w -> down -> Conv 64w -> down -> Dense 128w.

    Switches: ``dropout`` (0.25 after each block, 0.5 before the head), ``batch_norm`` after each
    convolution, ``pooling`` "max" (MaxPool) or "strided" (stride-2 convolutions), ``width`` multiplier.
    """
    if pooling not in ("max", "strided"):
        raise ValueError(f"pooling must be 'max' or 'strided', got {pooling!r}")
    strided = pooling == "strided"
    for i, f in enumerate((32, 64), start=1):
        x = conv_block(
            x,
            i,
            max(1, round(f * width)),
            padding="same",
            strides=2 if strided else 1,
            batch_norm=batch_norm,
            pooling=None if strided else "max",
            dropout=0.25 if dropout else 0.0,
        )
    return _head(_dense_stack(_flatten(x), (max(1, round(128 * width)),), 0.5 if dropout else 0.0), num_classes)


# --------------------------------------------------------------------------- two-digit numbers (MNIST-100)


def outer_product(tens, units, name="numbers"):
    """P(10a + b) = P_tens(a) * P_units(b): two 10-way softmax outputs as one 100-way output.

    Cross-entropy on this output is the sum of the two heads' cross-entropies, so a two-head
    model trains with the same loss and labels (0..99) as a one-head model."""
    tens = layers.Reshape((10, 1), name=f"{name}_tens")(tens)
    units = layers.Reshape((1, 10), name=f"{name}_units")(units)
    return layers.Flatten(name=name)(layers.Dot(axes=(2, 1), name=f"{name}_joint")([tens, units]))


def _pair_trunk(x, dropout):
    """Conv 32 -> Pool -> Conv 64 -> Pool -> Dense 256, dropout after each block (the MNIST-100 CNNs' shared body)."""
    x = conv_block(conv_block(x, 1, 32, dropout=dropout / 2), 2, 64, dropout=dropout / 2)
    return _dense_stack(_flatten(x), (256,), dropout)


@register("pair_cnn")
def pair_cnn(x, num_classes, *, dropout=0.5):
    """The MNIST-100 CNN with one head: the shared body -> one softmax over all ``num_classes`` numbers."""
    return _head(_pair_trunk(x, dropout), num_classes)


@register("pair_cnn_two_head")
def pair_cnn_two_head(x, num_classes, *, dropout=0.5):
    """The same body with two 10-way heads, tens digit and units digit, joined by :func:`outer_product`
    into the 100 numbers' probabilities. Reads two-digit numbers only (num_classes must be 100)."""
    if num_classes != 100:
        raise ValueError(f"pair_cnn_two_head predicts two-digit numbers: num_classes must be 100, got {num_classes}")
    x = _pair_trunk(x, dropout)
    return outer_product(_head(x, 10, name="tens"), _head(x, 10, name="units"))


def pair_model(digit_model: keras.Model, name: str = "digit_pair") -> keras.Model:
    """A 0..99 model from a 0..9 model: the digit model reads each 28x28 half of a 28x56 image;
    P(10a + b) = P_left(a) * P_right(b)."""
    inputs = keras.Input(shape=(28, 56, 1), name="pixels")
    left = digit_model(layers.Cropping2D(((0, 0), (0, 28)), name="left_half")(inputs))
    right = digit_model(layers.Cropping2D(((0, 0), (28, 0)), name="right_half")(inputs))
    return keras.Model(inputs, outer_product(left, right), name=name)


def ensemble(members: list, name: str = "ensemble") -> keras.Model:
    """One model whose output is the mean of the members' probabilities (all with the same input shape)."""
    if not members:
        raise ValueError("an ensemble needs at least one member model")
    inputs = keras.Input(shape=members[0].input_shape[1:], name="pixels")
    # each member under a name of its own: several runs of one architecture share the model's name
    outputs = [keras.Model(m.input, m.output, name=f"member_{i}_{m.name}")(inputs) for i, m in enumerate(members)]
    mean = layers.Average(name="mean_probability")(outputs) if len(outputs) > 1 else outputs[0]
    return keras.Model(inputs, mean, name=name)


TEST_TIME_SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))  # as it is, down, up, right, left


def test_time_shifts(model: keras.Model, pixels: int = 1) -> keras.Model:
    """``model`` reading each image five times, as it is and moved by ``pixels`` down, up, right and left,
    with the five probabilities averaged (test-time augmentation); the weights are ``model``'s own."""
    inputs = keras.Input(shape=model.input_shape[1:], name="pixels")
    outputs = [
        model(Shift(rows * pixels, cols * pixels, name=f"shift_{k}")(inputs))
        for k, (rows, cols) in enumerate(TEST_TIME_SHIFTS)
    ]
    return keras.Model(inputs, layers.Average(name="mean_probability")(outputs), name=f"{model.name}_shifted")


# --------------------------------------------------------------------------- benchmark recipes


@register("keras_simple_convnet")
def keras_simple_convnet(x, num_classes):
    """Keras' documented "Simple MNIST convnet" example: Conv 32 -> Pool -> Conv 64 -> Pool -> Flatten ->
    Dropout 0.5 -> softmax (34,826 parameters): the reference recipe of ``make bench``."""
    x = _flatten(conv_block(conv_block(x, 1, 32), 2, 64))
    return _head(layers.Dropout(0.5, name="dropout")(x), num_classes)


@register("cnn_fast")
def cnn_fast(x, num_classes, *, filters=(32, 64), bn_momentum=0.9):
    """The fast recipe's model, built for one pass over the data on a CPU:
    5x5 convolution with stride 2 (a quarter of the positions of a stride-1 layer) -> BatchNorm
    -> ReLU, 3x3 convolution -> max pool -> BatchNorm -> ReLU (normalising after the pool costs
    a quarter), Flatten -> softmax. Batch norm lets it train at a high learning rate; its moving
    statistics follow the weights quickly (momentum 0.9, Keras' default is 0.99), so the model is
    usable for inference after a few hundred steps rather than a few thousand."""
    if len(filters) != 2:
        raise ValueError(f"cnn_fast has two convolutions: filters must be two numbers, got {filters!r}")
    first, second = filters
    x = layers.Conv2D(first, 5, strides=2, use_bias=False, name="conv_1")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name="bn_1")(x)
    x = layers.ReLU(name="relu_1")(x)
    x = layers.Conv2D(second, 3, use_bias=False, name="conv_2")(x)
    x = layers.MaxPooling2D(name="pool_2")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, name="bn_2")(x)
    x = layers.ReLU(name="relu_2")(x)
    return _head(_flatten(x), num_classes)
