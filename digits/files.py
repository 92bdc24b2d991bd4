"""Writing files so that a reader never sees half of one: write beside it, then rename over it."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix) that replaces ``path`` only if the block finishes.

    An interrupted or failing block leaves ``path`` as it was and removes the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        if path.is_dir() and tmp.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, payload) -> Path:
    """Write ``payload`` as indented JSON to ``path`` atomically (NumPy scalars as floats)."""
    return write_text(path, json.dumps(payload, indent=1, default=float) + "\n")


def save_model(model, path: str | Path) -> Path:
    """Save a Keras model (``.keras`` or ``.h5``) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        model.save(tmp)
    return Path(path)
