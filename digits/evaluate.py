"""Metrics on predictions: accuracy, per-class report, confusion matrix, McNemar's test, comparison table."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import metrics

from . import models


def predict_proba(model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities for ``x`` (N x C); a channel axis is added to N x H x W images.

    Up to ``batch_size`` images go through the model as one batch without building a dataset
    (``predict_on_batch``: the same numbers, 2-3x faster for the one image of ``predict``), unless the
    model is spread over several replicas, where ``predict_on_batch`` returns the first replica's share."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., np.newaxis]
    strategy = getattr(model, "distribute_strategy", None)  # TensorFlow only
    if len(x) <= batch_size and (strategy is None or strategy.num_replicas_in_sync == 1):
        return np.asarray(model.predict_on_batch(x))
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """Share of ``x`` that ``model`` reads as its label ``y``."""
    return float(np.mean(predict_proba(model, x).argmax(axis=1) == np.asarray(y)))


def surest(proba: np.ndarray) -> int:
    """Index of the reading (row of ``proba``) whose top class is most probable."""
    return int(np.argmax(np.asarray(proba).max(axis=1)))


def most_confident(model, candidates: np.ndarray) -> tuple[np.ndarray, int]:
    """The class probabilities of the candidate reading (k x H x W) the model is surest of, and its index:
    how a two-digit image whose digits touch or overlap is read (``preprocess.prepare_candidates``)."""
    proba = predict_proba(model, candidates)
    best = surest(proba)
    return proba[best], best


def generalization_gap(history: pd.DataFrame) -> pd.Series:
    """Training minus validation accuracy after each epoch, in points (above zero: training fits better)."""
    return 100 * (history["accuracy"] - history["val_accuracy"])


def top_k(proba: np.ndarray, k: int = 3) -> dict:
    """The label, its confidence and the ``k`` most likely labels of one probability vector."""
    order = np.argsort(-proba)[:k]
    return {
        "label": int(order[0]),
        "confidence": round(float(proba[order[0]]), 4),
        f"top{k}": [{"label": int(i), "p": round(float(proba[i]), 4)} for i in order],
    }


def summary(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Accuracy, macro F1 and the error count."""
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "macro_f1": float(metrics.f1_score(y_true, y_pred, average="macro")),
        "errors": int(np.sum(np.asarray(y_true) != np.asarray(y_pred))),
        "n": int(len(y_true)),
    }


