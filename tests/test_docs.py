"""The docs site's build helpers (the build itself is `make docs`, strict)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_rst_roles() -> ModuleType:
    # A file of the docs build, not of the package: load it by path.
    spec = importlib.util.spec_from_file_location("rst_roles", ROOT / "docs/_ext/rst_roles.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":meth:`~WorkerBase.quit`", "`quit`"),
        (":class:`FunctionWorker`", "`FunctionWorker`"),
        (":py:func:`threadworker.thread_worker`", "`threadworker.thread_worker`"),
        ("see :exc:`~threadworker.WorkerAborted`.", "see `WorkerAborted`."),
        ("an awaitable::\n\n    code()", "an awaitable:\n\n    code()"),
        ("plain ``code`` and a: colon", "plain ``code`` and a: colon"),
    ],
)
def test_docstring_roles_become_markdown(text: str, expected: str) -> None:
    assert load_rst_roles().to_markdown(text) == expected
