# Hewston: `make run` starts the product, `make test` runs the tests, `make bench` the benchmarks.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: run test test-system bench install frontend clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Builds the browser app when the project has one.
frontend:
	@if [ -f frontend/package.json ]; then cd frontend && npm ci --no-audit --no-fund && npm run build; fi

run: install frontend
	$(VENV)/bin/hewston demo-data --if-missing
	$(VENV)/bin/hewston up

test: install
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q --cov --cov-report=term:skip-covered --cov-fail-under=90

# Every role as its own process (the Procfile's commands) against a throwaway redis-server, and the faults
# operators meet: relays and api nodes killed, Redis and the backend restarted, slow viewers, bad input.
test-system: install
	$(PY) -m pytest -q -m system tests/system

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .coverage