def per_class(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """Precision, recall, F1 and support per class (scikit-learn's classification report as a table)."""
    report = metrics.classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    classes = [k for k in report if k not in ("accuracy", "macro avg", "weighted avg")]
    table = pd.DataFrame({k: report[k] for k in classes}).T
    table.index = table.index.astype(int)
    table.index.name = "class"
    table["support"] = table["support"].astype(int)
    return table


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Confusion matrix: rows are true classes, columns predicted classes."""
    labels = np.arange(num_classes) if num_classes else None
    return metrics.confusion_matrix(y_true, y_pred, labels=labels)


def mcnemar(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> dict:
    """McNemar's exact test: do models A and B err on the test set at different rates?

    ``a_only`` counts examples only A gets right, ``b_only`` those only B gets right; under the
    null hypothesis both are equally likely, so the p-value is a two-sided binomial test.
    """
    y_true, pred_a, pred_b = map(np.asarray, (y_true, pred_a, pred_b))
    if not (len(y_true) == len(pred_a) == len(pred_b)):
        raise ValueError("y_true, pred_a and pred_b must have the same length")
    right_a, right_b = pred_a == y_true, pred_b == y_true
    a_only, b_only = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    discordant = a_only + b_only
    p_value = stats.binomtest(a_only, discordant, 0.5).pvalue if discordant else 1.0
    return {"a_only": a_only, "b_only": b_only, "p_value": float(p_value)}


def comparison_table(results) -> pd.DataFrame:
    """One row per :class:`digits.train.TrainResult`: model, parameters, test accuracy, macro F1, time, epochs."""
    rows = [r.row() for r in results]
    return pd.DataFrame(rows).set_index("model")


def class_counts(labels_by_split: dict) -> pd.DataFrame:
    """Examples per class (rows) for each split (columns)."""
    return pd.DataFrame({s: pd.Series(np.asarray(y)).value_counts().sort_index() for s, y in labels_by_split.items()})


def pixel_stats(images: np.ndarray) -> pd.DataFrame:
    """Range, mean, standard deviation and the share of background/saturated pixels."""
    x = np.asarray(images)
    stats_ = {
        "min": x.min(),
        "max": x.max(),
        "mean": x.mean(),
        "std": x.std(),
        "fraction of zero pixels": np.mean(x == 0),
        "fraction of pixels = 255": np.mean(x == 255),
    }
    return pd.DataFrame({"value": {k: float(v) for k, v in stats_.items()}})


def parameter_table(names: list[str], **build_kwargs) -> pd.DataFrame:
    """Trainable parameters and layer count of registered models (deterministic: no training)."""
    rows = {}
    for name in names:
        model = models.build(name, **build_kwargs)
        rows[name] = {"parameters": models.count_params(model), "layers": len(model.layers)}
    return pd.DataFrame(rows).T.rename_axis("model")


def plateau_table(histories: dict, tolerance: float = 0.001) -> pd.DataFrame:
    """Per run: best validation accuracy, its epoch, and the plateau epoch — the first epoch after
    which validation accuracy never rises more than ``tolerance`` above its value then."""
    rows = {}
    for name, h in histories.items():
        val = np.asarray(h["val_accuracy"])
        later_best = np.maximum.accumulate(val[::-1])[::-1]
        plateau = int(np.argmax(later_best - val <= tolerance)) + 1
        rows[name] = {
            "best_val_accuracy": float(val.max()),
            "best_epoch": int(val.argmax()) + 1,
            "plateau_epoch": plateau,
        }
    return pd.DataFrame(rows).T.rename_axis("model")


def seed_summary(results) -> pd.DataFrame:
    """Mean and sample standard deviation over seeds, grouped by run label, in first-seen order."""
    frame = pd.DataFrame([r.row() for r in results])
    grouped = frame.groupby("model", sort=False)
    out = grouped.agg(
        test_accuracy_mean=("test_accuracy", "mean"),
        test_accuracy_sd=("test_accuracy", "std"),
        macro_f1_mean=("macro_f1", "mean"),
        parameters=("parameters", "first"),
        train_seconds_mean=("train_seconds", "mean"),
        seeds=("test_accuracy", "size"),
    )
    out["test_accuracy_sd"] = out["test_accuracy_sd"].fillna(0.0)
    return out


@dataclass(frozen=True)
class Transfer:
    """A model trained on MNIST only: its MNIST test accuracy and its accuracy on the USPS test set,
    framed like MNIST (``preprocess.frame_like_mnist``) and naively resized to 28x28."""

    mnist_test: float
    usps_framed: float
    usps_naive: float


def transfer_table(results: dict, framed: np.ndarray, naive: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """One :class:`Transfer` row per trained run of ``results`` ({label: TrainResult})."""
    rows = {
        label: asdict(Transfer(r.test_accuracy, accuracy(r.model, framed, y), accuracy(r.model, naive, y)))
        for label, r in results.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def position_errors(results: dict, y_true: np.ndarray) -> pd.DataFrame:
    """Two-digit numbers: per model (``{label: y_pred}``), the share of test numbers whose tens
    (left) digit, units (right) digit, either, or both are wrong."""
    y_true = np.asarray(y_true)
    rows = {}
    for label, y_pred in results.items():
        tens, units = (y_pred // 10 != y_true // 10), (y_pred % 10 != y_true % 10)
        rows[label] = {
            "tens_wrong": tens.mean(),
            "units_wrong": units.mean(),
            "any_wrong": (tens | units).mean(),
            "both_wrong": (tens & units).mean(),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def number_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> pd.DataFrame:
    """Accuracy of each two-digit number as a 10 x 10 table (rows: tens digit, columns: units digit)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    correct = np.bincount(y_true[y_true == y_pred], minlength=100)
    total = np.bincount(y_true, minlength=100)
    accuracy = np.divide(correct, total, out=np.full(100, np.nan), where=total > 0)
    return pd.DataFrame(
        accuracy.reshape(10, 10), index=pd.Index(range(10), name="tens"), columns=pd.Index(range(10), name="units")
    )


def select_ensemble(val_probas: dict, y_val: np.ndarray, max_members: int = 5) -> list:
    """Greedy forward selection of ensemble members on the validation set (Caruana et al., 2004,
    without replacement): start from the member with the lowest validation log loss, then add the
    member that lowers the averaged probabilities' log loss most; stop when none does or at
    ``max_members``. The test set plays no part in the choice."""
    if not val_probas or max_members < 1:
        raise ValueError("select_ensemble needs at least one candidate and max_members >= 1")
    labels = np.arange(next(iter(val_probas.values())).shape[1])

    def loss(keys):
        return metrics.log_loss(y_val, np.mean([val_probas[k] for k in keys], axis=0), labels=labels)

    chosen = [min(val_probas, key=lambda k: loss([k]))]
    while len(chosen) < max_members:
        rest = [k for k in val_probas if k not in chosen]
        if not rest:
            break
        best = min(rest, key=lambda k: loss(chosen + [k]))
        if loss(chosen + [best]) >= loss(chosen):
            break
        chosen.append(best)
    return chosen
