"""Figures. Each function returns a Matplotlib figure and, given ``name``, saves it as
``reports/figures/<notebook>/<name>.png`` (the notebook is the one named in ``digits.setup``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from . import evaluate, files, session


def save(fig, name: str) -> Path:
    """Save ``fig`` under the current notebook's figure folder; returns the path."""
    path = session.figures_dir() / f"{name}.png"
    with files.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    return path


def _finish(fig, name):
    fig.tight_layout()
    if name:
        save(fig, name)
    return fig


def _squeeze(images):
    images = np.asarray(images)
    return images[..., 0] if images.ndim == 4 else images


def digit_grid(images, titles=None, ncols: int = 10, title: str | None = None, name: str | None = None, colors=None):
    """Images in a grid, white digits on black, each with an optional title."""
    images = _squeeze(images)
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    width = 1.3 * ncols * (images.shape[2] / images.shape[1]) if n else 4
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 1.45 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap="gray", vmin=0, vmax=255 if images.max() > 1 else 1)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8, color=(colors[i] if colors is not None else "black"))
    if title:
        fig.suptitle(title)
    return _finish(fig, name)


def samples_per_class(x, y, per_class: int = 10, name: str | None = None, seed: int = 0):
    """``per_class`` random examples of each class, one row per class."""
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    idx = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes])
    return digit_grid(x[idx], [str(int(v)) for v in y[idx]], ncols=per_class, name=name)


def class_distribution(labels_by_split: dict, name: str | None = None):
    """Bar chart of class counts for each split (e.g. {"train": y_train, "test": y_test})."""
    frame = pd.concat([pd.DataFrame({"class": np.asarray(y), "split": split}) for split, y in labels_by_split.items()])
    fig, ax = plt.subplots(figsize=(8, 3.5))
    sns.countplot(data=frame, x="class", hue="split", ax=ax)
    ax.set_title("Examples per class")
    return _finish(fig, name)


def pixel_histograms(arrays: dict, name: str | None = None, bins: int = 50):
    """Histogram of pixel values for each array (e.g. raw vs normalised), log-scaled counts."""
    fig, axes = plt.subplots(1, len(arrays), figsize=(4.5 * len(arrays), 3.2), squeeze=False)
    for ax, (label, values) in zip(axes.flat, arrays.items(), strict=False):
        ax.hist(np.ravel(values), bins=bins, log=True)
        ax.set_title(label)
        ax.set_xlabel("pixel value")
    axes.flat[0].set_ylabel("count (log)")
    return _finish(fig, name)


def mean_images(x, y, name: str | None = None):
    """The mean image of each class."""
    x = _squeeze(x).astype(np.float32)
    classes = np.unique(y)
    means = np.stack([x[y == c].mean(axis=0) for c in classes])
    return digit_grid(means, [f"mean {int(c)}" for c in classes], ncols=len(classes), name=name)


def training_curves(histories: dict, name: str | None = None):
    """Loss and accuracy per epoch, train (solid) vs validation (dashed), for one or more runs."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    palette = sns.color_palette(n_colors=len(histories))
    for color, (label, h) in zip(palette, histories.items(), strict=False):
        epochs = np.arange(1, len(h) + 1)
        for ax, metric in zip(axes, ("loss", "accuracy"), strict=False):
            ax.plot(epochs, h[metric], color=color, label=f"{label} train")
            ax.plot(epochs, h[f"val_{metric}"], color=color, linestyle="--", label=f"{label} val")
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=False):
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(f"{metric}: train (solid) vs validation (dashed)")
    axes[1].legend(fontsize=7, ncol=2)
    return _finish(fig, name)


def generalization_gap(histories: dict, name: str | None = None):
    """Train minus validation accuracy per epoch: above zero means the model fits train better."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for label, h in histories.items():
        ax.plot(np.arange(1, len(h) + 1), evaluate.generalization_gap(h), marker="o", label=label)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("train − validation accuracy (points)")
    ax.set_title("Generalisation gap")
    ax.legend(fontsize=8)
    return _finish(fig, name)


def confusion_matrix(y_true, y_pred, title: str = "Confusion matrix", name: str | None = None, num_classes=None):
    """Seaborn heatmap of the confusion matrix (counts; rows true, columns predicted)."""
    cm = evaluate.confusion(y_true, y_pred, num_classes)
    big = cm.shape[0] > 20
    fig, ax = plt.subplots(figsize=(10, 9) if big else (5.5, 4.8))
    sns.heatmap(cm, annot=not big, fmt="d", cmap="Blues", cbar=big, ax=ax, norm=None)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return _finish(fig, name)


