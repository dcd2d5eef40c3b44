# Hewston: `make run` starts the product, `make test` runs the tests, `make bench` the benchmarks.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: run test bench install frontend clean

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

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .coverage
