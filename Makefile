# Everything a fresh machine needs is installed by the targets themselves (venv, Python deps, npm packages).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install test lint format vectors bench bench-gas bench-node clean contracts

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

# Regenerate the conformance vectors from the TypeScript reference (see tests/vectors/README.md).
vectors: install
	node tests/vectors/generate.mjs

bench: install
	$(PY) bench/encoding.py

bench-gas: install
	$(PY) bench/gas.py

bench-node: install
	$(PY) bench/node.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache

# Rebuild the devnet contract artifacts (src/smartsessions/devnet/artifacts/) with the pinned solc-js.
contracts: node_modules/.installed
	node contracts/build.mjs
