# Hub and Spoke evaluation pipeline. Two commands set everything up:
#   make reports   -> .venv, pinned dependencies, the DVC pipeline, reports/index.html
#   make test      -> the whole test suite
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SM_FORMULA_ENGINE := patsy
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export DVC_NO_ANALYTICS := 1
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help venv reports test lab lock lint format stage bench screenshots

help:  ## list the commands
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing pinned dependencies into $(VENV) (first run takes a few minutes)..."
	@$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock 2>&1 | { grep -v '^WARNING: Location' || true; }
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; exit 1; }
	@$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . 2>&1 | { grep -v '^WARNING: Location' || true; }
	@$(BIN)/python -c "import analysis" && touch $(STAMP)

venv: $(STAMP)  ## create .venv with the pinned dependencies and the package

reports: $(STAMP)  ## run the whole DVC pipeline and print where the reports are
	@$(BIN)/dvc repro
	@echo "Reports: $(CURDIR)/reports/index.html"

test: $(STAMP)  ## run the whole test suite (unit, notebooks, pipeline, browser)
	@$(BIN)/ruff check src tests bench
	@$(BIN)/ruff format --check src tests bench
	@$(BIN)/python -m pytest -n 2 --dist loadfile --durations=15 --nbval-lax --nbval-current-env tests notebooks/*.ipynb

bench: $(STAMP)  ## performance suite -> bench/results.json, table in bench/README.md (long)
	@$(BIN)/python bench/run.py $(BENCH_ARGS)

# JupyterLab for analysts: as root too (--allow-root only then), any server flags through
# LAB_ARGS, the kernel's inline figures (not the pipeline's Agg) and autoreload of
# src/analysis from lab/ipython (papermill, nbval and the pipeline never read it).
lab: $(STAMP)  ## JupyterLab on notebooks/: make lab LAB_ARGS="--port 8899 --no-browser"
	@if [ "$$(id -u)" -eq 0 ]; then root=--allow-root; else root=; fi; \
	exec env -u MPLBACKEND IPYTHONDIR="$(CURDIR)/lab/ipython" HUBSPOKE_LAB=1 \
	  $(BIN)/jupyter lab $$root $(LAB_ARGS) notebooks/

# The repository's reports are always synthetic (real data is cleaned only outside it), so
# their screenshots are listed in the data guard's allowlist as they are taken.
screenshots: $(STAMP)  ## photograph each year report's summary (1280x800, 390x844) into docs/screenshots
	@$(BIN)/python scripts/screenshots.py
	@$(BIN)/python scripts/guard_no_data.py --allow docs/screenshots/*.png

stage: $(STAMP)  ## run one stage and what it needs: make stage STAGE=clean
	@$(BIN)/dvc repro $(STAGE)

lock:  ## re-pin every dependency from pyproject.toml (needs network)
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock --quiet
	$(BIN)/python scripts/sync_environment.py

lint: $(STAMP)  ## ruff lint
	@$(BIN)/ruff check src tests bench

format: $(STAMP)  ## ruff format
	@$(BIN)/ruff format src tests bench
