# One command for each thing. Everything runs from the project's own virtualenv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test test-unit demo up servers servers-down bench chaos lint format schemas clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml services/order/console/package-lock.json | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m services.order.console.assets
	touch $@

install: $(VENV)/.installed  ## the project and its dev tools

test: install  ## every test, on real Kafka and PostgreSQL (started locally when not named by env)
	$(BIN)/python -m pytest

test-unit: install  ## only the fast tests that need no servers
	$(BIN)/python -m pytest -m unit

demo: install  ## the whole system up, one real order followed from intake to closed
	$(BIN)/python -m deploy.demo

up: install  ## like demo, then keep the system running (Ctrl-C stops it)
	$(BIN)/python -m deploy.demo --keep-running

servers:  ## start local Kafka and PostgreSQL (no Docker needed)
	deploy/local/up.sh

servers-down:
	deploy/local/down.sh

bench: install  ## benchmark: the system against a raw aiokafka + asyncpg baseline
	$(BIN)/python -m tests.benchmark

chaos: install  ## faults under load, counted: kill -9 of each service and database connections cut (RUNS=20)
	$(BIN)/python -m tests.chaos --runs $(or $(RUNS),20)

schemas: install  ## (re)write docs/schemas/ from the contracts; refuses a breaking change within a version
	$(BIN)/python -m shared.schemas

lint: install  ## ruff (lint and format) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
