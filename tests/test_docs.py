"""What the README and ``docs/*.md`` tell a reader to type works: every fenced code block is run or checked.

- ``python`` blocks run for real, each in a fresh interpreter (``sys.executable``) in the repository root. A
  block preceded by ``<!-- not run by tests/test_docs.py: <reason> -->`` is only checked: it compiles, every
  name it takes from ``digits`` exists, and every call of a ``digits`` function binds to its signature.
- ``bash``, ``sh`` and ``console`` blocks: each command line is classified below. Cheap commands run for
  real (``.venv/bin/python`` becomes ``sys.executable``; ``python -m digits predict`` runs in this process,
  through the ``main`` that ``python -m digits`` calls, to spare a TensorFlow start per command). Long
  ``make`` targets are dry-run (``make -n``: the target exists and its recipe expands; its ``NAME=VALUE``
  settings are checked), long ``python -m digits`` commands parsed by the real argument parser without
  running. A command that fits none of these fails the test: a new command is classified here, with its
  reason.
- ``text`` blocks are output, not commands: skipped. A block without a language fails.

Also checked: the README's length and order, its generated results block, and every relative link and
repository path the pages name.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import needs_real_data

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
TIMEOUT = 300  # seconds per command or snippet: a TensorFlow start on a busy 2-core machine takes a while

# make targets a page may name, and why each is only dry-run (make -n) here. "help" runs for real.
DRY_RUN_MAKE = {
    "setup": "creates .venv and installs the pinned requirements (network, minutes)",
    "reports": "executes every notebook: hours of training",
    "report-": "executes one notebook: minutes to hours of training",
    "test": "the whole suite, every notebook under nbval included (minutes)",
    "test-fast": "the whole unit-test suite",
    "lint": "ruff over the whole repository, which other work in progress may not pass yet; make test runs it",
    "format": "rewrites source files",
    "lab": "starts JupyterLab and waits",
    "demo": "starts the web server and waits",
    "demo-load": "serves the models and sends 500 requests",
    "export": "writes six exports and scores each on the MNIST test set",
    "bench": "trains two models three times",
    "tune": "a hyperparameter search: trains models",
    "tune-distributed": "a distributed hyperparameter search: trains models in several processes",
    "tensorboard": "starts TensorBoard and waits",
    "site": "rewrites every HTML report in reports/",
    "leaderboard": "rewrites reports/README.md and the README's results block",
    "strip": "rewrites the notebook sources",
    "references": "runs every notebook's smoke profile to refresh nbval's reference outputs",
    "clean-cache": "deletes the run cache",
}
RUN_MAKE = {"help"}
# python -m digits commands that are parsed, not run, and why; "predict" and any --help run for real
PARSE_ONLY_CLI = {
    "export": "writes model files (seconds to a minute each)",
    "tune": "trains models",
    "serve": "starts a web server and waits",
    "evaluate": "needs the reader's own arrays",
}
RUN_CLI = {"predict"}
READ_ONLY_PROGRAMS = {"ls", "cat", "head", "wc"}
NOT_RUN = re.compile(r"<!--\s*not run by tests/test_docs\.py:\s*(?P<reason>\S.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence
    lang: str
    body: str
    not_run: str | None  # the reason, for a python block that is only checked

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order."""
    found, lines, i = [], page.read_text().splitlines(), 0
    while i < len(lines):
        opening = re.match(r"^(\s*)(```+)\s*([\w+-]*)", lines[i])
        if not opening:
            i += 1
            continue
        indent, fence, lang = opening.groups()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence), None)
        assert end is not None, f"{page.relative_to(ROOT)}:{i + 1}: a code block is never closed"
        body = "\n".join(line[len(indent) :] for line in lines[i + 1 : end]) + "\n"
        before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = NOT_RUN.search(before)
        found.append(Block(page, i + 1, lang.lower(), body, marker["reason"] if marker else None))
        i = end + 1
    return found


ALL_BLOCKS = [block for page in PAGES for block in blocks(page)]


def commands(block: Block) -> list[str]:
    """The command lines of a shell block (backslash continuations joined; in ``console``, lines after ``$``)."""
    joined = re.sub(r"\\\n\s*", " ", block.body)
    lines = [line.strip() for line in joined.splitlines()]
    if block.lang == "console":
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    return [shlex.join(argv) for line in lines if (argv := shlex.split(line, comments=True))]


