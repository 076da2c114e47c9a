"""The README's examples run as written (headless, bounded)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from script_runner import run_script

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(code: str, tmp_path: Path) -> None:
    result = run_script(code, tmp_path)
    assert result.returncode == 0, result.stderr


def test_readme_has_its_examples() -> None:
    assert len(BLOCKS) >= 2
    assert "async for partial in worker" in BLOCKS[0]
    assert "app.exec()" in BLOCKS[1]


ROOT = README.parent
PACKAGE = ROOT / "src" / "threadworker"


def readme_tree() -> set[str]:
    """The files the README's development tree lists under src/threadworker/."""
    development = README.read_text().split("## Development", 1)[1]
    block = re.search(r"```\n(src/threadworker/\n.*?)```", development, flags=re.DOTALL)
    assert block, "the Development section opens with a tree of src/threadworker/"
    listed: set[str] = set()
    folders: list[tuple[int, str]] = []  # (indent, name) of the folders we are in
    for line in block.group(1).splitlines()[1:]:
        indent = len(line) - len(line.lstrip())
        if indent == 0:  # back at the top: past the package
            break
        name = line.split()[0]
        folders = [(i, f) for i, f in folders if i < indent]
        path = "/".join([f for _, f in folders] + [name.rstrip("/")])
        if name.endswith("/"):
            folders.append((indent, name.rstrip("/")))
        else:
            listed.add(path)
    return listed


def test_the_development_tree_lists_every_module() -> None:
    files = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    listed = readme_tree()
    assert files - listed == set(), "add these to the README's development tree"
    assert listed - files == set(), "the README's development tree lists files that are gone"


def test_the_readmes_links_and_images_are_in_the_repository() -> None:
    text = README.read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if "://" not in t]
    assert "docs/demo.png" in local
    missing = [t for t in local if not (ROOT / t).exists()]
    assert missing == []
    if shutil.which("git") and (ROOT / ".git").exists():
        # Present here but ignored would be missing from every clone (as demo.png was).
        ignored = subprocess.run(
            ["git", "-C", str(ROOT), "check-ignore", "--no-index", *local],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert ignored.stdout.split() == []
