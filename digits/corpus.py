"""The corpus of user-style images (``data/examples/corpus``): digits and two-digit numbers as people hand
them in, with known labels, made by ``data/examples/corpus/make_corpus.py``. Read as a user's files are."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import config, evaluate, preprocess, shipped

CORPUS_DIR = config.PROJ_ROOT / "data" / "examples" / "corpus"


def labels(folder: Path = CORPUS_DIR) -> pd.DataFrame:
    """file, label, kind, source of every image; ``two_digit`` marks the numbers (kinds "pair, ...")."""
    table = pd.read_csv(folder / "labels.csv")
    return table.assign(two_digit=table["kind"].str.startswith("pair"))


def predictions(folder: Path = CORPUS_DIR, digit_model=None, number_model=None) -> pd.DataFrame:
    """Each image read like ``python -m digits predict`` reads it (the shipped models unless given):
    the labels table plus ``predicted``, ``confidence`` and ``correct``."""
    models = {False: digit_model or shipped.load("mnist10"), True: number_model or shipped.load("mnist100")}
    table, rows = labels(folder), []
    for row in table.itertuples():
        candidates = preprocess.prepare_candidates(folder / row.file, two_digit=row.two_digit)
        proba, _ = evaluate.most_confident(models[row.two_digit], candidates)
        rows.append({"predicted": int(proba.argmax()), "confidence": float(proba.max())})
    table = table.join(pd.DataFrame(rows))
    return table.assign(correct=table["predicted"] == table["label"])


def accuracy_by_kind(table: pd.DataFrame) -> pd.DataFrame:
    """Accuracy and count per kind of image, in the corpus's order."""
    grouped = table.groupby("kind", sort=False)["correct"]
    return pd.DataFrame({"images": grouped.size(), "accuracy": grouped.mean()})
