# The same targets run on a laptop and in CI (.ci/run calls `make test`).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_FLAGS ?= -q

.PHONY: install install-dev system-deps demo test test-fast lint typecheck bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) --upgrade pip

# Stamp files: pip runs again only when pyproject.toml changed (or the venv is new), so every target that
# depends on an install costs nothing when nothing changed. torch is pinned in pyproject.toml (2.13.0, CPU).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

system-deps:
	bash scripts/system-deps.sh

# The main job on the embedded default: demo config, SQLite, the offline model, the dashboard.
demo: install
	$(BIN)/loyalty-monitor demo

lint: install-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install-dev
	$(BIN)/mypy

# Everything: system packages, Python packages, lint, types, and every test marker against real
# PostgreSQL and headless Chromium.
test: system-deps install-dev lint typecheck
	LOYALTY_TEST_POSTGRES_URL=$$(bash scripts/postgres-test-server.sh) $(BIN)/pytest -q

test-fast: install-dev
	$(BIN)/pytest -q -m "not slow and not browser"

bench: install-dev
	LOYALTY_BENCH_POSTGRES_URL=$$(bash scripts/postgres-test-server.sh | sed 's/loyalty_test/loyalty_bench/') \
		$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/sentiment_speed.py
	$(BIN)/python bench/sentiment_probe.py
	$(BIN)/python bench/alert_latency.py
	$(BIN)/python bench/dashboard_speed.py
	$(BIN)/python bench/brand_matching.py
