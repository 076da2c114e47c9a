"""Copy napari's own worker tests out of the installed napari, importing threadworker.

napari ships its tests inside the package; this copies the ones that exercise
``thread_worker`` (and napari's ``conftest.py``, which provides
``make_napari_viewer``) into a folder of the build directory, with every import
of napari's worker module rewritten to import threadworker instead — what a
napari user swapping one import does. napari's files are never committed: they
come from the pinned napari installed in the napari environment.

Each rewrite must apply: if a napari release moves an import, this fails
loudly instead of silently testing napari's own workers.

Usage: ``python tests_napari/swap_imports.py OUT_DIR``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Test file inside the napari package -> imports that must be rewritten there.
TEST_FILES = {
    "_qt/_tests/test_threading_progress.py": ["from napari._qt import qthreading"],
    "_tests/test_magicgui.py": ["from napari.qt.threading import FunctionWorker, thread_worker"],
}

# ``from napari._qt import qthreading`` / ``from napari.qt import threading``
MODULE_IMPORT = re.compile(r"^(\s*)from napari\.(?:_qt|qt) import (qthreading|threading)\s*$", re.M)
# ``from napari._qt.qthreading import X, Y`` / ``from napari.qt.threading import X``
NAME_IMPORT = re.compile(r"^(\s*)from napari\.(?:_qt\.qthreading|qt\.threading) import ", re.M)

PYTEST_INI = """\
[pytest]
# napari's tests with threadworker in place of napari's workers (see swap_imports.py).
addopts = -p no:cacheprovider -ra
timeout = 120
"""


def swap(source: str) -> str:
    """*source* with napari's worker imports pointing at threadworker."""
    source = MODULE_IMPORT.sub(r"\1import threadworker as \2", source)
    return NAME_IMPORT.sub(r"\1from threadworker import ", source)


def main(out_dir: str) -> int:
    """Write the swapped tests and napari's conftest into *out_dir*."""
    import napari

    package = Path(napari.__file__).resolve().parent
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "conftest.py").write_text((package / "conftest.py").read_text())
    (out / "pytest.ini").write_text(PYTEST_INI)
    for relative, expected in TEST_FILES.items():
        source = (package / relative).read_text()
        missing = [line for line in expected if line not in source]
        if missing:
            print(f"{relative}: napari {napari.__version__} no longer has {missing}")
            return 1
        swapped = swap(source)
        left = [line for line in expected if line in swapped]
        if left or "threadworker" not in swapped:
            print(f"{relative}: could not rewrite {left}")
            return 1
        (out / Path(relative).name).write_text(swapped)
        print(f"napari {napari.__version__}: {relative} -> {out / Path(relative).name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/napari-tests"))
