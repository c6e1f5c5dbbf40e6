# parkhub: `make demo` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
PLUGIN := tests/fixtures/plugin

.PHONY: demo test lint typecheck imports pytest bench bench-province chaos serve clean schemas

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The example plugin (tests/fixtures/plugin) is pip-installed as a third party's package would
# be: the tests prove the plugin seams with it.
PLUGIN_STAMP := $(VENV)/.plugin-stamp
$(PLUGIN_STAMP): $(STAMP) $(shell find $(PLUGIN) -type f -not -path '*/build/*' -not -path '*.egg-info/*' -not -path '*/__pycache__/*')
	$(BIN)/python -m pip install --quiet --no-deps --force-reinstall ./$(PLUGIN)
	touch $(PLUGIN_STAMP)

demo: $(STAMP)
	$(BIN)/parkhub demo

test: lint typecheck imports pytest

lint: $(STAMP)
	$(BIN)/ruff check parkhub tests bench
	$(BIN)/ruff format --check parkhub tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP) $(PLUGIN_STAMP)
	$(BIN)/pytest -q

# The long proofs under fire (docs/design.md): chaos-marked tests at full size, fuzzers with
# 1,500 examples each. The worker test needs PARKHUB_TEST_POSTGRES_URL.
chaos: $(STAMP) $(PLUGIN_STAMP)
	PARKHUB_CHAOS=1 $(BIN)/pytest -q -m "chaos or fuzz" tests

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

# A fraction of a province day in one box (bench/province.py): FRACTION=0.01 by default;
# PostgreSQL with 2 workers too when PARKHUB_TEST_POSTGRES_URL is set.
FRACTION ?= 0.01
bench-province: $(STAMP)
	$(BIN)/python -m bench.province --fraction $(FRACTION)

schemas: $(STAMP)
	$(BIN)/python -m parkhub.cli.schemas

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
