"""Report pipeline: run notebooks with papermill, build the leaderboard, keep notebook sources clean.

    python -m digits.reports run [NOTEBOOK ...] [--profile full|smoke]
    python -m digits.reports leaderboard      # reports/README.md + the README results table
    python -m digits.reports strip            # remove outputs from notebooks/*.ipynb sources

Each notebook runs into a staging folder (its own figures and metrics included); only when
it finishes are the executed notebook, its HTML copy, figures and metrics moved into
``reports/``. A failing notebook leaves its previous report untouched and stops the run with
an error naming the notebook and the failing cell.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

from . import config

NOTEBOOKS_DIR = config.PROJ_ROOT / "notebooks"
KERNEL = "digits"
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
RESULTS_START, RESULTS_END = "<!-- results:start -->", "<!-- results:end -->"


class NotebookFailed(RuntimeError):
    """A notebook raised while papermill executed it."""


def notebooks(names: list[str] | None = None) -> list[Path]:
    """Notebook sources in order, optionally only those whose stem matches or starts a name."""
    found = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return found
    chosen = []
    for name in names:
        match = [p for p in found if p.stem == name or p.stem.startswith(name)]
        if not match:
            raise SystemExit(f"no notebook matches {name!r}; there are: {', '.join(p.stem for p in found)}")
        chosen += match
    return chosen


def _failure_message(err: Exception, notebook: str) -> str:
    cell = getattr(err, "exec_count", None)
    ename, evalue = getattr(err, "ename", type(err).__name__), getattr(err, "evalue", str(err))
    where = f"cell [{cell}]" if cell is not None else "start-up"
    return f"notebook {notebook} failed at {where}: {ename}: {evalue}"


def run_notebook(source: Path, profile: str, reports: Path | None = None, kernel: str = KERNEL) -> float:
    """Execute one notebook into ``reports`` (atomically); returns its run time in seconds."""
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    reports = reports or config.reports_dir()
    stem = source.stem
    staging = reports / f".staging-{stem}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    executed = staging / f"{stem}.ipynb"
    env_before = {k: os.environ.get(k) for k in ("DIGITS_REPORTS_DIR", "DIGITS_HEADLESS")}
    os.environ.update(DIGITS_REPORTS_DIR=str(staging), DIGITS_HEADLESS="1")
    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(source), str(executed), parameters={"PROFILE": profile}, kernel_name=kernel,
            cwd=str(source.parent), progress_bar=False, log_output=True,
        )  # fmt: skip
    except Exception as err:
        if executed.exists():
            failed = reports / f"{stem}.failed.ipynb"
            shutil.move(executed, failed)
        shutil.rmtree(staging, ignore_errors=True)
        raise NotebookFailed(_failure_message(err, stem)) from err
    finally:
        for k, v in env_before.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    seconds = time.perf_counter() - started

    html, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    (staging / f"{stem}.html").write_text(html, encoding="utf-8")
    _publish(staging, reports, stem)
    (reports / f"{stem}.failed.ipynb").unlink(missing_ok=True)
    return seconds


def _publish(staging: Path, reports: Path, stem: str) -> None:
    """Move a finished notebook's products from staging into reports/, replacing the old ones."""
    for name in (f"{stem}.ipynb", f"{stem}.html"):
        (staging / name).replace(reports / name)
    pairs = [
        (staging / "figures" / stem, reports / "figures" / stem),
        (staging / "metrics" / f"{stem}.json", reports / "metrics" / f"{stem}.json"),
    ] + [
        (product, reports / folder / product.name)
        for folder, pattern in (("models", "*.keras"), ("tuning", "*.csv"))
        for product in sorted((staging / folder).glob(pattern))
    ]
    for new, old in pairs:
        if not new.exists():
            continue
        old.parent.mkdir(parents=True, exist_ok=True)
        if old.is_dir():
            shutil.rmtree(old)
        new.replace(old)
    shutil.rmtree(staging, ignore_errors=True)


# --------------------------------------------------------------------------- leaderboard


def load_metrics(reports: Path | None = None) -> list[dict]:
    reports = reports or config.reports_dir()
    return [json.loads(p.read_text()) for p in sorted((reports / "metrics").glob("*.json"))]


def leaderboard_rows(metrics: list[dict]) -> list[dict]:
    rows = []
    for m in metrics:
        test_set = m.get("extra", {}).get("test_set", "MNIST")  # a notebook may test on another set (07: MNIST-100)
        for model, row in m.get("models", {}).items():
            rows.append({"notebook": m["notebook"], "model": model, "profile": m["profile"], "test_set": test_set} | row)
    return sorted(rows, key=lambda r: -r["test_accuracy"])


