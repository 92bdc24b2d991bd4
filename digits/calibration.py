"""Can a model's confidence be believed? Expected calibration error, reliability tables and
temperature scaling (Guo et al., 2017) of a model's probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax


def reliability(proba: np.ndarray, y: np.ndarray, bins: int = 15) -> pd.DataFrame:
    """Per confidence bin (equal width over (0, 1]): examples, mean confidence and accuracy."""
    proba, y = np.asarray(proba), np.asarray(y)
    confidence, right = proba.max(axis=1), proba.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = [
        {
            "low": edges[b],
            "high": edges[b + 1],
            "count": int(np.sum(which == b)),
            "confidence": float(confidence[which == b].mean()) if np.any(which == b) else np.nan,
            "accuracy": float(right[which == b].mean()) if np.any(which == b) else np.nan,
        }
        for b in range(bins)
    ]
    return pd.DataFrame(rows)


def ece(proba: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error: the count-weighted mean gap between confidence and accuracy over bins."""
    table = reliability(proba, y, bins).dropna()
    return float(np.sum(table["count"] * (table["confidence"] - table["accuracy"]).abs()) / len(np.asarray(y)))


def scale(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities with temperature ``temperature``: softmax(log p / T); T > 1 softens, T < 1 sharpens."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    return softmax(np.log(np.clip(np.asarray(proba, np.float64), 1e-12, 1.0)) / temperature, axis=1)


def nll(proba: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels."""
    proba = np.asarray(proba, np.float64)
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), np.asarray(y)], 1e-12, 1.0))))


def fit_temperature(proba: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``y`` (fitted on a validation set)."""
    logp = np.log(np.clip(np.asarray(proba, np.float64), 1e-12, 1.0))
    y = np.asarray(y)

    def loss(log_t):
        return -np.mean(log_softmax(logp / np.exp(log_t), axis=1)[np.arange(len(y)), y])

    return float(np.exp(minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded").x))


def summary(val_proba: np.ndarray, y_val: np.ndarray, test_proba: np.ndarray, y_test: np.ndarray) -> dict:
    """A temperature fitted on validation and what it does: ECE on validation and test, test NLL, mean
    confidence and accuracy, and how often a scaled test confidence above 99% is right."""
    t = fit_temperature(val_proba, y_val)
    scaled_val, scaled_test = scale(val_proba, t), scale(test_proba, t)
    sure = scaled_test.max(axis=1) > 0.99
    return {
        "temperature": t,
        "ece_val": ece(val_proba, y_val),
        "ece_val_scaled": ece(scaled_val, y_val),
        "ece": ece(test_proba, y_test),
        "ece_scaled": ece(scaled_test, y_test),
        "nll": nll(test_proba, y_test),
        "nll_scaled": nll(scaled_test, y_test),
        "mean_confidence": float(test_proba.max(axis=1).mean()),
        "accuracy": float(np.mean(test_proba.argmax(axis=1) == y_test)),
        "share_above_99": float(np.mean(sure)),
        "right_above_99": float(np.mean((scaled_test.argmax(axis=1) == y_test)[sure])) if sure.any() else float("nan"),
    }
