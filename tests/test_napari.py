"""The napari hook stays out of the way without napari (tests_napari/ has the viewer tests)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from threadworker import create_worker


def test_threadworker_never_imports_napari(tmp_path: Path) -> None:
    # A napari that fails when imported: threadworker must not be the one to import it.
    fake = tmp_path / "napari"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('threadworker imported napari')\n")
    code = textwrap.dedent(
        """
        import asyncio, sys
        import threadworker

        def gen():
            yield from threadworker.progress(range(3))
            return 1

        async def main():
            worker = threadworker.create_worker(gen, _progress={"total": 3})
            assert await worker == 1
            assert await threadworker.create_worker(sum, [1, 2]) == 3

        asyncio.run(main())
        print(sorted(m for m in sys.modules if m.startswith("napari")))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


async def test_napari_loaded_but_no_viewer_module_adopts_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The application imported napari (here a stand-in) but never made a viewer.
    monkeypatch.setitem(sys.modules, "napari", types.ModuleType("napari"))
    worker = create_worker(sum, [1, 2])
    assert await asyncio.wait_for(worker, 10) == 3
    assert worker._host is None
    assert "napari.viewer" not in sys.modules
