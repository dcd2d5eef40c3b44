# Hewston: `make run` starts the product, `make test` runs the tests, `make bench` the benchmarks.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3
# The web app needs Node.js 20+ and npm; everything else runs without them.
NODE_OK := $(shell node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' >/dev/null 2>&1 \
	&& command -v npm >/dev/null 2>&1 && echo yes)
NODE_MODULES := frontend/node_modules/.installed-stamp

.PHONY: run test test-system system-packages bench install frontend frontend-test screenshots clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

$(NODE_MODULES): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

# Builds the web app that the api serves at /. Without Node 20+ and npm it says so and builds nothing: the
# api and backend still start (JSON and /docs), and `make run` can be repeated once Node is installed.
frontend:
ifeq ($(NODE_OK),yes)
	@$(MAKE) --no-print-directory $(NODE_MODULES)
	cd frontend && npm run build
else
	@echo "make frontend: Node.js 20+ and npm were not found, so the web app is NOT built."
	@echo "  The api and the backend start anyway (JSON and /docs only). Install Node.js 20+ and npm, then run make run again."
endif

# The Debian packages the tests use (chromium, redis-server, nginx-light, prometheus, docker-compose): installed
# when missing as root with apt-get; otherwise one line names them and the command, before any test runs.
system-packages:
	@scripts/system-packages

run: install frontend
	$(VENV)/bin/hewston demo-data --if-missing
	$(VENV)/bin/hewston up

test: system-packages install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q --cov --cov-report=term:skip-covered --cov-fail-under=90
	@$(MAKE) --no-print-directory frontend-test

# Every role as its own process (the Procfile's commands) against a throwaway redis-server, and the faults
# operators meet: relays and api nodes killed, Redis and the backend restarted, slow viewers, bad input.
test-system: system-packages install
	$(PY) -m pytest -q -m system tests/system

# The web app's checks: generated API types current, types, lint, unit tests, then a build and the browser
# tests against a real stack (headless Debian chromium).
frontend-test: install $(NODE_MODULES)
	cd frontend && npm run api:check && npm run typecheck && npm run lint && npm test
	cd frontend && npm run build && npm run e2e

# Retakes the README's screenshots (docs/images) with the browser tests.
screenshots: install $(NODE_MODULES)
	cd frontend && npm run build && HEWSTON_UPDATE_SCREENSHOTS=1 npm run e2e

bench: install frontend
	$(PY) -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .coverage frontend/node_modules frontend/dist