SHELL_COMMANDS = [
    pytest.param(block, command, id=f"{block.where} {command}")
    for block in ALL_BLOCKS
    if block.lang in ("bash", "sh", "console")
    for command in commands(block)
]
READS_DATA = re.compile(r"load_mnist|load_usps|mnist_splits")


def _runs_on_data(block: Block) -> bool:
    return not block.not_run and bool(READS_DATA.search(block.body))


PYTHON_BLOCKS = [
    pytest.param(block, id=block.where, marks=[needs_real_data] if _runs_on_data(block) else [])
    for block in ALL_BLOCKS
    if block.lang == "python"
]


# --------------------------------------------------------------------------- the pages themselves


def test_every_block_says_what_it_is():
    known = {"python", "bash", "sh", "console", "text"}
    unknown = [f"{b.where} ```{b.lang}" for b in ALL_BLOCKS if b.lang not in known]
    assert not unknown, f"mark each block python, bash, console or text (output): {unknown}"
    misplaced = [b.where for b in ALL_BLOCKS if b.not_run and b.lang != "python"]
    assert not misplaced, f"only a python block can be left unrun: {misplaced}"
    assert SHELL_COMMANDS and PYTHON_BLOCKS


def _readme_without_results() -> tuple[str, str]:
    text = README.read_text()
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    assert text.count(start) == 1 and text.count(end) == 1, "the README keeps one generated results block"
    head, rest = text.split(start)
    block, tail = rest.split(end)
    return head + tail, block


def test_readme_is_short_and_starts_with_the_two_commands():
    prose, block = _readme_without_results()
    words = len(prose.split())
    assert words <= 1500, f"the README has {words} words besides the results block; keep it at 1,500 at most"
    assert "|" in block, "the results block holds the headline table"
    first = README.read_text().splitlines()[:40]
    for command in ("make reports", "make test", "DIGITS_DATA_DIR", ".venv"):
        assert any(command in line for line in first), f"{command!r} belongs in the README's first 40 lines"


def test_prose_names_no_dates_or_commits():
    for page in PAGES:
        text = _readme_without_results()[0] if page == README else page.read_text()
        dates = re.findall(r"\b20\d\d-[01]\d-[0-3]\d\b", text)
        commits = [h for h in re.findall(r"\b[0-9a-f]{7,40}\b", text) if re.search(r"\d", h) and re.search("[a-f]", h)]
        assert not dates and not commits, f"{page.relative_to(ROOT)}: dates {dates}, commit hashes {commits}"


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings."""
    heads = re.findall(r"^#{1,6}\s+(.*?)\s*$", page.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower().replace("`", "")).replace(" ", "-") for h in heads}


def _ignored_by_git(path: str) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0


def test_links_and_paths_lead_somewhere():
    problems = []
    for page in PAGES:
        text = "".join(re.split(r"^```.*?^```", page.read_text(), flags=re.M | re.S))  # prose only
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.exists():
                problems.append(f"{page.name}: link to {target}")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                problems.append(f"{page.name}: no heading for #{anchor} in {resolved.name}")
        for path in re.findall(r"`((?:digits|notebooks|reports|data|docs|tests)/[^`\s]*)`", text):
            if re.search(r"[<*]|NN_", path) or _ignored_by_git(path):
                continue  # a pattern, or what a command writes
            if not (ROOT / path).exists():
                problems.append(f"{page.name}: `{path}`")
    assert not problems, f"these lead nowhere: {problems}"


# --------------------------------------------------------------------------- shell commands


def _environment(**extra) -> dict:
    """This process's environment (with conftest's temporary reports and cache folders), without the
    settings an enclosing make would pass to the make commands run here."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    return env | {"MPLBACKEND": "Agg"} | extra


def _run(argv: list[str], env: dict, what: str) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _read_somewhere(name: str) -> bool:
    """Whether the Makefile or the package reads an environment variable of that name."""
    sources = [ROOT / "Makefile", *(ROOT / "digits").rglob("*.py")]
    return any(re.search(rf"\b{name}\b", path.read_text()) for path in sources)


def _make_variables() -> set[str]:
    own = re.search(r"^OWN_VARIABLES\s*:=\s*(.*)$", (ROOT / "Makefile").read_text(), re.M)
    return set(own[1].split())


def _notebook_parameters(stem: str) -> set[str]:
    """The names a notebook's cell tagged ``parameters`` assigns."""
    cells = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    return set(re.findall(r"^([A-Za-z_]\w*)\s*=", source, re.M))


