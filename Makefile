# Two commands for a new user:  make reports  (regenerate every result)  and  make test.
# Both create .venv, install the pinned requirements and register the `digits` Jupyter kernel.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= full
PORT ?= 8000
MODEL ?= mlp
ALGO ?= bayesian
TRIALS ?= 20
BUDGET ?= 30
WORKERS ?= 2
LANES ?= 1

# Any other NAME=VALUE on the command line sets a notebook parameter, e.g.
#   make report-09_best_model PROFILE=full SEEDS=5
OWN_VARIABLES := PYTHON PROFILE PORT MODEL ALGO TRIALS BUDGET WORKERS LANES DIGITS_DATA_DIR DIGITS_CACHE_DIR
NOTEBOOK_PARAMETERS := $(foreach v,$(filter-out $(addsuffix =%,$(OWN_VARIABLES)),$(MAKEOVERRIDES)),--set '$(v)')

.PHONY: help setup test test-fast lint format reports report-% leaderboard site strip references clean-cache \
	demo demo-load bench export tune tune-distributed tensorboard lab
.DEFAULT_GOAL := help

help:
	@echo "make setup                      create .venv, install the pinned requirements, register the digits Jupyter kernel"
	@echo "make reports [PROFILE=smoke] [LANES=1]   execute every notebook into reports/ (PROFILE=full, the default) or reports/profiles/<PROFILE>/"
	@echo "make report-<notebook> [NAME=VALUE ...]   execute one, e.g. make report-09_best_model SEEDS=5"
	@echo "make lab [PORT=8888]            JupyterLab on notebooks/ with the digits kernel, on loopback"
	@echo "make test                       lint, unit tests + notebooks (nbval, smoke profile)"
	@echo "make lint / make format         ruff check and format check / apply ruff's fixes and formatting"
	@echo "make demo [PORT=8000]           web demo on http://127.0.0.1:PORT/ (draw a digit or a number)"
	@echo "make demo-load                  500 requests, 8 at a time, on loopback -> reports/web_load.json"
	@echo "make bench                      fast recipe vs Keras' simple convnet: time to 99%, inference -> reports/bench.json"
	@echo "make export                     the shipped model as .keras, .h5, SavedModel, TFLite (float, float16, int8) -> reports/export.json"
	@echo "make tune [MODEL=mlp|cnn ALGO=random|hyperband|bayesian TRIALS=20 BUDGET=30]   resumable Keras Tuner search"
	@echo "make tune-distributed WORKERS=2  a chief and N workers on localhost, one results table"
	@echo "make tensorboard [PORT=6006]    TensorBoard on loopback over the runs trained with DIGITS_TENSORBOARD=1"
	@echo "make site                       rebuild the HTML reports and reports/index.html from the executed notebooks"
	@echo "make leaderboard                rebuild reports/README.md and the README's results block from reports/metrics/"
	@echo "make references                 refresh nbval's reference outputs in notebooks/ (runs the smoke profile)"
	@echo "make test-fast                  the unit tests and checks without lint or notebooks"
	@echo "make clean-cache                delete the trained runs in .cache/ (the next make reports trains from scratch)"
	@echo "make strip                      strip outputs from notebook sources (keeps nbval's reference cells)"

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name digits --display-name "Python (digits)" >/dev/null
	touch $@

setup: $(VENV)/.installed

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Notebooks under test write their figures and metrics to a temporary folder, never over reports/.
# Two workers (pytest-xdist); tests/conftest.py says which tests run together, in order, on one.
test: lint
	DIGITS_REPORTS_DIR=$$(mktemp -d) $(PY) -m pytest tests --nbval-lax --nbval-current-env notebooks -p no:cacheprovider \
		-n 2 --dist loadgroup

test-fast: setup
	$(PY) -m pytest tests -p no:cacheprovider

reports: setup
	$(PY) -m digits.reports run --profile $(PROFILE) --lanes $(LANES) $(NOTEBOOK_PARAMETERS)

report-%: setup
	$(PY) -m digits.reports run $* --profile $(PROFILE) $(NOTEBOOK_PARAMETERS)

leaderboard: setup
	$(PY) -m digits.reports leaderboard

site: setup
	$(PY) -m digits.reports site

strip: setup
	$(PY) -m digits.reports strip

references: setup
	$(PY) -m digits.reports references

clean-cache:
	rm -rf $${DIGITS_CACHE_DIR:-.cache}/runs $${DIGITS_CACHE_DIR:-.cache}/tensorboard

demo: setup
	$(PY) -m digits serve --port $(PORT)

demo-load: setup
	$(PY) -m digits.web

bench: setup
	$(PY) -m digits.bench --repeats 3

export: setup
	$(PY) -m digits.export

tune: setup
	$(PY) -m digits tune --model $(MODEL) --algo $(ALGO) --max-trials $(TRIALS) --budget-minutes $(BUDGET) --retrain-epochs 20

tune-distributed: setup
	$(PY) -m digits tune --model $(MODEL) --algo $(ALGO) --max-trials $(TRIALS) --workers $(WORKERS) --project $(MODEL)_$(ALGO)_distributed

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --port $(if $(filter command,$(origin PORT)),$(PORT),8888) \
		--MappingKernelManager.default_kernel_name=digits $(if $(filter 0,$(shell id -u)),--allow-root,)

tensorboard: setup
	$(VENV)/bin/tensorboard --logdir .cache/tensorboard --host 127.0.0.1 --port $(if $(filter command,$(origin PORT)),$(PORT),6006)
