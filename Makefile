# imagelab: `make all` runs the whole lab and builds the report; `make test` runs the tests.
# Targets that need the Python environment depend on `setup`, so each works on a fresh clone.

SHELL := /bin/bash
# The interpreter that creates .venv: `make setup PYTHON=python3.12` (a name on PATH or a path).
# Unset, python3 when pyproject.toml's requires-python admits it, else the newest supported
# python3.X on PATH. tools/pythons.py decides (any python3 from 3.6 can run it), and stops with
# one sentence when there is none.
PYTHON ?=
# Another VENV (make setup VENV=build/x) gets the same install; the git hooks stay with .venv's.
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Data: $IMAGELAB_DATA when given (make lab IMAGELAB_DATA=/path/to/data), else the project's
# default folder, `[tool.imagelab] data` in pyproject.toml, else keras.datasets downloads (needs
# internet). The package decides (imagelab.data.data_dir), so make, papermill and Jupyter agree.
export IMAGELAB_DATA
FORCE ?=
# Optional Debian package for looking at the PDF's pages as images (pdftoppm); nothing needs it:
# the PDF is built with pip-installed pandoc and Typst, and the tests read it with pypdf.
DEBIAN_PACKAGES := poppler-utils
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.DEFAULT_GOAL := help
.PHONY: help setup lock matrix system-deps test test-fast lint lab seeds sweep report figures all notebook clean bench bench-smoke verify

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# JupyterLab settings committed in jupyter/ (see jupyter/README.md), installed into .venv so any
# JupyterLab started from .venv offers only the imagelab kernel, shows no news pop-up, and reads
# and saves notebooks as git stores them.
JUPYTER_SETTINGS := $(VENV)/etc/jupyter/jupyter_server_config.json \
	$(VENV)/etc/jupyter/jupyter_server_config.py \
	$(VENV)/share/jupyter/lab/settings/overrides.json
# Notebook metadata the stripping filter keeps, so a notebook opens in JupyterLab unmodified, but
# without the Python version, so it is the same on every Python (jupyter/jupyter_server_config.py).
NB_KEEP_METADATA := metadata.kernelspec metadata.language_info
NB_STRIP_METADATA := metadata.language_info.version

setup: $(INSTALLED) $(JUPYTER_SETTINGS) ## create .venv and install the project (does nothing when up to date) [PYTHON=python3.12]

$(VENV)/etc/jupyter/jupyter_server_config.%: jupyter/jupyter_server_config.% | $(INSTALLED)
	install -D -m 644 $< $@
$(VENV)/share/jupyter/lab/settings/overrides.json: jupyter/overrides.json | $(INSTALLED)
	install -D -m 644 $< $@

$(INSTALLED): pyproject.toml requirements.lock
	@if [ -x $(BIN)/python ]; then $(BIN)/python tools/pythons.py check-venv $(VENV); \
	else python=$$(python3 tools/pythons.py choose $(PYTHON)) \
	  && echo "setup: creating $(VENV) with $$($$python --version 2>&1) ($$(command -v $$python))" \
	  && $$python -m venv $(VENV) || { rm -rf $(VENV); exit 1; }; fi
	@echo "setup: installing requirements.lock into $(VENV), $$($(BIN)/python --version 2>&1) (about 3 min on a fresh clone, quietly)"
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name imagelab --display-name "Python (imagelab)" >/dev/null
	@if [ -e .git ] && [ "$(VENV)" = .venv ]; then $(BIN)/nbstripout --install --attributes .gitattributes \
	  && git config filter.nbstripout.keepmetadatakeys "$(NB_KEEP_METADATA)" \
	  && git config filter.nbstripout.extrakeys "$(NB_STRIP_METADATA)" \
	  && $(BIN)/pre-commit install >/dev/null; fi
	@touch $@
	@echo "setup: $(VENV) ready, $$($(BIN)/python --version) (kernel 'imagelab' registered)"

# One lock for every supported Python: uv (pinned in pyproject.toml's dev extra) resolves a
# universal requirements.lock, environment markers where versions must differ, keeping the
# current pins where it can; [tool.uv] constraint-dependencies holds tensorflow, keras and numpy
# at one version everywhere. The Python is the lowest that requires-python admits. It runs from
# the .venv there is (setup only when it has no uv): a lock is remade because pyproject.toml moved.
# An unchanged lock keeps its time stamp, so setup stays up to date.
lock: ## re-resolve requirements.lock for every supported Python with uv [UPGRADE=1: newest versions]
	@test -x $(BIN)/uv || $(MAKE) --no-print-directory setup
	@mkdir -p build && cp -p requirements.lock build/requirements.lock.before
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --universal \
	  --python-version $$($(BIN)/python tools/pythons.py lowest) -o requirements.lock $(if $(UPGRADE),--upgrade)
	@if cmp -s requirements.lock build/requirements.lock.before; then \
	  touch -r build/requirements.lock.before requirements.lock; echo "lock: unchanged"; \
	else echo "lock: requirements.lock rewritten ($$(grep -c '==' requirements.lock) pins)"; fi

