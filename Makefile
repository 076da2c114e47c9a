# Two commands do everything on a fresh machine with only Python:
#   make demo   — run the main example (offscreen when there is no display)
#   make test   — ruff, mypy --strict, the docs build and the whole test suite
#                 (PyQt6; `make test QT_API=pyside6` for PySide6)
# Also: make test-cluster (dask.distributed on a LocalCluster; CI runs it),
#       make bench / make bench-quick (benchmarks against superqt & co).
PYTHON ?= python3
QT_API ?= pyqt6
# One environment per binding: `make test QT_API=pyside6` uses .venv-pyside6.
ifeq ($(QT_API),pyqt6)
VENV ?= .venv
else
VENV ?= .venv-$(QT_API)
endif
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(QT_API)

ifeq ($(QT_API),pyside6)
EXTRAS := pyside6,test,demo
else
EXTRAS := qt,test,demo
endif

.PHONY: demo test test-cluster lint typecheck pytest docs venv clean bench bench-quick soak soak-processes

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

lint: $(STAMP)
	$(PY) -m ruff check src tests examples benchmarks
	$(PY) -m ruff format --check src tests examples benchmarks

typecheck: $(STAMP)
	$(PY) -m mypy

pytest: $(STAMP)
	QT_API=$(QT_API) PYTEST_QT_API=$(QT_API) $(PY) -m pytest

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet

test: lint typecheck docs pytest

# The dask.distributed tests: they start a LocalCluster, so `make test` skips them.
test-cluster: $(STAMP)
	QT_API=$(QT_API) PYTEST_QT_API=$(QT_API) $(PY) -m pytest -m cluster

$(VENV)/.installed-bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[$(EXTRAS),bench]"
	touch $@

# Benchmarks: threadworker and its peers side by side; prints ratios, saves JSON.
bench: $(VENV)/.installed-bench
	$(PY) benchmarks/run.py

bench-quick: $(VENV)/.installed-bench
	$(PY) benchmarks/run.py --quick

# Soak: a mixed load with random control and faults; fails if anything is lost or leaked.
SOAK_SECONDS ?= 600
soak: $(STAMP)
	$(PY) benchmarks/soak.py --seconds $(SOAK_SECONDS)

# The same with a third of the workers in worker processes (executor="process").
soak-processes: $(STAMP)
	$(PY) benchmarks/soak.py --seconds $(SOAK_SECONDS) --processes 0.3

clean:
	rm -rf $(VENV) .venv-* build dist .mypy_cache .ruff_cache

# Stress: the state machine's long profile (thousands of examples, several
# minutes; not part of `make test`). THREADWORKER_MACHINE_ITEMS=7,9 also runs
# the rules that expose issue #12 items still listed in tests/faults.py.
.PHONY: stress mutation
stress: $(STAMP)
	QT_API=$(QT_API) PYTEST_QT_API=$(QT_API) $(PY) -m pytest tests/test_state_machine.py \
		--hypothesis-profile=long --timeout=3600

# Mutation testing: plant one bug at a time in the core modules and run their
# fast tests (benchmarks/mutate.py; ~20-30 minutes on two cores, cached in
# build/mutation/). MUTATION_ARGS="--per-module 10 --modules _channel" for less.
MUTATION_ARGS ?= --jobs 2
mutation: $(STAMP)
	QT_API=$(QT_API) $(PY) benchmarks/mutate.py $(MUTATION_ARGS)
