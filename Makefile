# The two commands of the README: `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: install demo test test-quick browser lint typecheck bench clean

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

# The browser tests need the system Chromium: installed here when possible (root with apt-get),
# else those tests are skipped with a loud reason (CLUSTERBOOK_REQUIRE_BROWSER=1 makes that a failure).
browser:
	scripts/ensure-browser

test: install lint typecheck browser
	$(BIN)/pytest -n auto --dist loadgroup

# Everything but the tests marked slow (models, property/fuzz tests, subprocess servers).
test-quick: install lint typecheck browser
	$(BIN)/pytest -n auto --dist loadgroup -m "not slow"

bench: install
	$(BIN)/python benchmarks/bench_list.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache clusterbook.db*