def number_accuracy(y_true, y_pred, title: str = "Accuracy per number", name: str | None = None):
    """Two-digit numbers: accuracy of each number 0..99 as a 10 x 10 heatmap (rows tens, columns units)."""
    table = evaluate.number_accuracy(y_true, y_pred)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    sns.heatmap(
        100 * table,
        annot=True,
        fmt=".0f",
        cmap="RdYlGn",
        vmin=100 * np.nanmin(table.values),
        vmax=100,
        ax=ax,
        cbar_kws={"label": "accuracy (%)"},
    )
    ax.set_title(title)
    return _finish(fig, name)


def prediction_grid(x, y_true, proba, n: int = 20, name: str | None = None, seed: int = 0):
    """Random test images titled "pred (confidence)", red where the prediction is wrong."""
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(y_true), size=min(n, len(y_true)), replace=False))
    pred = proba[idx].argmax(axis=1)
    titles = [f"{p} ({proba[i, p]:.0%})" for i, p in zip(idx, pred, strict=False)]
    colors = ["black" if p == t else "red" for p, t in zip(pred, np.asarray(y_true)[idx], strict=False)]
    return digit_grid(x[idx], titles, title="Sample predictions", name=name, colors=colors)


def misclassified_grid(x, y_true, proba, n: int | None = 30, name: str | None = None):
    """Misclassified images, most confident mistakes first, titled "true→pred (confidence)"."""
    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != np.asarray(y_true))
    wrong = wrong[np.argsort(-proba[wrong, pred[wrong]])][:n]
    titles = [f"{y_true[i]}→{pred[i]} ({proba[i, pred[i]]:.0%})" for i in wrong]
    title = f"Misclassified: {len(wrong)} shown of {int(np.sum(pred != np.asarray(y_true)))}"
    return digit_grid(x[wrong], titles, title=title, name=name, colors=["red"] * len(wrong))


def metric_bars(
    table: pd.DataFrame,
    column: str = "test_accuracy",
    error: str | None = None,
    name: str | None = None,
    title: str | None = None,
):
    """Horizontal bars of one column of a comparison table (optional error column, e.g. sd)."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(table) + 1.2))
    ax.barh(table.index.astype(str), table[column], xerr=table[error] if error else None, color="tab:blue")
    lo = float((table[column] - (table[error] if error else 0)).min())
    ax.set_xlim(max(0.0, lo - 0.01), min(1.0, float(table[column].max()) + 0.005) if table[column].max() <= 1 else None)
    ax.set_xlabel(column)
    ax.invert_yaxis()
    ax.set_title(title or column)
    return _finish(fig, name)


def grouped_bars(table: pd.DataFrame, x: str, hue: str, y: str, name: str | None = None, title: str | None = None):
    """Bars of ``y`` grouped by ``x``, one colour per ``hue`` (a long table), each bar labelled with its value."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    sns.barplot(data=table, x=x, y=y, hue=hue, ax=ax)
    for bars in ax.containers:
        ax.bar_label(bars, fmt="{:.1%}", fontsize=8, padding=2)
    ax.set_ylim(max(0.0, float(table[y].min()) - 0.1), 1.02)
    ax.set_title(title or y)
    ax.legend(loc="lower right")
    return _finish(fig, name)


def image_predictions(raw_images: dict, prepared: dict, predictions: dict, name: str | None = None):
    """One column per file: the image as handed in, what the model saw, and its prediction."""
    files = list(raw_images)
    fig, axes = plt.subplots(2, len(files), figsize=(2.3 * len(files), 4.6), squeeze=False)
    for k, f in enumerate(files):
        top, bottom = axes[0, k], axes[1, k]
        top.imshow(raw_images[f])
        top.set_title(f, fontsize=8)
        if f in prepared:
            bottom.imshow(prepared[f], cmap="gray", vmin=0, vmax=255)
            p = predictions[f]
            bottom.set_title(f"→ {p['label']} ({p['confidence']:.0%})", fontsize=10)
        else:
            bottom.text(0.5, 0.5, predictions[f]["error"], ha="center", va="center", wrap=True, fontsize=7, color="red")
        top.axis("off")
        bottom.axis("off")
    return _finish(fig, name)


