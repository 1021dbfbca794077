# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test test-browser test-reliability soak bench lint typecheck translations install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgres,redis]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgres,redis,test]'
	touch $(VENV)/.installed $@

# Browser-side tools of the functional tier (axe-core, jsQR), from the npm registry when npm is
# here; without them the browser tests skip (or fail under PORTAL_TEST_REQUIRE_BROWSER=1).
BROWSER_TOOLS := tests/functional/node_modules/.package-lock.json
$(BROWSER_TOOLS): tests/functional/package.json tests/functional/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix tests/functional --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: browser tests will skip"; fi

install: $(VENV)/.installed translations
install-test: $(VENV)/.installed-test $(BROWSER_TOOLS) translations

# Compiled catalogs are build products, never committed.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d translations

run: install
	$(FLASK) portal init
	$(FLASK) portal demo --if-empty
	@echo "Serving on http://127.0.0.1:$(PORT)  (logs never show client addresses)"
	PORTAL_SECURE_COOKIES=false $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install-test
	$(BIN)/pytest $(PYTEST_ARGS)

# Only the real-browser journeys (headless Chromium; see README, "Tests").
test-browser: install-test
	$(BIN)/pytest tests/functional $(PYTEST_ARGS)

# Load, faults and hostile input (tests/reliability; also part of `make test`).
test-reliability: install-test
	$(BIN)/pytest tests/reliability $(PYTEST_ARGS)

# The same scenarios, longer: 5,000 reports under load (needs PostgreSQL and Redis, see README).
SOAK_REPORTS ?= 5000
soak: install-test
	PORTAL_TEST_LOAD_REPORTS=$(SOAK_REPORTS) $(BIN)/pytest tests/reliability $(PYTEST_ARGS)

# Performance figures beside their targets (benchmarks/README.md); QUICK=1 for the short mode.
bench: install-test
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python benchmarks/bench.py $(if $(QUICK),--quick)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Extract new strings; then translate them in translations/zh_CN/LC_MESSAGES/messages.po.
extract: install-test
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
