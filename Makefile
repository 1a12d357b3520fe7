# chargeplan: the project's vocabulary.
#   make run    set up everything and start the server with a demo station (SQLite)
#   make test   set up everything and run the whole suite (SQLite and PostgreSQL)
#   make bench  benchmark the OCPP path against the floor and the stock ocpp package
#   make soak   the soak and fault suite at full size (minutes; make test runs it short)
#   make lint   ruff, mypy and the layers' import contracts (lint-imports)
#   make migrate  apply migrations to the configured database
#   make constraints  pin the installed versions in constraints.txt

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench soak lint migrate constraints clean

# constraints.txt pins every package to the version the suite and CI pass with, so
# make run, make test and CI install the same thing on every machine.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The dashboard's front-end packages, from the npm registry at install time (never a CDN):
# the files the pages load are copied into app/ui/static/vendor (git-ignored).
UI_VENDOR := app/ui/static/vendor
$(UI_VENDOR)/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --silent
	mkdir -p $(UI_VENDOR)
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css $(UI_VENDOR)/
	touch $@

install: $(STAMP) $(UI_VENDOR)/.installed

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

# PostgreSQL and Chromium (the browser tests) are installed first when missing (as root).
# The tests run in a process per usable CPU, at most four (pytest-xdist; one CPU: in pytest's
# own process); `make test TEST_PROCESSES=0` runs them one after the other in one process.
TEST_PROCESSES ?= auto
test: install
	bash tests/with_chromium.sh bash tests/with_postgres.sh $(BIN)/pytest -n $(TEST_PROCESSES) $(PYTEST_ARGS)

# fanout_nodes runs several nodes on one PostgreSQL: the server CHARGEPLAN_TEST_POSTGRES_URL
# names, else a throwaway one (tests/with_postgres.sh) where PostgreSQL is installed or can be;
# without any, the other scenarios run and fanout_nodes says what it needs.
bench: install
	@if [ -n "$${CHARGEPLAN_TEST_POSTGRES_URL:-}" ] || ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 \
	    || [ "$$(id -u)" = 0 ]; then \
	  bash tests/with_postgres.sh sh -c '$(BIN)/chargeplan bench --nodes-database-url "$$CHARGEPLAN_TEST_POSTGRES_URL" $(BENCH_ARGS)'; \
	else \
	  $(BIN)/chargeplan bench $(BENCH_ARGS); \
	fi

soak: install
	CHARGEPLAN_SOAK=full $(BIN)/pytest -q -p no:cacheprovider -s tests/soak $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check app jobs tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

# After changing dependencies in pyproject.toml: pin what is installed now (run make test
# first, and commit constraints.txt with the change).
constraints: install
	{ echo "# Versions the test suite and CI pass with; make install installs exactly these."; \
	  echo "# Regenerate after changing dependencies: make constraints (then run make test)."; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^chargeplan'; } > constraints.txt

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache node_modules $(UI_VENDOR)
