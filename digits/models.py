"""One registry of models by name: ``build(name, input_shape, num_classes, **hparams)``.

Every model takes raw 0..255 pixels (``Rescaling(1/255)`` is its first layer, so a saved
``.keras`` file needs no preprocessing of its own), may start with augmentation layers
(``augment=``, active only in training), and ends in a softmax over ``num_classes``.
The reference architectures keep the names and parameter counts their sources report.
"""
from __future__ import annotations

import inspect
from typing import Callable

import keras
import numpy as np
from keras import layers

from .data import PIXEL_SCALE

REGISTRY: dict[str, Callable] = {}

DEFAULT_AUGMENTATION = {"rotation": 10.0, "translation": 0.1, "zoom": 0.1, "erasing": 0.0}


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
    body = _lookup(name)
    return {
        p.name: p.default
        for p in list(inspect.signature(body).parameters.values())[2:]
        if p.kind is p.KEYWORD_ONLY or p.default is not p.empty
    }


def _lookup(name: str) -> Callable:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(available())}") from None


@keras.saving.register_keras_serializable(package="digits")
class RandomAffine(layers.Layer):
    """Random rotation, zoom and translation as ONE affine resampling (bilinear, black fill).

    Chaining RandomRotation, RandomZoom and RandomTranslation resamples every training image
    three times and blurs it, so training digits no longer look like the crisp test digits;
    composing the three into one matrix resamples once. Active only in training.
    """

    def __init__(self, rotation=10.0, translation=0.1, zoom=0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rotation, self.translation, self.zoom, self.seed = rotation, translation, zoom, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        ops = keras.ops
        n = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]

        def uniform(low, high):
            return keras.random.uniform((n,), low, high, seed=self.seed_generator)

        theta = uniform(-1.0, 1.0) * (self.rotation * 3.141592653589793 / 180.0)
        scale = uniform(1.0 - self.zoom, 1.0 + self.zoom)
        tx, ty = uniform(-self.translation, self.translation) * width, uniform(-self.translation, self.translation) * height
        cos, sin = ops.cos(theta) / scale, ops.sin(theta) / scale
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        zeros = ops.zeros_like(cos)
        # output pixel (x, y) samples input (a0 x + a1 y + a2, b0 x + b1 y + b2)
        transform = ops.stack(
            [cos, -sin, cx - cos * cx + sin * cy - tx, sin, cos, cy - sin * cx - cos * cy - ty, zeros, zeros], axis=1
        )
        return ops.image.affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0.0)

    def get_config(self):
        return super().get_config() | {"rotation": self.rotation, "translation": self.translation, "zoom": self.zoom, "seed": self.seed}


@keras.saving.register_keras_serializable(package="digits")
class Deskew(layers.Layer):
    """Straightens slanted digits, as USPS was made ("deslanted", LeCun et al. 1989).

    From each image's moments, the slant is alpha = cov(x, y) / var(y) (x to the right, y down);
    a horizontal shear about the centre of mass removes it: output (x, y) samples input
    (x + alpha (y - cy), y). The centre of mass stays where it was. Active in training and
    inference alike, so every input (MNIST, USPS, a user's image) is straightened the same way.
    """

    def call(self, images):
        alpha, cy = _slant_and_centre_row(images)
        ones, zeros = keras.ops.ones_like(alpha), keras.ops.zeros_like(alpha)
        # output pixel (x, y) samples input (a0 x + a1 y + a2, b0 x + b1 y + b2)
        transform = keras.ops.stack([ones, alpha, -alpha * cy, zeros, ones, zeros, zeros, zeros], axis=1)
        return keras.ops.image.affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0.0)


def _slant_and_centre_row(images):
    """Per image (N x H x W x C): the slant cov(x, y) / var(y) of its ink and the row of its centre of mass."""
    ops = keras.ops
    height, width = images.shape[1], images.shape[2]
    ys = ops.reshape(ops.arange(height, dtype=images.dtype), (1, height, 1, 1))
    xs = ops.reshape(ops.arange(width, dtype=images.dtype), (1, 1, width, 1))
    mass = ops.sum(images, axis=(1, 2, 3)) + 1e-6
    cy = ops.sum(images * ys, axis=(1, 2, 3)) / mass
    cx = ops.sum(images * xs, axis=(1, 2, 3)) / mass
    dy = ys - ops.reshape(cy, (-1, 1, 1, 1))
    dx = xs - ops.reshape(cx, (-1, 1, 1, 1))
    return ops.sum(images * dx * dy, axis=(1, 2, 3)) / (ops.sum(images * dy * dy, axis=(1, 2, 3)) + 1e-6), cy


