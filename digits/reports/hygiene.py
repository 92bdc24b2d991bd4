"""Notebook sources carry no outputs except nbval's reference cells (``# NBVAL_CHECK_OUTPUT``).

Stripping is nbstripout's; the reference cells are tagged ``keep_output`` (nbstripout keeps their
outputs) and keep an execution count, without which nbval would not compare them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat
from nbstripout import strip_output

from .. import files
from .runner import notebooks, run_notebook

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
KEEP = "keep_output"


def is_check_cell(cell) -> bool:
    """A code cell whose output nbval compares with the stored reference."""
    return cell.get("cell_type") == "code" and CHECK_MARK in "".join(cell.get("source", ""))


def strip(path: Path) -> bool:
    """Strip outputs, counts and run metadata from a notebook source with nbstripout, keeping the reference
    output of ``# NBVAL_CHECK_OUTPUT`` cells. Returns True if the file changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if is_check_cell(cell) and KEEP not in tags:
            cell.metadata["tags"] = [*tags, KEEP]
    nb = strip_output(nb, keep_output=False, keep_count=False, keep_id=True, extra_keys=["metadata.papermill"])
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if is_check_cell(cell):
            cell.execution_count = 1  # nbval skips cells without a count
            for out in cell.outputs:
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = 1
    after = nbformat.writes(nb)
    if after != before:
        files.write_text(path, after if after.endswith("\n") else after + "\n")
    return after != before


def refresh_references(names: list[str] | None = None) -> list[str]:
    """Run notebooks in the smoke profile and store the text output of their ``# NBVAL_CHECK_OUTPUT`` cells
    in the sources, as nbval's reference; everything else is stripped. Returns the notebooks run."""
    done = []
    for source in notebooks(names):
        with tempfile.TemporaryDirectory() as tmp:
            run_notebook(source, "smoke", reports=Path(tmp))
            executed = nbformat.read(Path(tmp) / f"{source.stem}.ipynb", as_version=4)
        outputs = {c.source: c.outputs for c in executed.cells if is_check_cell(c)}
        nb = nbformat.read(source, as_version=4)
        for cell in nb.cells:
            if is_check_cell(cell):
                cell.outputs = [o for o in outputs[cell.source] if o.output_type == "stream"]
        files.write_text(source, nbformat.writes(nb) + "\n")
        strip(source)
        done.append(source.stem)
    return done
