"""What a network looks at: first-layer weights, feature maps, saliency and Grad-CAM maps, and the
learned representation of its penultimate layer (t-SNE, silhouette)."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers
from scipy import ndimage
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score


def _as_batch(images) -> np.ndarray:
    images = np.asarray(images, np.float32)
    return images[..., None] if images.ndim == 3 else images


def first_layer_weights(model: keras.Model) -> np.ndarray:
    """The first trainable layer's weights as images: a CNN's first kernels (F x kh x kw) or an MLP's first
    Dense weights, one input-shaped image per unit (U x H x W)."""
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            return np.moveaxis(layer.get_weights()[0][..., 0, :], -1, 0)
        if isinstance(layer, layers.Dense):
            height, width = model.input_shape[1:3]
            return np.moveaxis(layer.get_weights()[0], -1, 0).reshape(-1, height, width)
    raise ValueError(f"{model.name} has no Conv2D or Dense layer")


def feature_maps(model: keras.Model, image) -> dict[str, np.ndarray]:
    """The activations of every convolution and pooling layer for one image: {layer name: H x W x C}."""
    chosen = [layer for layer in model.layers if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D, layers.ReLU))]
    if not chosen:
        raise ValueError(f"{model.name} has no convolutional layers")
    probe = keras.Model(model.input, [layer.output for layer in chosen])
    outputs = probe(_as_batch(np.asarray(image)[None]), training=False)
    return {layer.name: np.asarray(out)[0] for layer, out in zip(chosen, outputs, strict=True)}


def _gradients(model: keras.Model, images, classes, inner: keras.layers.Layer | None = None):
    """Each image's class score differentiated with respect to the input, or to ``inner``'s output: (that
    tensor, its gradient). The score is the logit of the final softmax layer, which does not saturate the
    way a probability of 0.9999 does."""
    import tensorflow as tf  # gradients need the backend's own machinery (the project runs on TensorFlow)

    head = model.layers[-1]
    if not isinstance(head, layers.Dense):
        raise ValueError(f"{model.name} must end in a Dense softmax layer to be explained")
    x = tf.convert_to_tensor(_as_batch(images))
    probe = keras.Model(model.input, [inner.output, head.input] if inner is not None else head.input)
    with tf.GradientTape() as tape:
        tape.watch(x)
        activations, features = probe(x, training=False) if inner is not None else (x, probe(x, training=False))
        logits = tf.matmul(features, head.kernel) + head.bias
        picked = tf.gather(logits, tf.convert_to_tensor(classes), axis=1, batch_dims=1)
    return np.asarray(activations), np.asarray(tape.gradient(picked, activations))


def _classes(model, images, classes):
    if classes is None:
        return np.asarray(model.predict(_as_batch(images), verbose=0)).argmax(axis=1)
    return np.asarray(classes)


def saliency(model: keras.Model, images, classes=None) -> np.ndarray:
    """|d p(class) / d pixel| for each image (N x H x W); ``classes`` default to the predicted ones."""
    _, grads = _gradients(model, images, _classes(model, images, classes))
    return np.abs(grads).max(axis=-1)


def last_conv_layer(model: keras.Model) -> keras.layers.Layer:
    """The last convolution's activated output (a Conv2D with its activation, or the ReLU after it)."""
    spatial = [
        layer
        for layer in model.layers
        if isinstance(layer, (layers.Conv2D, layers.ReLU, layers.Activation)) and len(layer.output.shape) == 4
    ]
    if not spatial:
        raise ValueError(f"a class activation map needs a convolutional layer; {model.name} has none")
    return spatial[-1]


def grad_cam(model: keras.Model, images, classes=None, layer: str | None = None) -> np.ndarray:
    """Class activation maps of the last convolutional layer, resized to the input (N x H x W, each scaled
    to a maximum of 1).

    Grad-CAM (Selvaraju et al., 2017) weights each feature map by its spatially averaged gradient; behind
    a Flatten -> Dense head, whose weights differ at every position, that average cancels out and often
    leaves an empty map. So each position is weighted by its own positive gradient, as LayerCAM (Jiang et
    al., 2021) generalises Grad-CAM: map = sum over channels of ReLU(d score / d A) * A.
    """
    inner = model.get_layer(layer) if layer else last_conv_layer(model)
    activations, grads = _gradients(model, images, _classes(model, images, classes), inner)
    cams = (np.maximum(grads, 0.0) * np.maximum(activations, 0.0)).sum(axis=-1)
    height, width = model.input_shape[1:3]
    out = np.stack([ndimage.zoom(c, (height / c.shape[0], width / c.shape[1]), order=1) for c in cams])
    peak = out.max(axis=(1, 2), keepdims=True)
    return np.divide(out, peak, out=np.zeros_like(out), where=peak > 0)


def penultimate(model: keras.Model, images, batch_size: int = 1024) -> np.ndarray:
    """The representation the classifier reads: the input of the last Dense layer (N x features)."""
    head = [layer for layer in model.layers if isinstance(layer, layers.Dense)][-1]
    probe = keras.Model(model.input, head.input)
    return np.asarray(probe.predict(_as_batch(images), batch_size=batch_size, verbose=0)).reshape(len(images), -1)


def embed(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """A 2-D t-SNE map of ``features`` (scikit-learn, PCA initialisation, seeded)."""
    return TSNE(n_components=2, init="pca", random_state=seed, perplexity=30).fit_transform(features)


def separability(features: np.ndarray, labels) -> float:
    """Silhouette score of the classes in ``features`` (-1..1; higher: tighter, better separated classes)."""
    return float(silhouette_score(features, labels))
