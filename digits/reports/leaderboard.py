"""The leaderboard: every table in ``reports/README.md`` and the README's results block, read from
``reports/metrics/*.json`` (and ``bench.json``, ``web_load.json``); nothing is typed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .. import config, files
from . import headline, regeneration
from .headline import percent
from ..evaluate import Transfer

RESULTS_START, RESULTS_END = "<!-- results:start -->", "<!-- results:end -->"


def load_metrics(reports: Path | None = None) -> list[dict]:
    reports = reports or config.reports_dir()
    return [json.loads(p.read_text()) for p in sorted((reports / "metrics").glob("*.json"))]


def _markdown(table: pd.DataFrame) -> str:
    return table.to_markdown(index=False, disable_numparse=True) + "\n"


def models_table(metrics: list[dict], top: int | None = None) -> pd.DataFrame:
    """Every model of every notebook, best test accuracy first."""
    rows = [
        {"notebook": m["notebook"], "model": model, "profile": m["profile"]}
        | {"test_set": m.get("extra", {}).get("test_set", "MNIST")}  # a notebook may test on another set (07)
        | row
        for m in metrics
        for model, row in m.get("models", {}).items()
    ]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows).sort_values("test_accuracy", ascending=False, kind="stable").head(top)
    return pd.DataFrame(
        {
            "model": frame["model"],
            "notebook": frame["notebook"],
            "test set": frame["test_set"],
            "test accuracy": frame["test_accuracy"].map(percent),
            "macro F1": frame["macro_f1"].map("{:.4f}".format),
            "parameters": frame["parameters"].map("{:,}".format),
            "train s": frame["train_seconds"],
            "epochs": frame["epochs"],
            "profile": frame["profile"],
        }
    )


def transfer_table(metrics: list[dict], top: int | None = None) -> pd.DataFrame:
    """The USPS transfer rows (a notebook's ``extra["usps"]``: one :class:`~digits.evaluate.Transfer` per
    model), best on framed USPS first."""
    rows = [
        (m["notebook"], model, Transfer(**scores))
        for m in metrics
        for model, scores in m.get("extra", {}).get("usps", {}).items()
    ]
    rows = sorted(rows, key=lambda row: -row[2].usps_framed)[:top]
    return pd.DataFrame(
        [
            {
                "model (trained on MNIST only)": model,
                "notebook": notebook,
                "USPS test, framed like MNIST": percent(t.usps_framed),
                "USPS test, naive resize": percent(t.usps_naive),
                "MNIST test": percent(t.mnist_test),
            }
            for notebook, model, t in rows
        ]
    )


def _study(metrics: list[dict]) -> dict | None:
    """The metrics of the why-CNNs study (notebook 10), if it has run."""
    return next((m for m in metrics if "permutation" in m.get("extra", {})), None)


def corpus_note(metrics: list[dict]) -> str:
    """The shipped models on the corpus of user-style images (notebook 08), when it has run."""
    found = next((m["extra"]["corpus"] for m in metrics if "corpus" in m.get("extra", {})), None)
    if found is None:
        return ""
    hardest = min(found["by_kind"], key=found["by_kind"].get)
    return (
        f"Your own images (notebook 08; the {found['images']} user-style images of `data/examples/corpus/` read as "
        f"`predict` reads a file): single digits {percent(found['singles'])}, two-digit numbers "
        f"{percent(found['pairs'])}"
        + (
            f", numbers of 3-8 digits {percent(found['numbers'])}, non-digits declined {percent(found['declined'])}"
            if "numbers" in found
            else ""
        )
        + f"; hardest kind: {hardest} ({percent(found['by_kind'][hardest])}).\n"
    )


def study_table(metrics: list[dict]) -> pd.DataFrame:
    """The why-CNNs study's main findings (a notebook's ``extra`` with ``permutation``, ``shift``,
    ``data_efficiency`` and ``calibration``), one row per model."""
    study = _study(metrics)
    if study is None:
        return pd.DataFrame()
    e = study["extra"]
    rows = []
    for model, shift in e["shift"].items():
        curve = e["data_efficiency"].get(model, {})
        smallest = min(curve, key=int) if curve else None
        cal = e["calibration"].get(model, {})
        rows.append(
            {
                "model": model,
                "pixels scrambled": f"{percent(e['permutation'][model]['original'])} → "
                f"{percent(e['permutation'][model]['permuted'])}"
                if model in e["permutation"]
                else "",
                "shifted 2 / 4 px": f"{percent(shift[2])} / {percent(shift[4])}",
                "fewest training images": f"{percent(curve[smallest])} ({int(smallest):,} images)" if curve else "",
                "calibration error (ECE), raw → scaled": f"{percent(cal['ece'])} → {percent(cal['ece_scaled'])}"
                if cal
                else "",
            }
        )
    return pd.DataFrame(rows)


def confidence_note(metrics: list[dict]) -> str:
    """How far the confidence that ``predict`` and the demo print can be trusted, from notebook 10's figures."""
    study = _study(metrics)
    if study is None:
        return ""
    e = study["extra"]
    cal = e.get("shipped_calibration")  # measured on the shipped file itself
    if cal is None:
        return ""
    if cal["shipped"]:
        return (
            f"The shipped model's confidences are temperature-scaled (T = {cal['temperature']:.2f}, fitted on the "
            f"validation set): its expected calibration error on the MNIST test set is {percent(cal['ece'])} raw and "
            f"{percent(cal['ece_scaled'])} as printed by `predict` and the demo.\n"
        )
    return (
        f"The shipped model's expected calibration error on the MNIST test set is {percent(cal['ece'])}; temperature "
        f"scaling did not improve it on validation, so `predict` and the demo print the model's own probabilities.\n"
    )


