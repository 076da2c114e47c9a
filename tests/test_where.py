"""The "Where it runs" page's examples run as written, one per home."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from script_runner import run_script

WHERE = Path(__file__).resolve().parent.parent / "docs" / "where.md"
EXAMPLES = re.findall(
    r"<!-- home: (\S+) -->\s*```python\n(.*?)```", WHERE.read_text(), flags=re.DOTALL
)
# What each home needs installed; a home whose package is missing is skipped
# (QtAsyncio: `make test-qtasyncio`).
NEEDS = {
    "asyncio": [],
    "uvloop": ["uvloop"],
    "qasync": ["qasync", "qtpy"],
    "app.exec()": ["qtpy"],
    "qtasyncio": ["PySide6.QtAsyncio"],
}
PROGRESS = [f"so far: {total}" for total in (0, 31375, 125250, 281625)]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


@pytest.mark.parametrize(("home", "code"), EXAMPLES, ids=[home for home, _ in EXAMPLES])
def test_where_example_runs(home: str, code: str, tmp_path: Path) -> None:
    missing = [module for module in NEEDS[home] if not _installed(module)]
    if missing:
        pytest.skip(f"{home} needs {', '.join(missing)}")
    result = run_script(code, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "result: 499500"
    if "async for" in code:
        assert lines[:-1] == PROGRESS


def test_every_home_has_an_example() -> None:
    assert sorted(home for home, _ in EXAMPLES) == sorted(NEEDS)
