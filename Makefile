# Two commands for a fresh machine with Python 3.11+: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-postgres check lint format bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,demos,sample]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m paperdigest demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# The same suite with every test's database on the real PostgreSQL test server
# (tests/conftest.py `settings`); the tests that name both backends run as in `make test`.
test-postgres: $(STAMP)
	PAPERDIGEST_TEST_BACKEND=postgresql $(BIN)/python -m pytest -q -m "not slow"

# ruff (lint rules and import order in pyproject.toml) and mypy (pyproject.toml says which
# modules are enforced); `make format` rewrites the code in the one style.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --select I --fix .
	$(BIN)/ruff format .

# The long reliability suites (crash and fault matrices, 1,000 hostile inputs, load).
check: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/site.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/bot.py
	$(BIN)/python bench/watch.py
	$(BIN)/python bench/reactions.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/grounding.py
	$(BIN)/python bench/subscriptions.py

clean:
	rm -rf $(VENV) data/demo
