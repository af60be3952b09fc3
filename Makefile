# Everything a fresh machine needs is installed by the targets themselves (venv, Python deps, npm packages).
# `make install`: the SDK with both extras, `devnet` (the chains, the node, the CLI) and `dev` (test and lint tools).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install test test-quick fuzz lint format vectors bench bench-gas bench-node bench-sdk bench-transport clean contracts demo

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev,devnet]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: install
	$(PY) -m pytest

# The suite without the tests marked slow (pytest -m "not slow"): what changes most often, in a fraction of the time.
test-quick: install
	$(PY) -m pytest -m "not slow"

# The fuzzing properties with FUZZ_EXAMPLES examples each instead of the normal suite's few: every public decoder
# raises only SmartSessionsError (tests/unit/test_decoders_fuzz.py, derandomized: the same examples every run; about
# 15 minutes at the default, 40 decoders), and the node's HTTP API never answers 5xx to mutated or random bodies
# (tests/node/test_fuzz_api.py, random examples each run, 3 x FUZZ_EXAMPLES requests over loopback to a devnet node).
# `make fuzz FUZZ_EXAMPLES=50000` for more.
FUZZ_EXAMPLES ?= 10000
fuzz: install
	SMARTSESSIONS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/unit/test_decoders_fuzz.py tests/node/test_fuzz_api.py -q

lint: install
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples
	$(VENV)/bin/mypy src tests examples bench

format: install
	$(VENV)/bin/ruff format src tests bench examples
	$(VENV)/bin/ruff check --fix src tests bench examples

# Regenerate the conformance vectors from the TypeScript reference (see tests/vectors/README.md).
vectors: install
	node tests/vectors/generate.mjs

bench: install
	$(PY) bench/encoding.py

bench-gas: install
	$(PY) bench/gas.py

bench-node: install
	$(PY) bench/node.py

bench-sdk: install
	$(PY) bench/sdk.py

bench-transport: install
	$(PY) bench/transport.py

# The seed's complete flow in Python (examples/seed_flow.py) on a fresh devnet with its MEE node, stopped afterwards.
DEMO_STATE ?= demo-devnet.json
demo: install
	@$(VENV)/bin/smartsessions devnet down --state-file $(DEMO_STATE) >/dev/null 2>&1 || true
	@echo "Starting the devnet (chains 8453 and 10) and the local MEE node..."
	@$(VENV)/bin/smartsessions devnet up --background --state-file $(DEMO_STATE) > $(DEMO_STATE:.json=.up.log) 2>&1 \
		|| (cat $(DEMO_STATE:.json=.up.log); exit 1)
	@status=0; $(PY) examples/session_flow.py $(DEMO_STATE) && $(PY) examples/seed_flow.py $(DEMO_STATE) || status=$$?; \
		$(VENV)/bin/smartsessions devnet down --state-file $(DEMO_STATE) >/dev/null; \
		echo "Devnet stopped."; exit $$status

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache

# Rebuild the devnet contract artifacts (src/smartsessions/devnet/artifacts/) with the pinned solc-js.
contracts: node_modules/.installed
	node contracts/build.mjs
