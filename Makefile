# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test test-all-days test-browser test-reliability soak bench lint typecheck translations install install-test clean lock lock-check scan

# Installs come from the hash-pinned lock (docs/dependencies.md) with nothing but pip: every
# file pip downloads must match a hash in requirements/*.txt. requirements/build.txt (setuptools)
# goes in first, and sdists (feedgen has no wheel) and the project itself are built with it,
# without build isolation, which would fetch setuptools unpinned. No pip self-upgrade either.
PIP_LOCKED := $(BIN)/pip install --quiet --require-hashes --no-build-isolation
PIP_PROJECT := $(BIN)/pip install --quiet --no-deps --no-build-isolation -e .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml requirements/build.txt requirements/run.txt | $(BIN)/python
	$(PIP_LOCKED) -r requirements/build.txt
	$(PIP_LOCKED) -r requirements/run.txt
	$(PIP_PROJECT)
	touch $@

# requirements/run.txt is a subset of requirements/test.txt, at the same versions.
$(VENV)/.installed-test: pyproject.toml requirements/build.txt requirements/test.txt | $(BIN)/python
	$(PIP_LOCKED) -r requirements/build.txt
	$(PIP_LOCKED) -r requirements/test.txt
	$(PIP_PROJECT)
	touch $(VENV)/.installed $@

# `make lock` after any change to the dependencies in pyproject.toml: re-resolves the lock files
# for CPython 3.11 on Linux x86_64, keeping every pin that still fits (LOCK_ARGS below moves
# them). build.txt is [build-system] requires; test.txt is resolved next and run.txt is
# constrained to it, so production runs exactly the versions the tests ran.
# `make lock-check` (CI) fails when the lock no longer matches pyproject.toml.
LOCK_FILES := build run test
UV_COMPILE := pip compile --quiet --generate-hashes --python-version 3.11 \
  --python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock"
BUILD_REQUIRES := $(PYTHON) -c 'import tomllib; \
  print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'
# $(call lock_in,DIR,ARGS): write DIR/requirements/*.txt from DIR/pyproject.toml.
lock_in = cd $(1) && \
  $(BUILD_REQUIRES) | $(UV) $(UV_COMPILE) $(2) - -o requirements/build.txt && \
  $(UV) $(UV_COMPILE) $(2) pyproject.toml --extra postgres --extra redis --extra test \
    -o requirements/test.txt && \
  $(UV) $(UV_COMPILE) $(2) pyproject.toml --extra postgres --extra redis \
    -c requirements/test.txt -o requirements/run.txt
UV := $(CURDIR)/$(BIN)/uv

# uv is in the test extra (hash-pinned by the lock it writes); an existing one is used as is,
# so re-locking after an edit of pyproject.toml does not reinstall first.
$(UV):
	$(MAKE) $(VENV)/.installed-test

# LOCK_ARGS="--upgrade-package flask" (or "--upgrade") moves pins on purpose.
lock: | $(UV)
	$(call lock_in,.,$(LOCK_ARGS))

lock-check: | $(UV)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && mkdir "$$tmp/requirements" && \
	cp pyproject.toml "$$tmp/" && \
	for f in $(LOCK_FILES); do cp "requirements/$$f.txt" "$$tmp/requirements/"; done && \
	( $(call lock_in,"$$tmp") ) && \
	stale=0 && for f in $(LOCK_FILES); do \
	  diff -u "requirements/$$f.txt" "$$tmp/requirements/$$f.txt" || stale=1; done && \
	if [ $$stale = 0 ]; then echo "lock: requirements/*.txt match pyproject.toml"; \
	else echo "lock: requirements/*.txt do not match pyproject.toml: run make lock"; exit 1; fi

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

# Every tier in one run spread over the cores (pytest-xdist): a test module stays in one process
# (--dist loadscope, in pyproject's addopts), so module fixtures are shared and each process
# starts one tier's servers at a time. With
# PORTAL_TEST_CLOCKS=all (as in .ci/run) the unit and integration tiers run again on the days
# of tests/clock_scenarios.py (docs/testing.md, "Tests on any day").
TEST_PROCESSES ?= 2
XDIST := -n $(TEST_PROCESSES)
test: install-test
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

# The unit and integration tiers on every clock: the default day and each hard day.
test-all-days: install-test
	PORTAL_TEST_CLOCKS=all $(BIN)/pytest $(XDIST) tests/unit tests/integration $(PYTEST_ARGS)

# Only the real-browser journeys (headless Chromium; docs/testing.md).
test-browser: install-test
	$(BIN)/pytest tests/functional $(PYTEST_ARGS)

# Load, faults and hostile input (tests/reliability, docs/reliability.md; also in `make test`).
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

# The outside check (#21): wapiti and sqlmap against a throw-away instance with the demo data,
# bounded in time; fails on a finding of medium level or above (docs/testing.md, "The outside
# check"). The tools live in their own virtualenv, hash-pinned in requirements/scan.txt (from
# requirements/scan.in), never in the project's lock or its runtime.
SCAN_VENV := .venv-scan
$(SCAN_VENV)/.installed: requirements/scan.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --require-hashes -r requirements/scan.txt
	touch $@

scan: install $(SCAN_VENV)/.installed
	$(BIN)/python tools/scan.py

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
