# Two commands do everything on a fresh machine with only Python:
#   make demo   — run the main example (offscreen when there is no display)
#   make test   — ruff, mypy --strict, the docs build, the wheel and sdist (make dist)
#                 and the whole test suite
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

.PHONY: demo test test-cluster lint typecheck pytest docs dist venv clean bench bench-quick soak soak-processes

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

venv: $(STAMP)

# Offscreen, its mid-run screenshot becomes docs/demo.png, the README's picture.
demo: $(STAMP)
	$(PY) examples/demo.py --png docs/demo.png

lint: $(STAMP)
	$(PY) -m ruff check src tests examples benchmarks docs/_ext
	$(PY) -m ruff format --check src tests examples benchmarks docs/_ext

typecheck: $(STAMP)
	$(PY) -m mypy

pytest: $(STAMP)
	QT_API=$(QT_API) PYTEST_QT_API=$(QT_API) $(PY) -m pytest

# Strict: any warning fails the build (no --quiet: it would hide them from strict mode).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict
	@echo "docs: the site is in $(CURDIR)/build/site (open index.html there)"

test: lint typecheck docs dist pytest

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

# The wheel and sdist to publish, into build/dist (no build isolation: the venv has
# hatchling, so this takes seconds); twine checks their metadata and README.
# tests/test_packaging.py checks what is inside them.
dist: $(STAMP)
	rm -rf build/dist
	$(PY) -m build --no-isolation --outdir build/dist
	$(PY) -m twine check --strict build/dist/*

# superqt's own worker tests (test_threadworker.py, test_ensure_thread.py from its
# sdist, imports swapped) against threadworker, on the current QT_API.
# SUPERQT_VERSION=latest runs the newest release.
SUPERQT_VERSION ?= 0.9.0
.PHONY: test-compat
test-compat: $(STAMP)
	QT_API=$(QT_API) $(PY) tests/compat/run_superqt.py --version $(SUPERQT_VERSION) -q