def _trained_minutes(m: dict) -> float:
    """Training time as measured when each model was trained (cached or not), a study's runs included; an
    ensemble's time is its members' (listed in the notebook or trained by an earlier one), so it is not
    counted again."""
    models = sum(row["train_seconds"] for row in m.get("models", {}).values() if "members" not in row)
    return (models + m.get("study_runs", {}).get("train_seconds", 0.0)) / 60


def _from_cache(m: dict) -> str:
    """Runs reloaded from the run cache, of all the runs the notebook trained or reloaded."""
    counts = regeneration.run_counts(m)
    return f"{counts['reused']}/{counts['trained'] + counts['reused']}"


def run_times_table(metrics: list[dict]) -> pd.DataFrame:
    """Per notebook: run time, models reloaded from the run cache, training time as measured, machine."""
    return pd.DataFrame(
        [
            {
                "notebook": m["notebook"],
                "profile": m["profile"],
                "run time (min)": f"{m['notebook_seconds'] / 60:.1f}",
                "runs from cache": _from_cache(m),
                "training time, as measured (min)": f"{_trained_minutes(m):.1f}",
                "CPU": m["environment"].get("cpu", "?"),
                "cores": m["environment"].get("cpu_count", "?"),
            }
            for m in metrics
        ]
    )


def results_markdown(metrics: list[dict], top: int | None = None) -> str:
    """The model leaderboard, the USPS transfer table and the notebook run times as Markdown."""
    parts = [_markdown(models_table(metrics, top))]
    transfer = transfer_table(metrics, top)
    if not transfer.empty:
        parts.append(f"Transfer to USPS (its test set; no model ever saw a USPS image):\n\n{_markdown(transfer)}")
    study = study_table(metrics)
    if not study.empty:
        parts.append(
            "Why CNNs beat MLPs (notebook 10; test accuracy, pixels scrambled and fewest images on training subsets):"
            f"\n\n{_markdown(study)}\n{confidence_note(metrics)}"
        )
    if corpus := corpus_note(metrics):
        parts.append(corpus)
    total = sum(m["notebook_seconds"] for m in metrics) / 60
    parts.append(
        f"Notebook run times (total {total:.1f} min). A model reloaded from the run cache (same architecture, "
        f"options, data and library versions) keeps the training time measured when it was trained:\n\n"
        f"{_markdown(run_times_table(metrics))}"
    )
    return "\n".join(parts)


