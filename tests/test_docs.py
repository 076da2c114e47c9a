"""The docs site: `make docs` fails on any warning; its docstring helper."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
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


def docs_build_arguments() -> list[str]:
    """The arguments `make docs` gives `mkdocs build`, read from the Makefile."""
    recipe = next(
        line for line in (ROOT / "Makefile").read_text().splitlines() if "mkdocs build" in line
    )
    return recipe.split("mkdocs build", 1)[1].split()


def test_the_docs_build_fails_on_any_warning(tmp_path: Path) -> None:
    # The site's own configuration and pages, with three kinds of breakage planted.
    for part in ("docs", "src"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "mkdocs.yml", tmp_path)
    with (tmp_path / "docs" / "index.md").open("a") as index:
        index.write("\n[gone](no-such-page.md) ![gone](no-such.png) [gone](signals.md#no-such)\n")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", *docs_build_arguments()],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Aborted with 3 warnings in strict mode" in output, output
    for target in ("no-such-page.md", "no-such.png", "#no-such"):
        assert target in output


def test_the_api_reference_documents_every_public_name(tmp_path: Path) -> None:
    import threadworker

    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", *docs_build_arguments(), "-d", str(site)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    page = (site / "api" / "index.html").read_text()
    missing = [name for name in threadworker.__all__ if f'id="threadworker.{name}"' not in page]
    assert missing == []
    assert 'id="threadworker.testing.wait_worker"' in page
