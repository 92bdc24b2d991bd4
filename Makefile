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
export DIGITS_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)

.PHONY: setup test test-fast reports report-% leaderboard strip clean-cache demo demo-load bench tune tune-distributed
.DEFAULT_GOAL := help

help:
	@echo "make reports [PROFILE=smoke]   execute every notebook into reports/ (default PROFILE=full)"
	@echo "make report-<notebook>          execute one, e.g. make report-01_mlp_vs_cnn"
	@echo "make test                       unit tests + notebooks (nbval, smoke profile)"
	@echo "make demo [PORT=8000]           web demo on http://127.0.0.1:PORT/ (draw a digit or a number)"
	@echo "make demo-load                  500 requests, 8 at a time, on loopback -> reports/web_load.json"
	@echo "make bench                      fast recipe vs Keras' simple convnet: time to 99%, inference -> reports/bench.json"
	@echo "make tune [MODEL=mlp|cnn ALGO=random|hyperband|bayesian TRIALS=20 BUDGET=30]   resumable Keras Tuner search"
	@echo "make tune-distributed WORKERS=2  a chief and N workers on localhost, one results table"
	@echo "make strip                      remove outputs from notebook sources before committing"

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade --quiet pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name digits --display-name "Python (digits)" >/dev/null
	touch $@

setup: $(VENV)/.installed

# Notebooks under test write their figures and metrics to a temporary folder, never over reports/.
test: setup
	DIGITS_REPORTS_DIR=$$(mktemp -d) $(PY) -m pytest tests --nbval-lax --nbval-current-env notebooks -p no:cacheprovider

test-fast: setup
	$(PY) -m pytest tests -p no:cacheprovider

reports: setup
	$(PY) -m digits.reports run --profile $(PROFILE)

report-%: setup
	$(PY) -m digits.reports run $* --profile $(PROFILE)

leaderboard: setup
	$(PY) -m digits.reports leaderboard

strip: setup
	$(PY) -m digits.reports strip

clean-cache:
	rm -rf .cache/runs

demo: setup
	$(PY) -m digits serve --port $(PORT)

demo-load: setup
	$(PY) -m digits.web

bench: setup
	$(PY) -m digits.bench --repeats 3

tune: setup
	$(PY) -m digits tune --model $(MODEL) --algo $(ALGO) --max-trials $(TRIALS) --budget-minutes $(BUDGET) --retrain-epochs 20

tune-distributed: setup
	$(PY) -m digits tune --model $(MODEL) --algo $(ALGO) --max-trials $(TRIALS) --workers $(WORKERS) --project $(MODEL)_$(ALGO)_distributed