def tuning_trials(table: pd.DataFrame, title: str = "Search", name: str | None = None):
    """Validation accuracy of each trial in order, with the best so far."""
    done = table.dropna(subset=["val_accuracy"])
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.plot(np.arange(1, len(done) + 1), done["val_accuracy"], "o", label="trial")
    ax.plot(np.arange(1, len(done) + 1), done["val_accuracy"].cummax(), "-", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("best validation accuracy")
    ax.set_title(title)
    ax.legend()
    return _finish(fig, name)


def tuning_hyperparameters(table: pd.DataFrame, hyperparameters: list[str], name: str | None = None):
    """Validation accuracy against each hyperparameter (log x for the learning rate)."""
    done = table.dropna(subset=["val_accuracy"])
    fig, axes = plt.subplots(1, len(hyperparameters), figsize=(3.2 * len(hyperparameters), 3.2), squeeze=False)
    for ax, hp in zip(axes.flat, hyperparameters, strict=False):
        ax.scatter(done[hp].astype(float), done["val_accuracy"])
        if hp == "learning_rate":
            ax.set_xscale("log")
        ax.set_xlabel(hp)
    axes.flat[0].set_ylabel("validation accuracy")
    return _finish(fig, name)


# --------------------------------------------------------------------------- the why-CNNs study


def tolerance_curves(tables: dict[str, pd.DataFrame], name: str | None = None):
    """One panel per transformation ({title: table with the transformation's values as index, one column
    per model}), accuracy against the size of the transformation, one line per model."""
    fig, axes = plt.subplots(1, len(tables), figsize=(4.6 * len(tables), 3.6), squeeze=False)
    for ax, (title, table) in zip(axes.flat, tables.items(), strict=True):
        for model in table.columns:
            ax.plot(table.index, table[model], marker="o", markersize=3, label=model)
        ax.set(title=title, xlabel=table.index.name, ylabel="test accuracy", ylim=(0, 1.01))
    axes.flat[0].legend(fontsize=8)
    return _finish(fig, name)


def learning_curves(runs: pd.DataFrame, name: str | None = None, title: str = "Accuracy against training images"):
    """Test accuracy against training set size (log axis), mean and sd band over seeds per model
    (``runs``: one row per run with columns model, n_train, test_accuracy)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    sns.lineplot(data=runs, x="n_train", y="test_accuracy", hue="model", errorbar="sd", marker="o", ax=ax)
    ax.set(xscale="log", xlabel="training images", ylabel="test accuracy", title=title)
    return _finish(fig, name)


def pareto(runs: pd.DataFrame, name: str | None = None, title: str = "Accuracy against parameters"):
    """Test accuracy against trainable parameters (log axis) for families of models, mean and sd over
    seeds (``runs``: one row per run with columns family, parameters, test_accuracy)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    sns.lineplot(data=runs, x="parameters", y="test_accuracy", hue="family", errorbar="sd", marker="o", ax=ax)
    ax.set(xscale="log", xlabel="trainable parameters", ylabel="test accuracy", title=title)
    return _finish(fig, name)


def weight_images(weights, title: str, ncols: int = 16, name: str | None = None):
    """Weights as images on a diverging scale (red positive, blue negative), one per unit or filter."""
    weights = np.asarray(weights)
    nrows = int(np.ceil(len(weights) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(0.8 * ncols, 0.85 * nrows + 0.5), squeeze=False)
    for ax, w in zip(axes.flat, list(weights) + [None] * (nrows * ncols - len(weights)), strict=True):
        ax.axis("off")
        if w is not None:
            limit = float(np.abs(w).max()) or 1.0
            ax.imshow(w, cmap="RdBu_r", vmin=-limit, vmax=limit)
    fig.suptitle(title)
    return _finish(fig, name)


def feature_maps(maps: dict[str, np.ndarray], per_layer: int = 8, name: str | None = None):
    """The first ``per_layer`` channels of each layer's activations for one digit, one row per layer."""
    fig, axes = plt.subplots(len(maps), per_layer, figsize=(1.2 * per_layer, 1.3 * len(maps)), squeeze=False)
    for row, (layer, activation) in zip(axes, maps.items(), strict=True):
        for k, ax in enumerate(row):
            ax.axis("off")
            if k < activation.shape[-1]:
                ax.imshow(activation[..., k], cmap="viridis")
        row[0].set_title(f"{layer} {activation.shape[0]}x{activation.shape[1]}", fontsize=8, loc="left")
    return _finish(fig, name)


def overlays(images, maps, titles, name: str | None = None, ncols: int = 8):
    """Each digit in grey with its attribution map (saliency or class activation) over it."""
    images, n = _squeeze(images), len(titles)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.4 * ncols, 1.55 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap="gray")
            ax.imshow(maps[i], cmap="jet", alpha=0.45)
            ax.set_title(titles[i], fontsize=8)
    return _finish(fig, name)


def reliability_diagrams(tables: dict[str, pd.DataFrame], name: str | None = None):
    """Accuracy against confidence per bin (``calibration.reliability`` tables), one panel per model;
    the diagonal is perfect calibration."""
    fig, axes = plt.subplots(1, len(tables), figsize=(3.6 * len(tables), 3.6), squeeze=False)
    for ax, (title, table) in zip(axes.flat, tables.items(), strict=True):
        filled = table.dropna()
        ax.bar(filled["low"], filled["accuracy"], width=filled["high"] - filled["low"], align="edge", alpha=0.7)
        ax.plot([0, 1], [0, 1], color="black", linewidth=1)
        ax.set(title=title, xlabel="confidence", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1))
    return _finish(fig, name)


