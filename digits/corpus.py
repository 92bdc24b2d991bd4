"""The corpus of user-style images (``data/examples/corpus``): digits, numbers and things that are not digits,
as people hand them in, with known labels, made by ``data/examples/corpus/make_corpus.py``. Read as a
user's files are read (``digits.reader``, the code behind ``python -m digits predict``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import config, reader

CORPUS_DIR = config.PROJ_ROOT / "data" / "examples" / "corpus"
GROUPS = ("digit", "two-digit number", "number of 3-8 digits", "not a digit")


def group_of(kind: str) -> str:
    """Which of :data:`GROUPS` a kind of corpus image belongs to."""
    if kind.startswith("pair"):
        return "two-digit number"
    if kind.startswith("number"):
        return "number of 3-8 digits"
    return "not a digit" if kind.startswith("not a digit") else "digit"


def labels(folder: Path = CORPUS_DIR) -> pd.DataFrame:
    """file, label (the digit string as written, "" for a non-digit), kind, source and group of every image."""
    table = pd.read_csv(folder / "labels.csv", dtype={"label": str}, keep_default_na=False)
    return table.assign(group=table["kind"].map(group_of))


def predictions(
    folder: Path = CORPUS_DIR, read: reader.Reader | None = None, table: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Each image read like ``python -m digits predict`` reads it (``--number`` for numbers; a non-digit both
    ways), by the shipped model and its decline rule unless ``read`` is given. The labels table plus ``read``
    (the digit string, or None when declined; for a non-digit read as a digit one way, that reading),
    ``reason``, ``confidence`` (the least sure digit's), ``score`` (the rule's, of the least digit-like glyph),
    ``digits_read``, ``digit_string`` (every digit read, declined or not), ``digits_declined`` and ``correct``
    (a digit or number read exactly; a non-digit declined both ways). ``table``: the rows of :func:`labels`
    to read (default: all)."""
    read = read or reader.Reader.shipped()
    table = (labels(folder) if table is None else table).reset_index(drop=True)
    rows = []
    for row in table.itertuples():
        ink = reader.ink_of(folder / row.file)  # read once, then as one digit and/or as a number
        reading = read.read_ink(ink, number=row.group != "digit")
        if row.group == "not a digit":  # declined only when declined both ways; else the reading that was not
            as_digit = read.read_ink(ink, number=False)
            correct = reading.label is None and as_digit.label is None
            reading = reading if as_digit.label is None else as_digit
        else:
            correct = reading.label == row.label
        rows.append(
            {"read": reading.label, "reason": reading.reason, "confidence": reading.confidence,
             "score": reading.least_score, "digits_read": len(reading.digits), "digit_string": reading.digit_string,
             "digits_declined": sum(not d["accepted"] for d in reading.digits), "correct": correct}
        )  # fmt: skip
    return table.join(pd.DataFrame(rows))


def accuracy_by_kind(table: pd.DataFrame) -> pd.DataFrame:
    """Per kind of image, in the corpus's order: images, share read right (a non-digit: declined) and share
    declined."""
    grouped = table.groupby("kind", sort=False)
    return pd.DataFrame(
        {
            "group": grouped["group"].first(),
            "images": grouped.size(),
            "accuracy": grouped["correct"].mean(),
            "declined": grouped["read"].apply(lambda r: r.isna().mean()),
        }
    )