def slant(images) -> np.ndarray:
    """Slant of each digit of a batch (N x H x W, any pixel scale), as :class:`Deskew` measures it:
    0 upright; negative for a digit leaning right (its top to the right), x to the right, y down."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3:
        raise ValueError(f"expected a batch of 2-D images (N x H x W), got shape {images.shape}")
    return np.asarray(_slant_and_centre_row(images[..., None])[0])


def augmentation(rotation=10.0, translation=0.1, zoom=0.1, erasing=0.0, seed=None) -> keras.Sequential:
    """Training-time augmentation as Keras layers: one random affine resampling (rotation in
    degrees, translation and zoom as fractions of the image size, black fill), then, with
    probability ``erasing``, one random rectangle blanked (RandomErasing)."""
    steps = []
    if rotation or translation or zoom:
        steps.append(RandomAffine(rotation, translation, zoom, seed=seed, name="random_affine"))
    if erasing:
        steps.append(layers.RandomErasing(factor=erasing, scale=(0.02, 0.15), fill_value=0.0, value_range=(0, 1), seed=seed))
    return keras.Sequential(steps, name="augmentation")


def build(
    name: str,
    input_shape: tuple[int, ...] = (28, 28, 1),
    num_classes: int = 10,
    *,
    augment: bool | dict | None = None,
    deskew: bool = False,
    **hparams,
) -> keras.Model:
    """Build the registered model ``name`` (uncompiled); ``deskew`` puts a :class:`Deskew` layer
    after the augmentation, so the network only ever sees straightened digits."""
    body = _lookup(name)
    accepted = hparams_of(name)
    unknown = sorted(set(hparams) - set(accepted))
    if unknown:
        raise ValueError(f"model {name!r} has no hyperparameter(s) {unknown}; it accepts {sorted(accepted)}")
    if not (isinstance(num_classes, int) and num_classes >= 2):
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape!r}")

    inputs = keras.Input(shape=input_shape, name="pixels")
    x = layers.Rescaling(PIXEL_SCALE, name="scale_0_1")(inputs)
    if augment:
        spec = DEFAULT_AUGMENTATION | (augment if isinstance(augment, dict) else {})
        x = augmentation(**spec)(x)
    if deskew:
        x = Deskew(name="deskew")(x)
    outputs = body(x, num_classes, **hparams)
    return keras.Model(inputs, outputs, name=name)


def count_params(model: keras.Model) -> int:
    """Trainable parameters (what PyTorch reports as the parameter count)."""
    return int(sum(keras.ops.size(w) for w in model.trainable_weights))


# --------------------------------------------------------------------------- building blocks


def _head(x, num_classes, name="predictions"):
    return layers.Dense(num_classes, activation="softmax", name=name)(x)


def _dense_stack(x, units, dropout=0.0, activation="relu"):
    for i, n in enumerate(units, start=1):
        x = layers.Dense(n, activation=activation, name=f"dense_{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
    return x


# --------------------------------------------------------------------------- MLPs


@register("mlp")
def mlp(x, num_classes, *, units=(128, 64), dropout=0.0, activation="relu"):
    """Flatten -> Dense(units...) -> softmax. The tuning search space builds on this."""
    x = layers.Flatten(name="flatten")(x)
    return _head(_dense_stack(x, units, dropout, activation), num_classes)


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
    x = layers.Conv2D(filters, kernel_size, activation="relu", name="conv_1")(x)
    return _head(layers.Flatten(name="flatten")(x), num_classes)


@register("cnn2_deep")
def cnn2_deep(x, num_classes):
    """Conv 32 -> Pool -> Conv 64 -> Pool -> Conv 128 (same) -> Dense 64 -> Dense 32 -> softmax (no regularisation)."""
    x = layers.Conv2D(32, 3, activation="relu", name="conv_1")(x)
    x = layers.MaxPooling2D(name="pool_1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(name="pool_2")(x)
    x = layers.Conv2D(128, 3, padding="same", activation="relu", name="conv_3")(x)
    x = layers.Flatten(name="flatten")(x)
    return _head(_dense_stack(x, (64, 32)), num_classes)


@register("cnn3_regularized")
def cnn3_regularized(x, num_classes, *, dropout=0.5):
    """Conv 32 -> Pool -> Conv 64 -> Pool -> Dense 128 -> Dropout -> softmax (reported 99.22% test)."""
    x = layers.Conv2D(32, 3, activation="relu", name="conv_1")(x)
    x = layers.MaxPooling2D(name="pool_1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(name="pool_2")(x)
    x = layers.Flatten(name="flatten")(x)
    return _head(_dense_stack(x, (128,), dropout), num_classes)


@register("cnn_dropout")
def cnn_dropout(x, num_classes, *, conv_dropout=0.25, dense_dropout=0.5):
    """Conv 32 -> Pool -> Dropout -> Conv 64 -> Pool -> Dropout -> Dense 128 -> Dropout -> softmax."""
    x = layers.Conv2D(32, 3, activation="relu", name="conv_1")(x)
    x = layers.MaxPooling2D(name="pool_1")(x)
    x = layers.Dropout(conv_dropout, name="conv_dropout_1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(name="pool_2")(x)
    x = layers.Dropout(conv_dropout, name="conv_dropout_2")(x)
    x = layers.Flatten(name="flatten")(x)
    return _head(_dense_stack(x, (128,), dense_dropout), num_classes)


@register("cnn_wide")
def cnn_wide(x, num_classes, *, filters=(32, 192), kernel_size=3, dense_units=128, dropout=0.5, batch_norm=False):
    """Conv 32 (3x3, same) -> Pool -> Conv 192 -> Pool -> Dense 128 -> Dropout -> softmax (1,261,450 parameters).
    The CNN search space varies its filters, kernel size, dense units, dropout and batch norm."""
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, kernel_size, padding="same", activation=None if batch_norm else "relu", name=f"conv_{i}")(x)
        if batch_norm:
            x = layers.ReLU(name=f"relu_{i}")(layers.BatchNormalization(name=f"bn_{i}")(x))
        x = layers.MaxPooling2D(name=f"pool_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    return _head(_dense_stack(x, (dense_units,), dropout), num_classes)


@register("lenet5")
def lenet5(x, num_classes):
    """LeNet-5 (LeCun et al. 1998) with tanh and average pooling: 61,706 parameters on MNIST."""
    x = layers.Conv2D(6, 5, padding="same", activation="tanh", name="conv_1")(x)
    x = layers.AveragePooling2D(2, name="pool_1")(x)
    x = layers.Conv2D(16, 5, activation="tanh", name="conv_2")(x)
    x = layers.AveragePooling2D(2, name="pool_2")(x)
    x = layers.Flatten(name="flatten")(x)
    return _head(_dense_stack(x, (120, 84), activation="tanh"), num_classes)


@register("cnn_basic")
def cnn_basic(x, num_classes):
    """Conv 32 -> Pool -> Conv 64 -> Pool -> Dense 64 -> softmax: 121,930 parameters.

    The reference PyTorch project reports 122,570 for its basic CNN; no plain
    conv/pool/dense stack we tried reproduces that figure exactly (640 apart).
    """
    x = layers.Conv2D(32, 3, activation="relu", name="conv_1")(x)
    x = layers.MaxPooling2D(name="pool_1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(name="pool_2")(x)
    x = layers.Flatten(name="flatten")(x)
    return _head(_dense_stack(x, (64,)), num_classes)


@register("cnn_improved")
def cnn_improved(x, num_classes, *, filters=(32, 64, 128), dense_units=256, conv_dropout=0.0, dense_dropout=0.4):
    """Three blocks Conv(same) -> BatchNorm -> ReLU -> Pool (-> Dropout if ``conv_dropout``), then Dense 256 ->
    BatchNorm -> ReLU -> Dropout -> softmax, He (Kaiming) init: 391,370 trainable parameters, as the reference
    reports. Dropout after the batch-normalised conv blocks is off by default: together with augmentation
    it lowered test accuracy in our 20-epoch trials."""
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, 3, padding="same", kernel_initializer="he_normal", name=f"conv_{i}")(x)
        x = layers.BatchNormalization(name=f"bn_{i}")(x)
        x = layers.ReLU(name=f"relu_{i}")(x)
        x = layers.MaxPooling2D(name=f"pool_{i}")(x)
        if conv_dropout:
            x = layers.Dropout(conv_dropout, name=f"conv_dropout_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, kernel_initializer="he_normal", name="dense_1")(x)
    x = layers.BatchNormalization(name="bn_dense")(x)
    x = layers.ReLU(name="relu_dense")(x)
    x = layers.Dropout(dense_dropout, name="dropout_dense")(x)
    return _head(x, num_classes)


@register("cnn_ablation")
def cnn_ablation(x, num_classes, *, dropout=True, batch_norm=False, pooling="max", width=1.0):
    """The base CNN of the regularisation ablations: Conv 32w -> down -> Conv 64w -> down -> Dense 128w.

    Switches: ``dropout`` (0.25 after each block, 0.5 before the head), ``batch_norm`` after each
    convolution, ``pooling`` "max" (MaxPool) or "strided" (stride-2 convolutions), ``width`` multiplier.
    """
    if pooling not in ("max", "strided"):
        raise ValueError(f"pooling must be 'max' or 'strided', got {pooling!r}")
    for i, f in enumerate((32, 64), start=1):
        strides = 2 if pooling == "strided" else 1
        x = layers.Conv2D(max(1, round(f * width)), 3, strides=strides, padding="same", name=f"conv_{i}")(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"bn_{i}")(x)
        x = layers.ReLU(name=f"relu_{i}")(x)
        if pooling == "max":
            x = layers.MaxPooling2D(name=f"pool_{i}")(x)
        if dropout:
            x = layers.Dropout(0.25, name=f"conv_dropout_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    return _head(_dense_stack(x, (max(1, round(128 * width)),), 0.5 if dropout else 0.0), num_classes)


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
    for i, f in enumerate((32, 64), start=1):
        x = layers.Conv2D(f, 3, activation="relu", name=f"conv_{i}")(x)
        x = layers.MaxPooling2D(name=f"pool_{i}")(x)
        x = layers.Dropout(dropout / 2, name=f"conv_dropout_{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    return _dense_stack(x, (256,), dropout)


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


def ensemble(members: list, name: str = "ensemble") -> keras.Model:
    """One model whose output is the mean of the members' probabilities (all with the same input shape)."""
    if not members:
        raise ValueError("an ensemble needs at least one member model")
    inputs = keras.Input(shape=members[0].input_shape[1:], name="pixels")
    # each member under a name of its own: several runs of one architecture share the model's name
    outputs = [keras.Model(m.input, m.output, name=f"member_{i}_{m.name}")(inputs) for i, m in enumerate(members)]
    mean = layers.Average(name="mean_probability")(outputs) if len(outputs) > 1 else outputs[0]
    return keras.Model(inputs, mean, name=name)