def embeddings(maps: dict[str, np.ndarray], labels, name: str | None = None):
    """2-D embeddings ({title: N x 2}) as scatter plots coloured by class."""
    fig, axes = plt.subplots(1, len(maps), figsize=(4.8 * len(maps), 4.4), squeeze=False)
    for ax, (title, points) in zip(axes.flat, maps.items(), strict=True):
        scatter = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=4)
        ax.set(title=title, xticks=[], yticks=[])
    fig.colorbar(scatter, ax=axes[0, -1], ticks=range(10), label="digit")
    return _finish(fig, name)


def risk_coverage(curves: dict, name: str | None = None, title: str | None = None):
    """Accuracy of the accepted readings against the share accepted, as the threshold on a score falls: one
    line per set, ``curves[label] = (score, correct)`` (higher score: surer; ``correct``: right if accepted)."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, (score, correct) in curves.items():
        order = np.argsort(-np.asarray(score), kind="stable")
        right = np.asarray(correct, float)[order]
        accepted = np.arange(1, len(right) + 1)
        ax.plot(accepted / len(right), np.cumsum(right) / accepted, label=f"{label} ({len(right):,})")
    ax.set_xlabel("share of readings accepted (coverage)")
    ax.set_ylabel("accuracy of the accepted readings")
    ax.set_ylim(max(0.0, ax.get_ylim()[0]), 1.002)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    ax.set_title(title or "Risk–coverage")
    return _finish(fig, name)


def cost_accuracy(table: pd.DataFrame, calibration_seconds: float, marks: dict, name: str | None = None):
    """Test accuracy (mean ± sd over seeds) against training minutes (log axis), one point per recipe, the
    cost also in epochs of the calibration workload (top axis); ``table`` has columns recipe, minutes,
    test_mean, test_sd; ``marks``: published figures, label -> (mean, sd), drawn as bands."""
    fig, ax = plt.subplots(figsize=(10, 4.8))
    for (label, (mean, sd)), colour in zip(marks.items(), ("tab:gray", "tab:purple"), strict=False):
        ax.axhspan(100 * (mean - sd), 100 * (mean + sd), color=colour, alpha=0.15)
        ax.axhline(100 * mean, color=colour, lw=1, ls="--", label=label)
    for row, colour in zip(table.itertuples(), sns.color_palette("tab10", len(table)), strict=True):
        sd = 100 * np.nan_to_num(row.test_sd)  # one seed: no bar
        ax.errorbar(row.minutes, 100 * row.test_mean, yerr=sd, fmt="o", capsize=3, color=colour, label=row.recipe)
    ax.set(xscale="log", xlabel="training minutes (this machine, measured side by side)",
           ylabel="test accuracy (%)")  # fmt: skip
    seconds = calibration_seconds / 60
    top = ax.secondary_xaxis("top", functions=(lambda m: m / seconds, lambda c: c * seconds))
    top.set_xlabel("epochs of the calibration workload (Keras' example)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # beside the axes: no point hidden
    fig.suptitle("Accuracy against training cost")
    return _finish(fig, name)
