import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from digits import config, reports

NOTEBOOKS = reports.notebooks()


def test_there_are_notebooks():
    assert [p.stem[:2] for p in NOTEBOOKS] == sorted(p.stem[:2] for p in NOTEBOOKS) and len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_sources_are_clean(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    for name in ("PROFILE", "EPOCHS", "N_TRAIN", "SEEDS"):
        assert f"{name} =" in tagged[0].source
    assert any(reports.is_check_cell(c) for c in code), "at least one # NBVAL_CHECK_OUTPUT cell"
    for cell in code:
        if reports.is_check_cell(cell):  # nbval's reference: text output, and a count so nbval compares it
            assert cell.outputs and all(o.output_type == "stream" for o in cell.outputs)
            assert cell.execution_count == 1
        else:
            assert cell.outputs == [], f"outputs committed in: {cell.source[:60]!r}"
            assert cell.execution_count is None
        assert "def " not in cell.source and "class " not in cell.source, "notebooks call digits, they define nothing"


def _notebook(path, cells):
    params = new_code_cell('PROFILE = "smoke"')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, *cells])
    nb.metadata["kernelspec"] = {"name": reports.KERNEL, "display_name": "digits", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_papermill_runs_a_notebook_end_to_end(tmp_path):
    out = tmp_path / "reports"
    seconds = reports.run_notebook(config.PROJ_ROOT / "notebooks" / "00_eda.ipynb", "smoke", reports=out)
    assert seconds > 0
    assert (out / "00_eda.ipynb").is_file() and (out / "00_eda.html").is_file()
    metrics = json.loads((out / "metrics" / "00_eda.json").read_text())
    assert metrics["profile"] == "smoke" and metrics["environment"]["keras"]
    assert len(list((out / "figures" / "00_eda").glob("*.png"))) >= 4
    assert not list(out.glob(".staging-*"))


def test_a_failing_notebook_stops_the_run_and_keeps_the_old_report(tmp_path, monkeypatch, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "50_broken.ipynb", [new_code_cell("x = 1"), new_code_cell("raise ValueError('boom')")])
    out = tmp_path / "reports"
    (out / "metrics").mkdir(parents=True)
    (out / "50_broken.ipynb").write_text("previous good report")
    (out / "metrics" / "50_broken.json").write_text("{}")
    monkeypatch.setattr(reports, "NOTEBOOKS_DIR", notebooks)
    monkeypatch.setenv("DIGITS_REPORTS_DIR", str(out))

    assert reports.main(["run", "50_broken", "--profile", "smoke"]) == 1
    err = capsys.readouterr().err
    assert "50_broken" in err and "cell" in err and "ValueError: boom" in err
    assert (out / "50_broken.ipynb").read_text() == "previous good report"
    assert (out / "metrics" / "50_broken.json").read_text() == "{}"
    assert (out / "50_broken.failed.ipynb").is_file()


def test_leaderboard_is_built_from_metrics_files(tmp_path):
    out = tmp_path / "reports"
    (out / "metrics").mkdir(parents=True)
    for nb, acc, extra in (("01_a", 0.981, {}), ("02_b", 0.9923, {"test_set": "MNIST-100"})):
        (out / "metrics" / f"{nb}.json").write_text(json.dumps({
            "notebook": nb, "profile": "full", "notebook_seconds": 90.0, "environment": {"cpu": "x", "cpu_count": 2}, "extra": extra,
            "models": {f"m_{nb}": {"parameters": 10, "test_accuracy": acc, "macro_f1": acc, "train_seconds": 1.0, "epochs": 2}},
        }))  # fmt: skip
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{reports.RESULTS_START}\nold\n{reports.RESULTS_END}\noutro\n")
    reports.write_leaderboard(out, readme)
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro") and text.rstrip().endswith("outro")
    assert text.index("99.23%") < text.index("98.10%")  # sorted best first
    assert "99.23%" in (out / "README.md").read_text()
    assert "| m_02_b | 02_b | MNIST-100 | 99.23% |" in text and "| m_01_a | 01_a | MNIST | 98.10% |" in text


def test_usps_transfer_table_lists_models_best_first():
    usps = {"plain": {"mnist_test": 0.99, "usps_naive_resize": 0.8, "usps_frame_like_mnist": 0.975},
            "deskew": {"mnist_test": 0.995, "usps_naive_resize": 0.9, "usps_frame_like_mnist": 0.9851}}  # fmt: skip
    metrics = [{"notebook": "06_u", "profile": "full", "notebook_seconds": 1.0, "environment": {}, "extra": {"usps": usps}, "models": {}}]
    text = reports.results_markdown(metrics)
    assert "| deskew | 06_u | 98.51% | 90.00% | 99.50% |" in text
    assert text.index("| deskew |") < text.index("| plain |")
    assert "| plain |" not in reports.results_markdown(metrics, top=1)
    assert "USPS" not in reports.results_markdown([metrics[0] | {"extra": {}}])


def test_run_time_table_counts_an_ensembles_training_once():
    member = {"parameters": 10, "test_accuracy": 0.99, "macro_f1": 0.99, "train_seconds": 120.0, "epochs": 2}
    metrics = [{
        "notebook": "09_x", "profile": "full", "notebook_seconds": 600.0, "environment": {"cpu": "x", "cpu_count": 2},
        "models": {"a": member, "b": member, "ensemble of a + b": member | {"train_seconds": 240.0, "members": ["a", "b"]}},
    }]  # fmt: skip
    row = next(line for line in reports.results_markdown(metrics).splitlines() if line.startswith("| 09_x"))
    assert row.split("|")[5].strip() == "4.0"  # a and b: 2 + 2 minutes, the ensemble not again
