# The project's own set-up: a virtualenv with ledgerlink and its test tools, nothing by hand.
# `make test` is what the README and .ci/run both call.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint unit install

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# The main job: local Kafka, both simulators with Norwegian sample data and the worker.
# `make demo DEMO_ARGS=--until-synced` exits 0 once everything has converged.
demo: install
	$(BIN)/ledgerlink demo $(DEMO_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Everything CI runs: lint, types, unit tests and integration tests against real Kafka
# (started by tests/conftest.py with streams.dev.localkafka, as `ledgerlink kafka start` does)
# and the simulators.
test: lint
	$(BIN)/pytest

# Only the tests that need no broker.
unit: install
	$(BIN)/pytest tests/unit
