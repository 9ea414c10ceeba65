# The project's own set-up: a virtualenv with ledgerlink and its test tools, nothing by hand.
# `make test` is what the README and .ci/run both call.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A new user sees no pip notices (a newer pip exists, running as root) and not setuptools'
# boxed note on editable installs; errors and other warnings still show.
PIP := PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
	PYTHONWARNINGS=ignore:::setuptools.command.editable_wheel $(BIN)/pip

.PHONY: demo test lint unit install prometheus-tools

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed prometheus-tools

# promtool (rule checks and rule unit tests) and the Prometheus server (the alerting
# integration test), from Debian's `prometheus` package when they are missing.
prometheus-tools:
	sh deploy/prometheus/install-prometheus.sh

# The main job: local Kafka, both simulators with Norwegian sample data and the worker.
# `make demo DEMO_ARGS=--until-synced` exits once synced: 0 when every expected link exists.
demo: $(BIN)/.installed
	$(BIN)/ledgerlink demo $(DEMO_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Everything CI runs: lint, types, unit tests and integration tests against real Kafka
# (started by tests/conftest.py with streams.dev.localkafka, as `ledgerlink kafka start` does)
# and the simulators.
test: lint prometheus-tools
	$(BIN)/pytest

# Only the tests that need no broker.
unit: install
	$(BIN)/pytest tests/unit
