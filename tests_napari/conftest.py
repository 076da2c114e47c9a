"""threadworker's own tests in a real napari viewer (napari's pytest plugin gives the viewer)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_API", "pyqt6")

import pytest

#: Where screenshots go (the build folder, never committed).
BUILD = Path(__file__).resolve().parent.parent / "build"


@pytest.fixture
def build_dir() -> Path:
    BUILD.mkdir(exist_ok=True)
    return BUILD
