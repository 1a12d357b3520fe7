# chargeplan: the project's vocabulary.
#   make run    set up everything and start the server with a demo station (SQLite)
#   make test   set up everything and run the whole suite (SQLite and PostgreSQL)
#   make bench  benchmark the OCPP path against the floor and the stock ocpp package
#   make lint   ruff and mypy
#   make migrate  apply migrations to the configured database

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/chargeplan db upgrade

# `make run DEMO=false` starts the server without the simulated demo station.
DEMO ?= true

# The demo's REST API needs no key (allowed only because it listens on loopback).
run: install
	CHARGEPLAN_AUTO_MIGRATE=true \
	CHARGEPLAN_API_AUTH=off \
	CHARGEPLAN_ADMIT_UNKNOWN_STATIONS=true \
	CHARGEPLAN_UNKNOWN_ID_TAG_STATUS=Accepted \
	CHARGEPLAN_DEMO_STATION=$(DEMO) \
	$(BIN)/chargeplan serve

test: install
	bash tests/with_postgres.sh $(BIN)/pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/chargeplan bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check app jobs tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
