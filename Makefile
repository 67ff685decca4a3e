# p135: `make demo` and `make test` set everything up on a machine with python3 (3.11+).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.p135-installed
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: setup demo test bench docs lock clean

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("p135 needs Python 3.11 or newer" if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -r requirements.lock
	$(PIP) install --quiet --no-deps -e .
	touch $@

setup: $(STAMP)

demo: setup
	$(BIN)/p135 demo

# Test files run side by side in TEST_WORKERS processes (pytest-xdist); TEST_WORKERS=0 runs them in one.
# Three on 2 cores: a third of the suite waits on subprocesses (9 min 39 s against 11 min 45 s with two).
TEST_WORKERS ?= 3
test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# `make bench BENCH="--units 60000 --warehouse postgresql+psycopg://..."` passes options to p135 bench.
bench: setup
	$(BIN)/p135 bench $(BENCH)

# Regenerate docs/warehouse.md (the data dictionary) after changing the models or views.
docs: setup
	$(BIN)/python -m warehouse.docs

# Re-resolve the locked versions after changing dependencies in pyproject.toml.
lock: setup
	$(PIP) install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) data .pytest_cache p135.egg-info