# --------------------------------------------------------------------------- benchmark recipes


@register("keras_simple_convnet")
def keras_simple_convnet(x, num_classes):
    """Keras' documented "Simple MNIST convnet" example: Conv 32 -> Pool -> Conv 64 -> Pool -> Flatten ->
    Dropout 0.5 -> softmax (34,826 parameters): the reference recipe of ``make bench``."""
    x = layers.Conv2D(32, 3, activation="relu", name="conv_1")(x)
    x = layers.MaxPooling2D(name="pool_1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv_2")(x)
    x = layers.MaxPooling2D(name="pool_2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    return _head(x, num_classes)


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
    x = layers.Flatten(name="flatten")(x)
    return _head(x, num_classes)


# --------------------------------------------------------------------------- shipped models


def load_shipped(task: str = "mnist10", path=None, *, digit_path=None) -> keras.Model:
    """The model for ``task`` ("mnist10" or "mnist100"): the file at ``path``, else the shipped one.
    Without a shipped 0-99 model, "mnist100" is the digit model (``digit_path`` or the shipped one)
    applied to each half."""
    from pathlib import Path

    from . import config

    if task not in config.SHIPPED_MODELS:
        raise ValueError(f"task must be one of {sorted(config.SHIPPED_MODELS)}, got {task!r}")
    model_path = Path(path) if path else config.SHIPPED_MODELS[task]
    if model_path.is_file():
        try:
            return keras.saving.load_model(model_path)
        except Exception as err:
            raise ValueError(f"{model_path} is not a loadable Keras model ({err})") from err
    if path is None and task == "mnist100":
        from .mnist100 import pair_model

        return pair_model(load_shipped("mnist10", digit_path))
    hint = "" if path else f" Train it with `{config.MAKES_SHIPPED_MODEL[task]}`."
    raise FileNotFoundError(f"no model file at {model_path}.{hint}")