def extras_markdown(reports: Path) -> str:
    """The benchmark (bench.json), the exported models (export.json) and the web load test (web_load.json), when present."""
    parts = []
    bench = reports / "bench.json"
    if bench.exists():
        b = json.loads(bench.read_text())
        recipes = pd.DataFrame(
            [
                {
                    "recipe": label,
                    "model": b[label]["model"],
                    "parameters": f"{b[label]['parameters']:,}",
                    f"s to {100 * b['target']:.1f}% (median)": b[label]["median_seconds_to_target"],
                    "epochs to target": b[label]["median_epochs_to_target"],
                    "accuracy at the end": percent(b[label]["median_final_accuracy"]),
                    "runs": len(b[label]["runs"]),
                }
                for label in ("reference", "fast")
            ]
        )
        inference = pd.DataFrame(
            [
                {"model": k, "images/s (batch 1000)": v["images_per_second"], "single image (ms, median)": v["single_image_ms"]}
                for k, v in b["inference"].items()
            ]
        )
        env = b["environment"]
        parts.append(
            f"Benchmark (`make bench`{', quick mode' if b['quick'] else ''}; {env.get('cpu')}, {env.get('cpu_count')} "
            f"cores; speed-up reference/fast: {b['speedup_reference_over_fast']}x):\n\n"
            f"{_markdown(recipes)}\n{_markdown(inference)}"
        )
    exported = reports / "export.json"
    if exported.exists():
        e = json.loads(exported.read_text())
        table = pd.DataFrame(
            [
                {
                    "format": a["format"] + ("" if a["quantize"] == "none" else f" ({a['quantize']})"),
                    "file": a["file"],
                    "size (KB)": f"{a['size_bytes'] / 1024:,.0f}",
                    "MNIST test accuracy": percent(a["test_accuracy"]),
                    "same label as Keras": percent(a["agreement"]),
                    "single image (ms, median)": f"{a['latency_ms_p50']:.2f}",
                }
                for a in e["artefacts"]
            ]
        )
        parts.append(
            f"Exported for deployment (`make export`, from `{e['model']}`; each file loaded back and run on the "
            f"{e['n_test']:,} MNIST test digits; latency: {e['latency']}):\n\n{_markdown(table)}"
        )
    load = reports / "web_load.json"
    if load.exists():
        w = json.loads(load.read_text())
        parts.append(
            f"Web demo under load (`make demo-load`): {w['requests']} requests, {w['concurrency']} at a time, "
            f"{w['errors']} errors, p50 {w['p50_ms']} ms, p95 {w['p95_ms']} ms, {w['requests_per_second']} requests/s.\n"
        )
    return "\n".join(parts)


def headline_markdown(metrics: list[dict], reports: Path, link_prefix: str = "") -> str:
    """The README's block: one row per question, each notebook linking to its executed report (at
    ``link_prefix``), and when the reports were last regenerated."""
    table = headline.headline_table(metrics)
    if not table.empty:
        table["notebook"] = [f"[{s}]({link_prefix}{s}.ipynb)" for s in table["notebook"]]
    body = _markdown(table) if not table.empty else "No reports yet: run `make reports`.\n"
    return f"{body}\n{regeneration.summary(reports)}"


def write(reports: Path | None = None, readme: Path | None = None) -> None:
    """Write ``<reports>/README.md`` (the headline table, then every model and table) from the metrics files,
    and the headline block of the top-level README when ``reports`` is the project's own ``reports/`` (a run
    into another folder leaves the README alone)."""
    reports = reports or config.reports_dir()
    if readme is None and reports.resolve() == (config.PROJ_ROOT / "reports").resolve():
        readme = config.PROJ_ROOT / "README.md"
    metrics = load_metrics(reports)
    body = results_markdown(metrics) if metrics else ""
    files.write_text(
        reports / "README.md",
        "# Reports\n\nGenerated by `python -m digits.reports leaderboard` from `reports/metrics/*.json`; "
        f"do not edit by hand.\n\n{headline_markdown(metrics, reports)}\n## Every model\n\n{body}\n"
        f"{extras_markdown(reports)}",
    )
    text = readme.read_text() if readme is not None and readme.exists() else ""
    if RESULTS_START in text and RESULTS_END in text:
        head, rest = text.split(RESULTS_START, 1)
        _, tail = rest.split(RESULTS_END, 1)
        block = headline_markdown(metrics, reports, link_prefix="reports/")
        files.write_text(readme, f"{head}{RESULTS_START}\n{block}{RESULTS_END}{tail}")