matrix: ## fast tests and `imagelab verify` on every supported CPython here; venvs and verdicts in build/matrix/ (works before setup) [PYTHONS="3.12.1 3.13.0"]
	@python=$$(python3 tools/pythons.py choose $(PYTHON)) \
	  && $$python tools/matrix.py $(PYTHONS)

system-deps: ## optional: poppler's pdftoppm from Debian, to look at report pages as PNG
	@if command -v pdftoppm >/dev/null; then \
	  echo "system-deps: pdftoppm present"; \
	else \
	  echo "system-deps: installing $(DEBIAN_PACKAGES) from Debian"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends $(DEBIAN_PACKAGES) >/dev/null; \
	fi

lint: setup ## check code style with ruff
	$(BIN)/ruff check src tests benchmarks studies tools
	$(BIN)/ruff format --check src tests benchmarks studies tools

test: setup lint ## lint, then run the whole test suite on tiny fixture data (what CI runs)
	$(BIN)/pytest

test-fast: setup ## the unit tier only: no kernels, no PDF, a few minutes (pytest -m "not slow")
	$(BIN)/pytest -m "not slow"

lab: setup ## run the five exercises on the full data (skips up-to-date ones; FORCE=1 reruns; PRECISION=bf16: in bfloat16)
	$(BIN)/imagelab lab $(if $(FORCE),--force) $(if $(PRECISION),--precision $(PRECISION))

sweep: setup ## run a sweep file: make sweep SWEEP=sweeps/<name>.yaml [JOBS=2] [EXECUTOR=dask] [SCHEDULER=tcp://HOST:8786]
	@test -n "$(SWEEP)" || { echo "usage: make sweep SWEEP=sweeps/<name>.yaml [JOBS=N] [EXECUTOR=dask] [SCHEDULER=ADDRESS]"; exit 2; }
	$(BIN)/imagelab sweep $(SWEEP) $(if $(JOBS),--jobs $(JOBS)) $(if $(EXECUTOR),--executor $(EXECUTOR)) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

seeds: setup ## collect scores/seeds.csv from the canonical runs and the sweeps
	$(BIN)/imagelab seeds

report: setup ## render report/report.pdf and .html from the stored results (never trains; stops if one is missing)
	$(BIN)/imagelab report

figures: setup ## draw the stored results' figures again with today's plot code, rewriting those that differ [CHECK=1: compare only]
	$(BIN)/imagelab figures $(if $(CHECK),--check)

all: lab report ## run the whole lab and build the report

verify: setup ## retrain runs in build/verify, judge numbers and conclusions: make verify [RUNS="dense_mnist relu_mnist"] [ALL=1] [RECORD=1] [REUSE=1]
	$(BIN)/imagelab verify $(RUNS) $(if $(ALL),--all) $(if $(RECORD),--record) $(if $(REUSE),--reuse)

bench: setup ## time imagelab against bare Keras on the full data (half an hour or more; README: Speed)
	$(BIN)/python benchmarks/bench.py

bench-smoke: setup ## the benchmark on fixture data, seconds; writes to build/bench-smoke
	$(BIN)/python benchmarks/bench.py --smoke --out build/bench-smoke

# The URL to open: JupyterLab's own log prints a token it made up, but shows one given to it as
# "...", so with TOKEN the URL is printed here, on a port that is then fixed (no retries).
NOTEBOOK_URL = http://localhost:$(or $(PORT),8888)/lab/tree/notebooks?token=$(TOKEN)

notebook: setup ## JupyterLab on the project, opening on notebooks/ [PORT=8888] [TOKEN=secret] [NO_BROWSER=1]
	$(if $(TOKEN),@echo "== open $(NOTEBOOK_URL)")
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks \
	  $(if $(PORT)$(TOKEN),--ServerApp.port=$(or $(PORT),8888) --ServerApp.port_retries=0) \
	  $(if $(TOKEN),--IdentityProvider.token=$(TOKEN)) \
	  $(if $(NO_BROWSER),--no-browser) $(if $(filter 0,$(shell id -u)),--allow-root)

clean: ## remove build products (executed notebooks, caches); keep results and the committed report
	rm -rf build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