def _check_make(target: str, settings: dict[str, str]) -> None:
    stems = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if target.startswith("report-"):
        name = target.removeprefix("report-")
        chosen = [s for s in stems if s == name or s.startswith(name)]
        assert chosen, f"make {target}: no notebook {name!r}; there are {stems}"
    else:
        assert target in DRY_RUN_MAKE or target in RUN_MAKE, f"make {target}: add it to DRY_RUN_MAKE or RUN_MAKE"
        chosen = stems
    if "PROFILE" in settings:
        profiles = {"smoke"} | set(yaml.safe_load((ROOT / "notebooks" / "profiles.yaml").read_text()) or {})
        assert settings["PROFILE"] in profiles, f"no profile {settings['PROFILE']!r}; there are {sorted(profiles)}"
    parameters = {name for stem in chosen for name in _notebook_parameters(stem)}
    for name in set(settings) - _make_variables():
        assert name in parameters, f"make {target} {name}=...: neither a make variable nor a notebook parameter"


def _run_in_process(argv: list[str], capsys) -> None:
    """Run ``python -m digits`` ``argv`` for real, in this process: the ``main`` that ``python -m digits``
    calls, without a new interpreter and TensorFlow start for each command."""
    from digits import __main__ as cli

    try:
        status = cli.main(argv)
    except SystemExit as exit:  # the parser refused the arguments
        status = exit.code
    out, err = capsys.readouterr()
    assert status == 0, f"python -m digits {shlex.join(argv)} ended with status {status}:\n{out}\n{err}"
    assert out.strip(), f"python -m digits {shlex.join(argv)} printed nothing"


def _parse_only(argv: list[str], monkeypatch) -> None:
    """Run ``python -m digits`` ``argv`` through its real parser, with the command itself replaced."""
    from digits import __main__ as cli
    from digits import export

    seen = []
    for name in ("cmd_predict", "cmd_evaluate", "cmd_tune", "cmd_export", "cmd_serve"):
        monkeypatch.setattr(cli, name, lambda args: seen.append(args) or 0)
    try:
        assert cli.main(argv) == 0
    except SystemExit as exit:
        pytest.fail(f"python -m digits {shlex.join(argv)}: the parser refused it ({exit.code})")
    (args,) = seen
    if args.command == "export":
        export.check_options(args.format, args.quantize)
        assert args.format == "savedmodel" or args.out.endswith(export.SUFFIX[args.format]), args.out
        assert args.model is None or (ROOT / args.model).is_file(), f"no model file {args.model}"


@pytest.mark.parametrize("block,command", SHELL_COMMANDS)
def test_command(block, command, monkeypatch, capsys):
    argv = shlex.split(command)
    assert not set(argv) & {"|", "&&", "||", ";", ">", "<"}, f"{command}: one plain command per line, please"
    assignments = {}
    while argv and re.match(r"^[A-Za-z_]\w*=", argv[0]):
        name, _, value = argv.pop(0).partition("=")
        assignments[name] = value
    for name in assignments:
        assert _read_somewhere(name), f"{command}: nothing in the Makefile or digits/ reads {name}"
    program, args = argv[0], argv[1:]
    if program == "make":
        settings = dict(a.split("=", 1) for a in args if "=" in a)
        (target,) = [a for a in args if "=" not in a]
        _check_make(target, settings)
        if target in RUN_MAKE:
            _run(["make", *args], _environment(**assignments), command)
        else:
            shown = _run(["make", "-n", *args], _environment(**assignments), f"make -n {shlex.join(args)}")
            assert shown.stdout.strip(), f"make -n {target} expands to nothing"
        return
    assert not assignments, f"{command}: settings before a make command only"
    if program in (".venv/bin/python", "python", "python3"):
        assert args[:1] == ["-m"], f"{command}: run modules with -m"
        module, rest = args[1], args[2:]
        if "--help" in rest or "-h" in rest:
            shown = _run([sys.executable, *args], _environment(), command)
            assert "usage:" in shown.stdout
        elif module == "digits" and rest and rest[0] in RUN_CLI:
            _run_in_process(rest, capsys)
        elif module == "digits" and rest and rest[0] in PARSE_ONLY_CLI:
            _parse_only(rest, monkeypatch)
        else:
            pytest.fail(f"{command}: classify it in tests/test_docs.py (RUN_CLI or PARSE_ONLY_CLI)")
        return
    assert program in READ_ONLY_PROGRAMS, f"{command}: classify {program!r} in tests/test_docs.py"
    _run(argv, _environment(), command)


# --------------------------------------------------------------------------- python snippets


