import ast
import json
import os

import nbformat
import pytest
from conftest import needs_real_data
from nbformat.v4 import new_code_cell, new_notebook

from digits import config, files
from digits.reports import __main__ as cli
from digits.reports import headline, hygiene, leaderboard, regeneration, runner

NOTEBOOKS = runner.notebooks()


def test_there_are_notebooks():
    assert [p.stem[:2] for p in NOTEBOOKS] == sorted(p.stem[:2] for p in NOTEBOOKS) and len(NOTEBOOKS) >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_sources_are_clean(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert 'PROFILE = "smoke"' in tagged[0].source
    assert any(hygiene.is_check_cell(c) for c in code), "at least one # NBVAL_CHECK_OUTPUT cell"
    for cell in code:
        if hygiene.is_check_cell(cell):  # nbval's reference: text output, and a count so nbval compares it
            assert cell.outputs and all(o.output_type == "stream" for o in cell.outputs)
            assert cell.execution_count == 1
        else:
            assert cell.outputs == [], f"outputs committed in: {cell.source[:60]!r}"
            assert cell.execution_count is None
        defined = [n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert not defined, "notebooks call digits, they define nothing"
    assert not hygiene.strip(path), "make strip would change this source"
    raw = json.loads(path.read_text())  # nbformat.read adds missing ids silently; papermill warns of them
    assert all("id" in c for c in raw["cells"]), "a cell has no id: nbformat.validator.normalize adds them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_understands_every_parameter(path):
    cell = next(c for c in nbformat.read(path, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    assigned = [t.id for node in ast.parse(cell.source).body for t in node.targets]  # every line is NAME = value
    assert list(runner.declared_parameters(path)) == assigned  # papermill skips a line it cannot parse


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_profile_sets_only_parameters_the_notebook_declares(path):
    declared = runner.declared_parameters(path)
    for profile in runner.profiles():
        values = runner.parameters(path, profile)
        assert set(values) <= set(declared) and values["PROFILE"] == profile


# A notebook that reuses another's model names its epochs again; if the two differ, the run cache misses and
# the model is silently trained a second time. (notebook, parameter) pairs that must agree in every profile.
SHARED_EPOCHS = [  # 07 and 09 read 01's and 02's CNNs with one parameter, EPOCHS_01
    [("01_mlp_vs_cnn", "EPOCHS"), ("02_cnn_architectures", "EPOCHS"), ("06_usps_transfer", "EPOCHS")]
    + [("07_mnist100", "EPOCHS_01"), ("09_best_model", "EPOCHS_01"), ("10_why_cnns_beat_mlps", "EPOCHS_01")],
    [("04_improved_cnn", "EPOCHS"), ("06_usps_transfer", "EPOCHS_BEST"), ("07_mnist100", "EPOCHS_04")]
    + [("09_best_model", "EPOCHS"), ("10_why_cnns_beat_mlps", "EPOCHS_04")],
    [("06_usps_transfer", "EPOCHS_DESKEW"), ("09_best_model", "EPOCHS_06_DESKEW")],
]


@pytest.mark.parametrize("group", SHARED_EPOCHS, ids=lambda g: g[0][0])
def test_reused_models_are_named_with_the_same_epochs_in_every_profile(group):
    for profile in runner.profiles():
        values = {}
        for nb, name in group:
            path = runner.NOTEBOOKS_DIR / f"{nb}.ipynb"
            values[nb, name] = (runner.declared_parameters(path) | runner.parameters(path, profile))[name]
        assert len(set(values.values())) == 1, f"profile {profile}: {values}"


@pytest.fixture(autouse=True)
def quick_calibration(monkeypatch):
    """A regeneration times the machine's calibration workload (tens of seconds) before its first notebook:
    here a stand-in, so the runner's tests stay fast (``test_the_calibration_times_a_real_epoch`` runs it)."""
    from digits import machine

    monkeypatch.setattr(machine, "calibrate", lambda: {"what": "a stand-in workload", "seconds": 0.5})


def _notebook(path, cells, params='PROFILE = "smoke"\nEPOCHS = 1'):
    cell = new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[cell, *cells])
    nb.metadata["kernelspec"] = {"name": runner.KERNEL, "display_name": "digits", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebooks_dir(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "profiles.yaml").write_text("full:\n  50_probe: {EPOCHS: 20}\n")
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", folder)
    monkeypatch.setattr(runner, "PROFILES_FILE", folder / "profiles.yaml")
    return folder


def test_a_profile_and_overrides_set_the_parameters(notebooks_dir):
    source = _notebook(notebooks_dir / "50_probe.ipynb", [])
    assert runner.parameters(source, "smoke") == {"PROFILE": "smoke"}
    assert runner.parameters(source, "full") == {"PROFILE": "full", "EPOCHS": 20}
    assert runner.parameters(source, "full", runner.parse_overrides(["EPOCHS=30"]))["EPOCHS"] == 30
    assert runner.parse_overrides(["SEEDS=[42, 43]", "N_TRAIN=null", "NAME=x"]) == {
        "SEEDS": [42, 43],
        "N_TRAIN": None,
        "NAME": "x",
    }
    with pytest.raises(ValueError, match=r"no parameter\(s\) \['EPOCHZ'\]; its parameters are: PROFILE, EPOCHS"):
        runner.parameters(source, "full", {"EPOCHZ": 3})
    with pytest.raises(ValueError, match="no profile 'fast'; the profiles are: smoke, full"):
        runner.parameters(source, "fast")
    with pytest.raises(ValueError, match="NAME=VALUE"):
        runner.parse_overrides(["EPOCHS"])


def test_a_run_reads_each_notebooks_parameters_once(notebooks_dir, monkeypatch):
    for stem in ("50_probe", "51_other"):
        _notebook(notebooks_dir / f"{stem}.ipynb", [])
    read = []
    inspect = runner.declared_parameters
    monkeypatch.setattr(runner, "declared_parameters", lambda source: read.append(source.stem) or inspect(source))
    runner.run(None, "full", {"EPOCHS": 30})  # validated and parameterised; nothing runs until iterated
    assert sorted(read) == ["50_probe", "51_other"]


def test_an_override_reaches_the_executed_notebook(notebooks_dir, capsys):
    _notebook(notebooks_dir / "50_probe.ipynb", [new_code_cell("print('epochs', EPOCHS, PROFILE)")])
    assert cli.main(["run", "50_probe", "--profile", "full", "--set", "EPOCHS=7"]) == 0
    executed = nbformat.read(config.reports_dir() / "50_probe.ipynb", as_version=4)
    assert "epochs 7 full" in executed.cells[-1].outputs[0]["text"]
    assert cli.main(["run", "50_probe", "--set", "EPOCHZ=7"]) == 1  # refused before anything runs
    assert "no chosen notebook has the parameter(s) ['EPOCHZ']" in capsys.readouterr().err


def test_a_relative_data_folder_reaches_the_kernel_as_given_by_the_user(notebooks_dir, tmp_path, monkeypatch):
    _notebook(notebooks_dir / "50_where.ipynb", [new_code_cell("import os; print(os.environ['DIGITS_DATA_DIR'])")])
    (tmp_path / "mydata").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGITS_DATA_DIR", "mydata")  # relative to where the user typed, not to notebooks/
    assert cli.main(["run", "50_where", "--profile", "smoke"]) == 0
    executed = nbformat.read(runner.reports_dir("smoke") / "50_where.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0]["text"].strip() == str(tmp_path / "mydata")


def test_a_notebooks_models_and_their_companions_are_published(notebooks_dir):
    """A shipped model, its temperature and its decline rule all reach reports/models/ (they belong together)."""
    writes = "import os, pathlib\nfolder = pathlib.Path(os.environ['DIGITS_REPORTS_DIR']) / 'models'\n"
    writes += "folder.mkdir()\nfor name in ('m.keras', 'm.calibration.json', 'm.decline.npz'):\n"
    writes += "    (folder / name).write_text(name)"
    _notebook(notebooks_dir / "50_ships.ipynb", [new_code_cell(writes)])
    assert cli.main(["run", "50_ships", "--profile", "full"]) == 0
    for name in ("m.keras", "m.calibration.json", "m.decline.npz"):
        assert (config.reports_dir() / "models" / name).read_text() == name


def test_papermill_runs_a_notebook_end_to_end(tmp_path):
    out = tmp_path / "reports"
    seconds = runner.run_notebook(config.PROJ_ROOT / "notebooks" / "00_eda.ipynb", "smoke", reports=out)
    assert seconds > 0
    assert (out / "00_eda.ipynb").is_file() and (out / "00_eda.html").is_file()
    metrics = json.loads((out / "metrics" / "00_eda.json").read_text())
    assert metrics["profile"] == "smoke" and metrics["environment"]["keras"]
    assert len(list((out / "figures" / "00_eda").glob("*.png"))) >= 4
    assert not list(out.glob(".staging-*"))
    executed = (out / "00_eda.ipynb").read_text()
    for startup_line in ("absl::InitializeLog", "oneDNN", "cpu_feature_guard"):
        assert startup_line not in executed  # TensorFlow's start-up log stays out of reports


def test_a_failing_notebook_stops_the_run_and_keeps_the_old_report(notebooks_dir, tmp_path, monkeypatch, capsys):
    _notebook(notebooks_dir / "50_broken.ipynb", [new_code_cell("x = 1"), new_code_cell("raise ValueError('boom')")])
    out = tmp_path / "reports"
    (out / "metrics").mkdir(parents=True)
    (out / "50_broken.ipynb").write_text("previous good report")
    (out / "metrics" / "50_broken.json").write_text("{}")
    monkeypatch.setenv("DIGITS_REPORTS_DIR", str(out))

    assert cli.main(["run", "50_broken", "--profile", "full"]) == 1
    err = capsys.readouterr().err
    assert "50_broken" in err and "cell" in err and "ValueError: boom" in err
    assert (out / "50_broken.ipynb").read_text() == "previous good report"
    assert (out / "metrics" / "50_broken.json").read_text() == "{}"
    assert (out / "50_broken.failed.ipynb").is_file()


def _metrics_writer(stem: str, payload: dict):
    """A notebook cell that writes ``payload`` as the notebook's metrics file, as digits.save_metrics does."""
    return new_code_cell(
        "import json, os, pathlib\n"
        "folder = pathlib.Path(os.environ['DIGITS_REPORTS_DIR']) / 'metrics'\n"
        "folder.mkdir(parents=True, exist_ok=True)\n"
        f"(folder / '{stem}.json').write_text(json.dumps({payload!r}))"
    )


def test_make_reports_runs_the_reports_cli_with_the_profile():
    import subprocess

    dry = subprocess.run(
        ["make", "-n", "reports", "PROFILE=smoke", "EPOCHS=2"], cwd=config.PROJ_ROOT, capture_output=True, text=True
    )
    assert "-m digits.reports run --profile smoke --lanes 1 --set 'EPOCHS=2'" in dry.stdout


def test_a_run_of_every_notebook_writes_regeneration_json(notebooks_dir, monkeypatch):
    models = {
        "a": _row(0.99, 60.0, cached=True),
        "b": _row(0.98, 30.0, cached=False),
        "a + b": _row(0.99, 90.0, members=["a", "b"]),
    }
    _notebook(notebooks_dir / "50_first.ipynb", [_metrics_writer("50_first", _metrics("50_first", models))])
    study = _metrics("51_second", {}) | {"study_runs": {"runs": 3, "cached": 1, "train_seconds": 5.0}}
    _notebook(notebooks_dir / "51_second.ipynb", [_metrics_writer("51_second", study)])
    runs = config.cache_dir() / "runs" / "old-run"
    runs.mkdir(parents=True)
    (runs / "result.json").write_text("{}")  # one run in the cache: not a from-scratch regeneration

    assert cli.main(["run", "--profile", "smoke"]) == 0
    record = json.loads((runner.reports_dir("smoke") / "regeneration.json").read_text())
    assert record["profile"] == "smoke" and not record["from_empty_cache"] and record["runs_in_cache_at_start"] == 1
    assert [n["notebook"] for n in record["notebooks"]] == ["50_first", "51_second"]
    assert [(n["trained"], n["reused"]) for n in record["notebooks"]] == [(1, 1), (2, 1)]  # the ensemble is neither
    assert (record["models_trained"], record["models_reused"]) == (3, 2)
    assert all(n["wall_minutes"] > 0 for n in record["notebooks"])
    laps = record["notebooks"]  # each figure is rounded to 0.01 min: the sum of the laps may round up past the whole
    assert record["wall_minutes"] >= sum(n["wall_minutes"] for n in laps) - 0.005 * (len(laps) + 1)
    assert record["started_utc"] < record["ended_utc"] and record["started_utc"].endswith("+00:00")
    assert record["cores"] >= 1 and record["cpu"] and record["libraries"]["keras"] and record["libraries"]["tensorflow"]
    assert "**" in regeneration.summary(runner.reports_dir("smoke"))
    assert "Last `make reports`" in (runner.reports_dir("smoke") / "README.md").read_text()

    (runner.reports_dir("smoke") / "regeneration.json").unlink()
    assert cli.main(["run", "50_first", "--profile", "smoke"]) == 0  # one notebook is not a regeneration
    assert not (runner.reports_dir("smoke") / "regeneration.json").exists()


def test_runs_an_earlier_attempt_trained_count_as_trained_not_reused():
    start = "2026-11-24T08:00:00+00:00"
    metrics = {
        "models": {
            "before": _row(0.99, cached=True, finished_utc="2026-11-20T10:00:00+00:00"),  # in the cache already
            "attempt 1": _row(0.99, cached=True, finished_utc="2026-11-24T09:00:00+00:00"),  # this regeneration's
            "old cache": _row(0.99, cached=True),  # cached by a version that kept no time: reused
            "now": _row(0.99, cached=False, finished_utc="2026-11-24T11:00:00+00:00"),
        },
        "study_runs": {
            "runs": 4,
            "cached": 3,
            "cached_finished_utc": ["", "2026-11-24T08:30:00+00:00", "2026-11-01T00:00:00+00:00"],
        },
    }
    assert regeneration.run_counts(metrics, since=start) == {"trained": 4, "reused": 4}
    assert regeneration.run_counts(metrics) == {"trained": 2, "reused": 6}  # no start known: the cache's word


def test_a_run_an_earlier_notebook_trained_counts_as_reused_where_another_reads_it(tmp_path, monkeypatch):
    monkeypatch.setattr(regeneration.time, "perf_counter", lambda: 0.0)
    clock = regeneration.Clock("full", reports=tmp_path)
    clock.state["started_utc"] = "2026-11-24T08:00:00+00:00"
    first = {"a": _row(0.99, cached=False, finished_utc="2026-11-24T08:10:00+00:00")}
    second = {
        "a": _row(0.99, cached=True, finished_utc="2026-11-24T08:10:00+00:00"),  # 50_first's run, read again
        "b": _row(0.99, cached=True, finished_utc="2026-11-24T08:40:00+00:00"),  # an interrupted attempt's
        "c": _row(0.99, cached=False, finished_utc="2026-11-24T09:00:00+00:00"),
    }
    for stem, models, finished_at in (("50_first", first, "2026-11-24T08:10:00+0000"), ("51_second", second, "")):
        files.write_json(tmp_path / "metrics" / f"{stem}.json", {"models": models, "finished_at": finished_at})
        clock.lap(stem, 60.0)
    counts = {n["notebook"]: (n["trained"], n["reused"]) for n in clock.record()["notebooks"]}
    assert counts == {"50_first": (1, 0), "51_second": (2, 1)}


def test_the_time_of_an_interrupted_notebook_counts_when_it_finishes(tmp_path, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(regeneration.time, "perf_counter", lambda: now[0])
    first = regeneration.Clock("full", reports=tmp_path)
    now[0] += 100.0
    first.lap("50_first", 100.0)
    with first.ticking():  # saves the progress on entry, every heartbeat and on exit
        first.start("51_second")
        now[0] += 50.0
        first.start("52_third")  # in the other lane
        now[0] += 200.0  # 51_second has run for 250 s, 52_third for 200 s; then the machine goes away
    saved = json.loads((tmp_path / regeneration.PARTIAL).read_text())
    assert saved["earlier_seconds"] == 350.0 and saved["unfinished"] == {"51_second": 250.0, "52_third": 200.0}

    second = regeneration.Clock("full", reports=tmp_path)  # resumed: each runs again, for 40 s
    assert second.done == ["50_first"]
    second.start("51_second")
    second.start("52_third")
    now[0] += 40.0
    second.lap("52_third", 40.0)
    second.lap("51_second", 40.0)
    assert [lap["seconds"] for lap in second.state["laps"]] == [100.0, 240.0, 290.0]
    assert second.record()["wall_minutes"] == round(390.0 / 60, 2)


def test_an_interrupted_make_reports_resumes_and_counts_every_attempt(notebooks_dir, tmp_path, monkeypatch):
    runs_log = tmp_path / "executions.txt"  # each execution of a probe notebook appends its name
    count = new_code_cell(f"open({str(runs_log)!r}, 'a').write(PROFILE_NAME + '\\n')")
    _notebook(
        notebooks_dir / "50_first.ipynb",
        [count, _metrics_writer("50_first", _metrics("50_first", {}))],
        'PROFILE = "smoke"\nPROFILE_NAME = "50_first"',
    )
    broken = notebooks_dir / "51_second.ipynb"
    _notebook(broken, [new_code_cell("raise RuntimeError('interrupted')")])

    assert cli.main(["run", "--profile", "smoke"]) == 1  # the second notebook fails: the run stops there
    assert not (runner.reports_dir("smoke") / "regeneration.json").exists()
    assert (runner.reports_dir("smoke") / regeneration.PARTIAL).is_file()

    _notebook(broken, [_metrics_writer("51_second", _metrics("51_second", {}))])  # fixed, then run again
    assert cli.main(["run", "--profile", "smoke"]) == 0
    assert runs_log.read_text().split() == ["50_first"]  # the finished notebook was not executed again
    record = json.loads((runner.reports_dir("smoke") / "regeneration.json").read_text())
    assert record["attempts"] == 2 and record["from_empty_cache"]
    assert [n["notebook"] for n in record["notebooks"]] == ["50_first", "51_second"]
    assert "in 2 attempts" in regeneration.summary(runner.reports_dir("smoke"))
    assert not (runner.reports_dir("smoke") / regeneration.PARTIAL).exists()  # the next make reports starts afresh

    assert cli.main(["run", "--profile", "smoke"]) == 0
    assert runs_log.read_text().split() == ["50_first", "50_first"]
    assert json.loads((runner.reports_dir("smoke") / "regeneration.json").read_text())["attempts"] == 1


def _waits_for(flag_dir, mine: str, other: str):
    """A cell that marks ``mine`` as started, then waits (at most 120 s) until ``other`` has started too."""
    return new_code_cell(
        "import pathlib, time\n"
        f"flags = pathlib.Path({str(flag_dir)!r})\n"
        f"(flags / {mine!r}).touch()\n"
        "deadline = time.time() + 120\n"
        f"while not (flags / {other!r}).exists():\n"
        "    assert time.time() < deadline, 'the other notebook never ran at the same time'\n"
        "    time.sleep(0.2)"
    )


def test_two_lanes_run_two_notebooks_at_once_and_a_notebook_after_those_it_needs(
    notebooks_dir, tmp_path, monkeypatch, capfd
):
    flags = tmp_path / "flags"
    flags.mkdir()
    # 50 and 51 each wait until the other has started: they finish only if they run side by side
    _notebook(notebooks_dir / "50_first.ipynb", [_waits_for(flags, "50", "51"), _metrics_writer("50_first", {})])
    _notebook(notebooks_dir / "51_second.ipynb", [_waits_for(flags, "51", "50"), _metrics_writer("51_second", {})])
    # 52 reads what 50 published: it must start after 50 finished, although a lane is free before
    check = new_code_cell(
        "import os, pathlib\n"
        "assert (pathlib.Path(os.environ['DIGITS_REPORTS_DIR']).parent / '50_first.ipynb').is_file()"
    )
    _notebook(
        notebooks_dir / "52_third.ipynb",
        [check, new_code_cell("import os\nprint(os.environ['TF_NUM_INTRAOP_THREADS'])")],
    )
    monkeypatch.setattr(runner, "NEEDS", {"52_third": ("50_first",)})
    started = []

    finished = [stem for stem, _ in runner.run(None, "smoke", lanes=2, on_start=started.append)]
    assert sorted(finished) == ["50_first", "51_second", "52_third"] and finished[-1] == "52_third"
    assert set(started[:2]) == {"50_first", "51_second"}
    executed = nbformat.read(runner.reports_dir("smoke") / "52_third.ipynb", as_version=4)
    half = max(1, os.cpu_count() // 2)
    assert executed.cells[-1].outputs[0]["text"].strip() == str(half)  # each kernel gets half the cores
    assert f"52_third | {half}" in capfd.readouterr().err  # cell output reaches the log, led by the notebook's name


def test_a_failing_notebook_in_a_lane_stops_the_run_after_the_other_lane_finishes(notebooks_dir):
    _notebook(notebooks_dir / "50_fails.ipynb", [new_code_cell("raise RuntimeError('broken on purpose')")])
    wait = (  # 51 finishes only after 50 has failed, so no lane frees up before the failure is known
        "import os, pathlib, time\n"
        "failed = pathlib.Path(os.environ['DIGITS_REPORTS_DIR']).parent / '50_fails.failed.ipynb'\n"
        "deadline = time.time() + 120\n"
        "while not failed.exists():\n"
        "    assert time.time() < deadline\n"
        "    time.sleep(0.2)"
    )
    _notebook(notebooks_dir / "51_slow.ipynb", [new_code_cell(wait)])
    _notebook(notebooks_dir / "52_later.ipynb", [])
    finished = []
    with pytest.raises(runner.NotebookFailed, match="50_fails failed at cell.*broken on purpose"):
        for stem, _ in runner.run(None, "smoke", lanes=2):
            finished.append(stem)
    assert finished == ["51_slow"]  # the running one finished and was published; none started after the failure
    assert (runner.reports_dir("smoke") / "51_slow.ipynb").is_file() and not (
        runner.reports_dir("smoke") / "52_later.ipynb"
    ).exists()
    assert (runner.reports_dir("smoke") / "50_fails.failed.ipynb").is_file()
    with pytest.raises(ValueError, match="lanes"):
        runner.run(None, "smoke", lanes=0)  # refused at the call, before anything runs
    assert cli.main(["run", "--profile", "smoke", "--lanes", "0"]) == 1
    assert not (runner.reports_dir("smoke") / regeneration.PARTIAL).exists()  # and no progress file was left behind


def test_the_longest_chain_of_work_starts_first(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "NEEDS", {"03_c": ("01_a", "04_d"), "04_d": ()})  # 03_c also needs a later one
    last = {
        "notebooks": [
            {"notebook": n, "wall_minutes": m} for n, m in (("01_a", 5), ("02_b", 20), ("03_c", 10), ("04_d", 8))
        ]
    }
    files.write_json(tmp_path / "regeneration.json", last)
    chains = runner._priorities(["01_a", "02_b", "03_c", "04_d"], tmp_path)
    assert chains == {"01_a": 15.0, "02_b": 20.0, "03_c": 10.0, "04_d": 18.0}  # 04_d -> 03_c: 18 minutes
    assert runner._priorities(["01_a", "02_b"], tmp_path / "none") == {"01_a": 1.0, "02_b": 1.0}


def test_notebooks_side_by_side_count_as_trained_the_runs_that_finished_after_they_started(tmp_path, monkeypatch):
    monkeypatch.setattr(regeneration.time, "perf_counter", lambda: 0.0)
    clock = regeneration.Clock("full", reports=tmp_path)
    clock.state["started_utc"] = "2026-11-24T08:00:00+00:00"
    clock.state["starts"] = {"50_first": "2026-11-24T08:00:00+00:00", "51_second": "2026-11-24T08:00:00+00:00"}
    clock.state["starts"]["52_third"] = "2026-11-24T08:30:00+00:00"
    first = {"a": _row(0.99, cached=False, finished_utc="2026-11-24T08:20:00+00:00")}
    second = {  # ran beside 50_first and finished before it
        "b": _row(0.99, cached=True, finished_utc="2026-11-24T08:05:00+00:00"),  # its interrupted attempt's
        "c": _row(0.99, cached=False, finished_utc="2026-11-24T08:10:00+00:00"),
    }
    third = {  # needs both: started when 50_first had finished
        "a": _row(0.99, cached=True, finished_utc="2026-11-24T08:20:00+00:00"),
        "d": _row(0.99, cached=False, finished_utc="2026-11-24T08:40:00+00:00"),
    }
    for stem, models, finished_at in (
        ("51_second", second, "2026-11-24T08:12:00+00:00"),
        ("50_first", first, "2026-11-24T08:25:00+00:00"),
        ("52_third", third, "2026-11-24T08:45:00+00:00"),
    ):
        files.write_json(tmp_path / "metrics" / f"{stem}.json", {"models": models, "finished_at": finished_at})
        clock.lap(stem, 60.0)
    record = clock.record()
    counts = {n["notebook"]: (n["trained"], n["reused"]) for n in record["notebooks"]}
    assert counts == {"50_first": (1, 0), "51_second": (2, 0), "52_third": (1, 1)}
    assert [n["notebook"] for n in record["notebooks"]] == ["50_first", "51_second", "52_third"]


def test_strip_keeps_only_the_reference_outputs(tmp_path):
    check = new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)", execution_count=4)
    check.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    other = new_code_cell("print(2)", execution_count=5)
    other.outputs = [nbformat.v4.new_output("stream", name="stdout", text="2\n")]
    path = _notebook(tmp_path / "n.ipynb", [check, other])
    assert hygiene.strip(path) and not hygiene.strip(path)
    nb = nbformat.read(path, as_version=4)
    kept, stripped = nb.cells[1], nb.cells[2]
    assert kept.outputs[0]["text"] == "1\n" and kept.execution_count == 1 and "keep_output" in kept.metadata.tags
    assert stripped.outputs == [] and stripped.execution_count is None


def _metrics(notebook, models, extra=None, seconds=90.0):
    return {
        "notebook": notebook,
        "profile": "full",
        "notebook_seconds": seconds,
        "environment": {"cpu": "x", "cpu_count": 2},
        "extra": extra or {},
        "models": models,
    }


def _row(acc, seconds=1.0, **more):
    return {"parameters": 10, "test_accuracy": acc, "macro_f1": acc, "train_seconds": seconds, "epochs": 2} | more


def _cells(markdown: str, first: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {first} "))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_leaderboard_is_built_from_metrics_files(tmp_path):
    out = tmp_path / "reports"
    (out / "metrics").mkdir(parents=True)
    for nb, acc, extra in (("01_a", 0.981, {}), ("02_b", 0.9923, {"test_set": "MNIST-100"})):
        (out / "metrics" / f"{nb}.json").write_text(json.dumps(_metrics(nb, {f"m_{nb}": _row(acc)}, extra)))
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{leaderboard.RESULTS_START}\nold\n{leaderboard.RESULTS_END}\noutro\n")
    leaderboard.write(out, readme)
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro") and text.rstrip().endswith("outro")
    # the README holds the headline, one row per question, each linking to its report
    assert _cells(text, "[02_b](reports/02_b.ipynb)")[2] == "m_02_b 99.23%"
    assert "| [01_a]" not in text  # 01's question needs its McNemar test, which this metrics file lacks
    full = (out / "README.md").read_text()  # every model, best first
    assert full.index("| m_02_b ") < full.index("| m_01_a ")
    assert _cells(full, "m_02_b")[:4] == ["m_02_b", "02_b", "MNIST-100", "99.23%"]
    assert _cells(full, "m_01_a")[:4] == ["m_01_a", "01_a", "MNIST", "98.10%"]


def test_the_export_table_reads_export_json(tmp_path):
    artefact = {"format": "tflite", "quantize": "int8", "file": "digit-int8.tflite", "size_bytes": 411832}
    artefact |= {"test_accuracy": 0.9961, "agreement": 0.9998, "latency_ms_p50": 0.6974}
    payload = {"model": "m.keras", "n_test": 10000, "latency": "median", "artefacts": [artefact]}
    (tmp_path / "export.json").write_text(json.dumps(payload))
    text = leaderboard.extras_markdown(tmp_path)
    assert _cells(text, "tflite (int8)") == ["tflite (int8)", "digit-int8.tflite", "402", "99.61%", "99.98%", "0.70"]


def test_the_corpus_accuracy_reaches_the_leaderboard():
    corpus = {"singles": 0.981, "pairs": 0.96, "images": 285, "by_kind": {"pencil": 1.0, "pair, touching": 0.9333}}
    text = leaderboard.results_markdown([_metrics("08_c", {}, {"corpus": corpus})])
    assert "single digits 98.10%, two-digit numbers 96.00%; hardest kind: pair, touching (93.33%)" in text
    corpus |= {"numbers": 0.95, "declined": 0.9}
    text = leaderboard.results_markdown([_metrics("08_c", {}, {"corpus": corpus})])
    assert "two-digit numbers 96.00%, numbers of 3-8 digits 95.00%, non-digits declined 90.00%; hardest" in text


def test_usps_transfer_table_lists_models_best_first():
    usps = {
        "plain": {"mnist_test": 0.99, "usps_naive": 0.8, "usps_framed": 0.975},
        "deskew": {"mnist_test": 0.995, "usps_naive": 0.9, "usps_framed": 0.9851},
    }
    metrics = [_metrics("06_u", {}, {"usps": usps}, seconds=1.0)]
    text = leaderboard.results_markdown(metrics)
    assert _cells(text, "deskew") == ["deskew", "06_u", "98.51%", "90.00%", "99.50%"]
    assert text.index("| deskew ") < text.index("| plain ")
    assert "| plain " not in leaderboard.results_markdown(metrics, top=1)
    assert "USPS" not in leaderboard.results_markdown([metrics[0] | {"extra": {}}])


def test_run_time_table_counts_an_ensembles_training_once():
    models = {
        "a": _row(0.99, 120.0),
        "b": _row(0.99, 120.0),
        "ensemble of a + b": _row(0.99, 240.0, members=["a", "b"]),
    }
    cells = _cells(leaderboard.results_markdown([_metrics("09_x", models, seconds=600.0)]), "09_x")
    assert cells[4] == "4.0"  # a and b: 2 + 2 minutes, the ensemble not again


def test_the_study_findings_reach_the_leaderboard():
    extra = {
        "permutation": {"MLP": {"original": 0.95, "permuted": 0.951}, "CNN": {"original": 0.98, "permuted": 0.93}},
        "shift": {"MLP": [0.98, 0.9, 0.6, 0.3, 0.2], "CNN": [0.99, 0.97, 0.8, 0.5, 0.3]},
        "data_efficiency": {"MLP": {"100": 0.6, "55000": 0.98}, "CNN": {"100": 0.7, "55000": 0.99}},
        "calibration": {"CNN (cnn_improved)": {"ece": 0.01, "ece_scaled": 0.004, "temperature": 1.3}},
        "shipped_temperature": 1.3,
        "shipped_calibration": {"ece": 0.02, "ece_scaled": 0.005, "temperature": 1.4, "shipped": True},
    }
    text = leaderboard.results_markdown([_metrics("10_s", {}, extra)])
    assert _cells(text, "CNN")[1:4] == ["98.00% → 93.00%", "80.00% / 30.00%", "70.00% (100 images)"]
    assert "T = 1.40" in text and "2.00% raw and 0.50% as printed" in text  # the shipped file's own figures
    extra["shipped_calibration"]["shipped"] = False
    text = leaderboard.results_markdown([_metrics("10_s", {}, extra)])
    assert "error on the MNIST test set is 2.00%; temperature scaling did not improve it" in text


def test_the_headline_answers_each_question_from_its_notebooks_metrics():
    extra = {
        "seeds": [{"test_accuracy_mean": 0.99655, "test_accuracy_sd": 0.0003, "seeds": 3}],
        "ensemble": {"members": ["a", "b", "c", "d"], "accuracy": 0.9975},
    }
    perm = {
        "permutation": {"MLP": {"original": 0.94, "permuted": 0.9401}, "CNN": {"original": 0.965, "permuted": 0.87}}
    }
    table = headline.headline_table([_metrics("09_best", {}, extra), _metrics("10_why", {}, perm)])
    assert list(table["notebook"]) == ["09_best", "10_why"]  # only the notebooks that have metrics
    answers = list(table["this repository (measured)"])
    assert answers[0] == "best recipe 99.66% ± 0.03 (3 seeds); ensemble of 4 chosen on validation 99.75%"
    assert answers[1] == "pixels scrambled: MLP 94.00% → 94.01%; CNN 96.50% → 87.00%"
    shifted = [{"test_accuracy_mean": 0.99672, "test_accuracy_sd": 0.0002, "seeds": 3}]
    for adopted, said in ((True, ", 99.67% ± 0.02 read with test-time shifts (chosen on validation);"), (False, ";")):
        extra["shifts"] = {"adopted": adopted, "seeds": shifted}
        answer = headline.headline_table([_metrics("09_best", {}, extra)])["this repository (measured)"].iloc[0]
        assert answer.startswith("best recipe 99.66% ± 0.03 (3 seeds)" + said)
    extra["cheaper_recipe"] = {"recipe": "lean", "test_mean": 0.99612, "test_sd": 0.0004, "seeds": 3,
                               "cheaper_than_best": 3.26}  # fmt: skip
    answer = headline.headline_table([_metrics("09_best", {}, extra)])["this repository (measured)"].iloc[0]
    assert answer.endswith("; cheaper recipe (lean) 99.61% ± 0.04 (3 seeds), trained 3.3× cheaper")


def test_the_mnist100_headline_gives_the_test_accuracy_of_the_model_chosen_on_validation():
    models = {"mlp 512-256": {"test_accuracy": 0.92}, "cnn on each half": {"test_accuracy": 0.9915}}
    models["ensemble on each half"] = {"test_accuracy": 0.992}  # better on test, but not chosen
    extra = {"val_accuracy": {"mlp": 0.91, "digit model": 0.991, "ensemble": 0.9908}, "best": "digit model"}
    answer = headline.headline_table([_metrics("07_mnist100", models, extra)])["this repository (measured)"].iloc[0]
    assert answer == "digit model 99.15%; mlp 512-256 92.00%"
    extra["best_test_accuracy"] = 0.9913  # what the notebook records beside its choice comes first
    answer = headline.headline_table([_metrics("07_mnist100", models, extra)])["this repository (measured)"].iloc[0]
    assert answer == "digit model 99.13%; mlp 512-256 92.00%"


def test_the_headline_reads_every_committed_metrics_file():
    metrics = leaderboard.load_metrics(config.PROJ_ROOT / "reports")
    table = headline.headline_table(metrics)
    assert set(table["notebook"]) == {m["notebook"] for m in metrics if m["notebook"][:2] != "00"}
    assert table["this repository (measured)"].str.contains("%").all()


def test_a_profile_but_full_writes_its_own_folder_and_leaves_reports_untouched(notebooks_dir):
    _notebook(notebooks_dir / "50_probe.ipynb", [new_code_cell("print('epochs', EPOCHS, PROFILE)")])
    committed = config.reports_dir()
    committed.mkdir(parents=True)
    (committed / "50_probe.ipynb").write_text("the committed full report")
    (committed / "README.md").write_text("committed tables")
    before = sorted(p.relative_to(committed) for p in committed.rglob("*"))

    assert cli.main(["run", "--profile", "smoke"]) == 0
    assert sorted(p.relative_to(committed) for p in committed.rglob("*") if "profiles" not in p.parts) == before
    assert (committed / "50_probe.ipynb").read_text() == "the committed full report"
    smoke = runner.reports_dir("smoke")
    assert smoke == committed / "profiles" / "smoke"
    assert (smoke / "50_probe.ipynb").is_file() and (smoke / "index.html").is_file()
    assert (smoke / "regeneration.json").is_file()


def test_profile_folders_are_ignored_by_git():
    import subprocess

    ignored = subprocess.run(
        ["git", "check-ignore", "reports/profiles/smoke/00_eda.ipynb"], cwd=config.PROJ_ROOT, capture_output=True
    )
    assert ignored.returncode == 0


def test_a_report_page_folds_its_code_and_links_the_other_reports(tmp_path):
    from digits.reports import site

    for stem in ("50_first", "51_second"):
        cells = [nbformat.v4.new_markdown_cell(f"# {stem}\n\n## Results\n\nText."), new_code_cell("1 + 1")]
        cells[1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
        hidden = new_code_cell("secret = 1")
        hidden.metadata["tags"] = ["remove-input"]
        nbformat.write(new_notebook(cells=[*cells, hidden]), tmp_path / f"{stem}.ipynb")
    written = site.build(tmp_path)
    assert [p.name for p in written] == ["50_first.html", "51_second.html", "index.html"]
    page = (tmp_path / "50_first.html").read_text()
    assert '<details class="digits-code"><summary>code</summary>' in page  # folded, one click away
    assert "secret = 1" not in page  # remove-input: the input is gone
    assert 'href="51_second.html"' in page and 'href="index.html"' in page
    assert '<a href="#Results">Results</a>' in page  # the contents list
    index = (tmp_path / "index.html").read_text()
    assert 'href="50_first.html"' in index and 'href="51_second.html"' in index


def test_the_index_links_every_committed_report_from_its_headline_table(tmp_path):
    import shutil

    from digits.reports import site

    reports = config.PROJ_ROOT / "reports"
    shutil.copytree(reports / "metrics", tmp_path / "metrics")
    for notebook in runner.notebooks():
        (tmp_path / f"{notebook.stem}.ipynb").write_text("{}")
    index = site.index_page(tmp_path)
    for notebook in runner.notebooks():
        assert f'<a href="{notebook.stem}.html">{notebook.stem}</a>' in index
    assert index.count("<tr>") >= 10  # the header and a row per question


def test_the_regeneration_record_names_the_machine_exactly(notebooks_dir):
    _notebook(notebooks_dir / "50_probe.ipynb", [])
    assert cli.main(["run", "--profile", "smoke"]) == 0
    machine = json.loads((runner.reports_dir("smoke") / "regeneration.json").read_text())["machine"]
    assert set(machine) == {"cpu", "flags", "cores", "calibration"}
    assert machine["calibration"] == {"what": "a stand-in workload", "seconds": 0.5}
    assert machine["cores"] >= 1 and isinstance(machine["flags"], list)
    assert "times the machine's calibration workload (a stand-in workload: 0 s)" in regeneration.summary(
        runner.reports_dir("smoke")
    )


def test_the_cpu_is_named_with_family_model_and_stepping(tmp_path):
    from digits import machine

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\n"
        "stepping\t: 1\nflags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_bf16\n\nprocessor\t: 1\n"
    )
    info = machine.cpuinfo(str(cpuinfo))
    assert machine.cpu_name(info) == "AMD EPYC (AuthenticAMD family 25 model 17 stepping 1)"
    assert machine.speed_flags(info) == ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16"]


@needs_real_data
def test_a_notebook_executed_by_papermill_shows_one_line_per_run_and_no_epoch_lines(notebooks_dir):
    fit = new_code_cell(
        "from digits import data, train\n"
        "splits = data.mnist_splits(n_train=500, n_val=200, n_test=200)\n"
        "result = train.fit('mlp_baseline', splits, epochs=EPOCHS, label='probe')"
    )
    _notebook(notebooks_dir / "50_fit.ipynb", [fit], params='PROFILE = "smoke"\nEPOCHS = 3')
    assert cli.main(["run", "50_fit", "--profile", "smoke"]) == 0
    executed = nbformat.read(runner.reports_dir("smoke") / "50_fit.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in executed.cells[-1].outputs if o.output_type == "stream")
    assert text.count("\n") == 1 and text.startswith("run probe · Adam · 500 images · seed 42 · 3 epochs · trained")
    assert "Epoch" not in text and "/step" not in text
