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
.PHONY: demo test test-cluster lint typecheck pytest docs venv clean bench bench-quick soak soak-processes test-qtasyncio test-jupyter

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

# napari: napari's own worker tests with the import swapped to threadworker
# (tests_napari/swap_imports.py copies them out of the installed napari; none is
# committed), then threadworker in a real napari viewer (tests_napari/: the
# integration, and the guide's examples in examples/napari_guide.py, screenshots
# into build/). Its own environment per napari version; `make test-napari
# NAPARI_VERSION=latest` tries the newest. napari needs a GL context, which the
# offscreen platform lacks: Xvfb + Mesa are installed with apt-get when missing.
NAPARI_PIN := 0.9.2
NAPARI_VERSION ?= $(NAPARI_PIN)
NAPARI_VENV ?= .venv-napari$(if $(filter $(NAPARI_PIN),$(NAPARI_VERSION)),,-$(NAPARI_VERSION))
NAPARI_PY := $(NAPARI_VENV)/bin/python
NAPARI_SPEC := napari[pyqt6]$(if $(filter latest,$(NAPARI_VERSION)),,==$(NAPARI_VERSION))
NAPARI_APT := xvfb xauth libgl1-mesa-dri libegl1 libxkbcommon-x11-0 libxcb-cursor0 \
	libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 \
	libxcb-shape0 libxcb-xfixes0 libxcb-xinerama0 libdbus-1-3 libfontconfig1
XVFB := xvfb-run -a -s "-screen 0 1280x1024x24"

.PHONY: test-napari napari-system

$(NAPARI_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(NAPARI_VENV)
	$(NAPARI_PY) -m pip install --quiet --upgrade pip
	$(NAPARI_PY) -m pip install --quiet "$(NAPARI_SPEC)" "pytest>=8" "pytest-qt>=4.4" \
		"pytest-timeout>=2.3" "pytest-pretty>=1.1" "ruff>=0.6" -e ".[qt]"
	touch $@

napari-system:
	@dpkg -s $(NAPARI_APT) >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(NAPARI_APT) >/dev/null; }

test-napari: $(NAPARI_VENV)/.installed napari-system
	$(NAPARI_PY) -m ruff check tests_napari
	$(NAPARI_PY) -m ruff format --check tests_napari
	rm -rf build/napari-tests
	$(NAPARI_PY) tests_napari/swap_imports.py build/napari-tests
	cd build/napari-tests && QT_API=pyqt6 $(XVFB) ../../$(NAPARI_PY) -m pytest -p no:pretty \
		test_threading_progress.py test_magicgui.py::test_magicgui_add_threadworker
	QT_API=pyqt6 $(XVFB) $(NAPARI_PY) -m pytest -p no:pretty tests_napari \
		--ignore=tests_napari/test_jupyter_napari.py

# PySide6's QtAsyncio, a home of its own: the homes tests and the docs examples
# in an environment with the full PySide6 (QtAsyncio is not in -Essentials).
QTASYNCIO_VENV ?= .venv-qtasyncio
QTASYNCIO_PYSIDE6 ?= PySide6==6.11.2
$(QTASYNCIO_VENV)/.installed-qtasyncio: pyproject.toml
	$(PYTHON) -m venv $(QTASYNCIO_VENV)
	$(QTASYNCIO_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(QTASYNCIO_VENV)/bin/python -m pip install --quiet -e ".[pyside6,test]" "$(QTASYNCIO_PYSIDE6)"
	touch $@

test-qtasyncio: $(QTASYNCIO_VENV)/.installed-qtasyncio
	QT_API=pyside6 PYTEST_QT_API=pyside6 $(QTASYNCIO_VENV)/bin/python -m pytest \
		tests/test_homes.py tests/test_where.py

# Workers in a real Jupyter kernel (jupyter_client starts ipykernel).
$(VENV)/.installed-jupyter: $(STAMP)
	$(PY) -m pip install --quiet -e ".[$(EXTRAS),jupyter]"
	touch $@

test-jupyter: $(VENV)/.installed-jupyter
	QT_API=$(QT_API) PYTEST_QT_API=$(QT_API) $(PY) -m pytest -m jupyter tests/test_jupyter.py
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

# A napari viewer in a real Jupyter kernel with %gui qt (issue 14). Its own pytest run:
# jupyter_client leaves an asyncio loop set in the test process. ipykernel's %gui qt can
# leave a cell unanswered under Qt's loop: the test makes that loop leave every 200 ms
# (docs/where.md, "A Jupyter kernel").
.PHONY: test-jupyter-napari
$(NAPARI_VENV)/.installed-jupyter: $(NAPARI_VENV)/.installed
	$(NAPARI_PY) -m pip install --quiet -e ".[qt,jupyter]"
	touch $@

test-jupyter-napari: $(NAPARI_VENV)/.installed-jupyter napari-system
	QT_API=pyqt6 $(XVFB) $(NAPARI_PY) -m pytest -p no:pretty tests_napari/test_jupyter_napari.py


# Big frames from a worker process (issue 16): shared memory vs the forced pipe path vs
# the same generator in a thread, and the size where shared memory starts to win.
.PHONY: bench-frames
bench-frames: $(VENV)/.installed-bench
	$(PY) benchmarks/run.py --only frames_2mib frames_32mib crossover --out benchmarks/results/frames.json
