# The two commands of the README: `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: install demo test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The tests exercise the optional sentence-embedding extra, which needs PyTorch: take the CPU build
# first (a plain resolve would pick a multi-GB CUDA build), then everything else.
TORCH ?= torch==2.13.0

install: $(BIN)/python
	$(BIN)/pip install --quiet '$(TORCH)'
	$(BIN)/pip install --quiet -e '.[dev]'

demo: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgres]'
	$(BIN)/clusterbook serve --demo --port $(PORT)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	$(BIN)/pytest -n auto --dist loadgroup

bench: install
	$(BIN)/python benchmarks/bench_list.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache clusterbook.db*