def _markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def results_markdown(metrics: list[dict], top: int | None = None) -> str:
    """The leaderboard and notebook run times as Markdown, every number read from metrics files."""
    rows = leaderboard_rows(metrics)[:top]
    board = _markdown_table(
        ["model", "notebook", "test set", "test accuracy", "macro F1", "parameters", "train s", "epochs", "profile"],
        [[r["model"], r["notebook"], r["test_set"], f"{100 * r['test_accuracy']:.2f}%", f"{r['macro_f1']:.4f}",
          f"{r['parameters']:,}", r["train_seconds"], r["epochs"], r["profile"]] for r in rows],
    )  # fmt: skip
    def trained_minutes(m):  # training time as measured when each model was trained (cached or not);
        # an ensemble's time is its members' (listed in the notebook or trained by an earlier one): not counted again
        return sum(row["train_seconds"] for row in m.get("models", {}).values() if "members" not in row) / 60

    def cached(m):
        flags = [row.get("cached", False) for row in m.get("models", {}).values()]
        return f"{sum(flags)}/{len(flags)}"

    times = _markdown_table(
        ["notebook", "profile", "run time (min)", "models from cache", "training time, as measured (min)", "CPU", "cores"],
        [[m["notebook"], m["profile"], f"{m['notebook_seconds'] / 60:.1f}", cached(m), f"{trained_minutes(m):.1f}",
          m["environment"].get("cpu", "?"), m["environment"].get("cpu_count", "?")] for m in metrics],
    )  # fmt: skip
    total = sum(m["notebook_seconds"] for m in metrics) / 60
    return (
        f"{board}\n\n{transfer_markdown(metrics, top)}Notebook run times (total {total:.1f} min). A model reloaded "
        f"from the run cache (same architecture, options, data and library versions) keeps the training time measured "
        f"when it was trained:\n\n{times}\n"
    )


def transfer_markdown(metrics: list[dict], top: int | None = None) -> str:
    """The USPS transfer table (a notebook's ``extra["usps"]``), best on framed USPS first; empty if none."""
    rows = [(m["notebook"], model, r) for m in metrics for model, r in m.get("extra", {}).get("usps", {}).items()]
    if not rows:
        return ""
    rows = sorted(rows, key=lambda row: -row[2]["usps_frame_like_mnist"])[:top]
    table = _markdown_table(
        ["model (trained on MNIST only)", "notebook", "USPS test, framed like MNIST", "USPS test, naive resize", "MNIST test"],
        [[model, nb, f"{100 * r['usps_frame_like_mnist']:.2f}%", f"{100 * r['usps_naive_resize']:.2f}%",
          f"{100 * r['mnist_test']:.2f}%"] for nb, model, r in rows],
    )  # fmt: skip
    return f"Transfer to USPS (its test set; no model ever saw a USPS image):\n\n{table}\n\n"


def extras_markdown(reports: Path) -> str:
    """The benchmark (reports/bench.json) and web load test (reports/web_load.json), when present."""
    parts = []
    bench = reports / "bench.json"
    if bench.exists():
        b = json.loads(bench.read_text())
        rows = [[label, b[label]["recipe"]["name"], f"{b[label]['parameters']:,}",
                 b[label]["median_seconds_to_target"], b[label]["median_epochs_to_target"],
                 f"{100 * b[label]['median_final_accuracy']:.2f}%", len(b[label]["runs"])] for label in ("reference", "fast")]  # fmt: skip
        table = _markdown_table(["recipe", "model", "parameters", f"s to {100 * b['target']:.1f}% (median)",
                                 "epochs to target", "accuracy at the end", "runs"], rows)  # fmt: skip
        infer = _markdown_table(["model", "images/s (batch 1000)", "single image (ms, median)"],
                                [[k, v["images_per_second"], v["single_image_ms"]] for k, v in b["inference"].items()])  # fmt: skip
        parts.append(f"Benchmark (`make bench`{', quick mode' if b['quick'] else ''}; {b['environment'].get('cpu')}, "
                     f"{b['environment'].get('cpu_count')} cores; speed-up reference/fast: "
                     f"{b['speedup_reference_over_fast']}x):\n\n{table}\n\n{infer}\n")  # fmt: skip
    load = reports / "web_load.json"
    if load.exists():
        w = json.loads(load.read_text())
        parts.append(f"Web demo under load (`make demo-load`): {w['requests']} requests, {w['concurrency']} at a time, "
                     f"{w['errors']} errors, p50 {w['p50_ms']} ms, p95 {w['p95_ms']} ms, {w['requests_per_second']} requests/s.\n")  # fmt: skip
    return "\n".join(parts)