def _resolve(node: ast.AST, names: dict):
    """The object an ``a.b.c`` expression names when ``a`` came from digits; None otherwise."""
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, names)
        if base is None:
            return None
        assert hasattr(base, node.attr), f"{ast.unparse(node)}: {base!r} has no {node.attr!r}"
        return getattr(base, node.attr)
    return None


def _check_statically(code: str) -> None:
    """Compile ``code``; every name it imports from digits exists and every call of a digits function
    binds to its signature (an option a training call passes through ``**changes`` must be a TrainConfig
    field or an argument of ``train.fit``)."""
    from digits import recipes, train

    tree = ast.parse(code)
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "digits":
            for alias in node.names:
                try:
                    names[alias.asname or alias.name] = importlib.import_module(f"{node.module}.{alias.name}")
                except ModuleNotFoundError:
                    module = importlib.import_module(node.module)
                    assert hasattr(module, alias.name), f"{node.module} has no {alias.name!r}"
                    names[alias.asname or alias.name] = getattr(module, alias.name)
    known_options = set(train.TrainConfig.__dataclass_fields__) | set(inspect.signature(train.fit).parameters)
    training_calls = (train.fit, recipes.fit, recipes.get, train.TrainConfig.replace)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            _resolve(node, names)
        if isinstance(node, ast.Call) and callable(target := _resolve(node.func, names)):
            try:
                signature = inspect.signature(target)
            except ValueError:  # a builtin without one
                continue
            keywords = {k.arg: None for k in node.keywords if k.arg}
            try:
                bound = signature.bind(*[None] * len(node.args), **keywords)
            except TypeError as err:
                pytest.fail(f"{ast.unparse(node)}: {err}")
            for name, value in bound.arguments.items():
                if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD and target in training_calls:
                    unknown = set(value) - known_options
                    assert not unknown, f"{ast.unparse(node)}: no training option(s) {sorted(unknown)}"


def _reads_export(block: Block) -> bool:
    return "TFSMLayer" in block.body or '"export"' in block.body


def _run_snippet(block: Block, folder: Path) -> subprocess.CompletedProcess:
    """Run a snippet in a fresh interpreter in the repository root, reports and cache in ``folder``. A snippet
    that reads ``make export``'s output runs after the export ``make export`` makes for it: the shipped digit
    model's SavedModel in ``$DIGITS_CACHE_DIR/export/digit`` (``make export`` itself is dry-run: it writes and
    scores six formats)."""
    env = _environment(DIGITS_REPORTS_DIR=str(folder / "reports"), DIGITS_CACHE_DIR=str(folder / "cache"))
    if _reads_export(block):
        out = folder / "cache" / "export" / "digit"
        argv = [sys.executable, "-m", "digits", "export", "--format", "savedmodel", "--out", str(out)]
        exported = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)
        if exported.returncode != 0:
            return exported
    argv = [sys.executable, "-c", block.body]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture(scope="module", autouse=True)
def started_snippets(request, tmp_path_factory):
    """The python snippets this session runs, started in the background as the module's first test starts
    (one fewer at a time than there are cores), so that their TensorFlow start-ups overlap with the tests
    before them; each snippet's test waits for its own."""
    chosen = [
        item.callspec.params["block"]
        for item in request.session.items
        if getattr(item, "module", None) is request.module and item.originalname == "test_python_snippet"
    ]
    runnable = [b for b in chosen if not b.not_run and not (_runs_on_data(b) and needs_real_data.args[0])]
    runnable.sort(key=_reads_export, reverse=True)  # the longest first: the export, then its snippet
    folder = tmp_path_factory.mktemp("snippets")
    with ThreadPoolExecutor(max(1, (os.cpu_count() or 2) - 1)) as pool:  # the tests here use one core
        yield {block: pool.submit(_run_snippet, block, folder / str(i)) for i, block in enumerate(runnable)}


@pytest.mark.parametrize("block", PYTHON_BLOCKS)
def test_python_snippet(block, started_snippets):
    if block.not_run:
        _check_statically(block.body)
        return
    if _reads_export(block):  # the export the snippet ran after is the one make export writes
        from digits import export

        assert ("savedmodel", None) in export.VARIANTS and export.SUFFIX["savedmodel"] == ""
        assert 'config.cache_dir() / "export"' in inspect.getsource(export.report), "make export writes elsewhere"
    try:
        done = started_snippets[block].result()  # each of its commands has a timeout
    except subprocess.TimeoutExpired:
        pytest.fail(f"the snippet at {block.where} ran over {TIMEOUT} s")
    assert done.returncode == 0, f"the snippet at {block.where} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
