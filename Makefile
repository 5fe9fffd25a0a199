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

.DEFAULT_GOAL := help
.PHONY: help setup test lint lab all clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(INSTALLED) ## create .venv and install the project (does nothing when up to date)

$(INSTALLED): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name imagelab --display-name "Python (imagelab)" >/dev/null
	@touch $@
	@echo "setup: .venv ready (kernel 'imagelab' registered)"

test: setup ## run the test suite (tiny data, a few minutes)
	$(BIN)/pytest

lab: setup ## run the five exercises on the full data (skips up-to-date ones; FORCE=1 reruns)
	$(BIN)/imagelab lab $(if $(FORCE),--force)

all: lab ## run the whole lab and build the report

clean: ## remove build products (executed notebooks, report, caches), keep results
	rm -rf build report .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
