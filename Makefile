# Every target creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_SECONDS ?= 60

.PHONY: demo test run bench lint schemas clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/churnwatch demo --seconds $(DEMO_SECONDS)

run: $(STAMP)
	$(BIN)/churnwatch worker

bench: $(STAMP)
	$(BIN)/churnwatch bench --json bench-results.json
	$(BIN)/python -m pytest -m slow -q

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mypy

test: lint
	$(BIN)/python -m pytest

schemas: $(STAMP)
	$(BIN)/churnwatch schemas export schemas/json

clean:
	rm -rf $(VENV) churnwatch-data .pytest_cache .mypy_cache
