"""The package's own Keras layers: random affine augmentation, deskewing, whole-pixel shifts and temperature
scaling, and their settings."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import keras
import numpy as np
from keras import layers


@dataclass(frozen=True)
class Augmentation:
    """Training-time augmentation: rotation in degrees, translation and zoom as fractions of the image,
    and the probability that random erasing blanks a rectangle."""

    rotation: float = 10.0
    translation: float = 0.1
    zoom: float = 0.1
    erasing: float = 0.0

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not (isinstance(value, (int, float)) and value >= 0):
                raise ValueError(f"augmentation {name} must be a number >= 0, got {value!r}")

    @classmethod
    def of(cls, value: Augmentation | dict | bool | None) -> Augmentation | None:
        """``value`` as an Augmentation: None/False for none, True for the default one, a dict of its fields."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(cls.__dataclass_fields__))
            if unknown:
                raise ValueError(f"unknown augmentation setting(s) {unknown}; known: {list(cls.__dataclass_fields__)}")
            return cls(**value)
        if isinstance(value, cls):
            return value
        raise ValueError(f"augment must be an Augmentation, a dict of its settings, True or None, got {value!r}")


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

        theta = uniform(-1.0, 1.0) * (self.rotation * math.pi / 180.0)
        scale = uniform(1.0 - self.zoom, 1.0 + self.zoom)
        tx = uniform(-self.translation, self.translation) * width
        ty = uniform(-self.translation, self.translation) * height
        cos, sin = ops.cos(theta) / scale, ops.sin(theta) / scale
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        zeros = ops.zeros_like(cos)
        # output pixel (x, y) samples input (a0 x + a1 y + a2, b0 x + b1 y + b2)
        transform = ops.stack(
            [cos, -sin, cx - cos * cx + sin * cy - tx, sin, cos, cy - sin * cx - cos * cy - ty, zeros, zeros], axis=1
        )
        return _resample(images, transform)

    def get_config(self):
        extra = {"rotation": self.rotation, "translation": self.translation, "zoom": self.zoom, "seed": self.seed}
        return super().get_config() | extra


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
        transform = keras.ops.stack([ones, alpha, -alpha * cy, zeros, ones, zeros, zeros, zeros], axis=1)
        return _resample(images, transform)


def _resample(images, transform):
    return keras.ops.image.affine_transform(
        images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0.0
    )


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
    slant_ = ops.sum(images * dx * dy, axis=(1, 2, 3)) / (ops.sum(images * dy * dy, axis=(1, 2, 3)) + 1e-6)
    return slant_, cy


def slant(images) -> np.ndarray:
    """Slant of each digit of a batch (N x H x W, any pixel scale), as :class:`Deskew` measures it:
    0 upright; negative for a digit leaning right (its top to the right), x to the right, y down."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3:
        raise ValueError(f"expected a batch of 2-D images (N x H x W), got shape {images.shape}")
    return np.asarray(_slant_and_centre_row(images[..., None])[0])


def augmentation(spec: Augmentation = Augmentation(), seed=None) -> keras.Sequential:
    """Training-time augmentation as Keras layers: one random affine resampling (black fill), then, with
    probability ``spec.erasing``, one random rectangle blanked (Keras' RandomErasing)."""
    steps = []
    if spec.rotation or spec.translation or spec.zoom:
        steps.append(RandomAffine(spec.rotation, spec.translation, spec.zoom, seed=seed, name="random_affine"))
    if spec.erasing:
        steps.append(
            layers.RandomErasing(factor=spec.erasing, scale=(0.02, 0.15), fill_value=0.0, value_range=(0, 1), seed=seed)
        )
    return keras.Sequential(steps, name="augmentation")


@keras.saving.register_keras_serializable(package="digits")
class Temperature(layers.Layer):
    """Temperature scaling of a softmax output: softmax(log p / T). T > 1 softens over-confident
    probabilities; the ranking of the classes, hence the predicted label, never changes."""

    def __init__(self, temperature: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        self.temperature = float(temperature)

    def call(self, proba):
        logp = keras.ops.log(keras.ops.clip(proba, 1e-12, 1.0))
        return keras.ops.softmax(logp / self.temperature, axis=-1)

    def get_config(self):
        return super().get_config() | {"temperature": self.temperature}


@keras.saving.register_keras_serializable(package="digits")
class Shift(layers.Layer):
    """Moves every image by whole pixels (``rows`` down, ``cols`` right; negative: up, left), wrapping round
    the border, which is blank in a digit framed like MNIST. Active at inference: test-time shifts."""

    def __init__(self, rows: int = 0, cols: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.rows, self.cols = int(rows), int(cols)

    def call(self, images):
        return keras.ops.roll(keras.ops.roll(images, self.rows, axis=1), self.cols, axis=2)

    def get_config(self):
        return super().get_config() | {"rows": self.rows, "cols": self.cols}
