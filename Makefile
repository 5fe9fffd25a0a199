# imagelab: `make all` runs the whole lab and builds the report; `make test` runs the tests.
# Targets that need the Python environment depend on `setup`, so each works on a fresh clone.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Data: $IMAGELAB_DATA if set, else the verified copies in ../shared/datasets when present,
# else keras.datasets downloads (needs internet).
IMAGELAB_DATA ?= $(if $(wildcard ../shared/datasets/mnist.npz),$(abspath ../shared/datasets),)
export IMAGELAB_DATA
FORCE ?=
# Debian packages the PDF report needs (nbconvert's LaTeX route) and the tests that read it.
DEBIAN_PACKAGES := texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc poppler-utils
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.DEFAULT_GOAL := help
.PHONY: help setup system-deps test test-fast lint lab seeds sweep report all notebook clean bench bench-smoke

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(INSTALLED) ## create .venv and install the project (does nothing when up to date)

$(INSTALLED): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name imagelab --display-name "Python (imagelab)" >/dev/null
	@if [ -d .git ]; then $(BIN)/nbstripout --install --attributes .gitattributes && $(BIN)/pre-commit install >/dev/null; fi
	@touch $@
	@echo "setup: .venv ready (kernel 'imagelab' registered)"

system-deps: ## install LaTeX, pandoc and poppler from Debian, only those missing
	@if command -v xelatex >/dev/null && command -v pandoc >/dev/null && command -v pdftoppm >/dev/null; then \
	  echo "system-deps: xelatex, pandoc and pdftoppm present"; \
	else \
	  echo "system-deps: installing $(DEBIAN_PACKAGES) from Debian (once; about 3 minutes)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends $(DEBIAN_PACKAGES) >/dev/null; \
	fi

lint: setup ## check code style with ruff
	$(BIN)/ruff check src tests benchmarks studies
	$(BIN)/ruff format --check src tests benchmarks studies

test: setup system-deps lint ## lint, then run the whole test suite on tiny fixture data (what CI runs)
	$(BIN)/pytest

test-fast: setup ## the unit tier only: no kernels, no PDF, under a minute (pytest -m "not slow")
	$(BIN)/pytest -m "not slow"

lab: setup ## run the five exercises on the full data (skips up-to-date ones; FORCE=1 reruns)
	$(BIN)/imagelab lab $(if $(FORCE),--force)

sweep: setup ## run a sweep file: make sweep SWEEP=sweeps/<name>.yaml [JOBS=2] [EXECUTOR=dask] [SCHEDULER=tcp://HOST:8786]
	@test -n "$(SWEEP)" || { echo "usage: make sweep SWEEP=sweeps/<name>.yaml [JOBS=N] [EXECUTOR=dask] [SCHEDULER=ADDRESS]"; exit 2; }
	$(BIN)/imagelab sweep $(SWEEP) $(if $(JOBS),--jobs $(JOBS)) $(if $(EXECUTOR),--executor $(EXECUTOR)) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

seeds: setup ## collect scores/seeds.csv from the canonical runs and the sweeps
	$(BIN)/imagelab seeds

report: setup system-deps ## render report/report.pdf and .html (runs only missing exercises)
	$(BIN)/imagelab report

all: lab report ## run the whole lab and build the report

bench: setup ## time imagelab against bare Keras on the full data (about 6 CPU-minutes)
	$(BIN)/python benchmarks/bench.py

bench-smoke: setup ## the benchmark on fixture data, seconds; writes to build/bench-smoke
	$(BIN)/python benchmarks/bench.py --smoke --out build/bench-smoke

notebook: setup ## start JupyterLab from .venv with the 'imagelab' kernel
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

clean: ## remove build products (executed notebooks, report, caches), keep results
	rm -rf build report .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