def write_leaderboard(reports: Path | None = None, readme: Path | None = None) -> None:
    """Write reports/README.md and the results block of the top-level README from the metrics files."""
    reports = reports or config.reports_dir()
    metrics = load_metrics(reports)
    body = (results_markdown(metrics) if metrics else "No reports yet: run `make reports`.\n") + "\n" + extras_markdown(reports)
    (reports / "README.md").write_text(
        "# Reports\n\nGenerated by `python -m digits.reports leaderboard` from `reports/metrics/*.json`; "
        "do not edit by hand.\n\n" + body
    )
    readme = readme or config.PROJ_ROOT / "README.md"
    if readme.exists():
        text = readme.read_text()
        if RESULTS_START in text and RESULTS_END in text:
            head, rest = text.split(RESULTS_START, 1)
            _, tail = rest.split(RESULTS_END, 1)
            block = (results_markdown(metrics, top=12) if metrics else "No reports yet.\n") + "\n" + extras_markdown(reports)
            readme.write_text(f"{head}{RESULTS_START}\n{block}{RESULTS_END}{tail}")


# --------------------------------------------------------------------------- notebook hygiene


def is_check_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and CHECK_MARK in "".join(cell.get("source", ""))


def strip_outputs(path: Path) -> bool:
    """Remove outputs and execution counts from a notebook source, keeping the reference output of
    ``# NBVAL_CHECK_OUTPUT`` cells (what nbval compares against). Returns True if the file changed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        check = is_check_cell(cell)
        cell.execution_count = 1 if check else None  # nbval compares only cells with a count
        if not check:
            cell.outputs = []
        for out in cell.outputs:
            out.pop("execution_count", None) if out.get("output_type") != "execute_result" else out.update(execution_count=None)
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
    nb.metadata.pop("papermill", None)
    after = nbformat.writes(nb)
    if after != before:
        nbformat.write(nb, path)
    return after != before


def refresh_references(names: list[str] | None = None, profile: str = "smoke") -> list[str]:
    """Run every notebook and store the output of its ``# NBVAL_CHECK_OUTPUT`` cells in the source,
    as nbval's reference; every other output is stripped. Returns the notebooks that changed."""
    import tempfile

    import nbformat

    changed = []
    for source in notebooks(names):
        with tempfile.TemporaryDirectory() as tmp:
            run_notebook(source, profile, reports=Path(tmp))
            executed = nbformat.read(Path(tmp) / f"{source.stem}.ipynb", as_version=4)
        outputs = {c.source: c.outputs for c in executed.cells if is_check_cell(c)}
        nb = nbformat.read(source, as_version=4)
        for cell in nb.cells:
            if is_check_cell(cell):
                cell.outputs = [o for o in outputs[cell.source] if o.output_type == "stream"]
        nbformat.write(nb, source)
        strip_outputs(source)
        changed.append(source.stem)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m digits.reports", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks into reports/")
    run.add_argument("notebooks", nargs="*", help="notebook names or prefixes (default: all)")
    run.add_argument("--profile", default=os.environ.get("PROFILE", "full"), choices=("smoke", "full"))
    sub.add_parser("leaderboard", help="rebuild reports/README.md and the README results table")
    sub.add_parser("strip", help="remove outputs from notebook sources")
    refs = sub.add_parser("references", help="store nbval reference outputs of check cells (runs the smoke profile)")
    refs.add_argument("notebooks", nargs="*", help="notebook names or prefixes (default: all)")
    args = parser.parse_args(argv)

    if args.command == "strip":
        for path in notebooks():
            if strip_outputs(path):
                print(f"stripped {path.name}")
        return 0
    if args.command == "references":
        print("updated:", ", ".join(refresh_references(args.notebooks)))
        return 0
    if args.command == "leaderboard":
        write_leaderboard()
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # papermill streams cell output
    total = time.perf_counter()
    for source in notebooks(args.notebooks):
        print(f"== {source.stem} (profile {args.profile})", flush=True)
        try:
            seconds = run_notebook(source, args.profile)
        except NotebookFailed as err:
            print(f"ERROR: {err}\nThe previous report of {source.stem} is untouched; the failed run is in "
                  f"reports/{source.stem}.failed.ipynb.", file=sys.stderr)  # fmt: skip
            return 1
        print(f"== {source.stem} done in {seconds / 60:.1f} min", flush=True)
    write_leaderboard()
    print(f"== all done in {(time.perf_counter() - total) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
