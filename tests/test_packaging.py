"""The wheel and sdist are fit to publish: complete, clean, Qt-free, valid metadata.

They are built (no build isolation: seconds, not a download) from a copy of
the source tree into which caches, virtual environments and build output are
planted first, with an empty .gitignore: the sdist's own exclusions are proven,
whatever the checkout holds or ignores.
"""

from __future__ import annotations

import email
import email.message
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

import threadworker

ROOT = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT = 180

# What a developer's checkout holds besides the sources; none of it ships.
JUNK = (
    ".hypothesis/examples/0a1b/record",
    ".mypy_cache/3.11/threadworker/__init__.data.json",
    ".ruff_cache/0.6.0/123",
    ".pytest_cache/v/cache/nodeids",
    "src/threadworker/__pycache__/_signal.cpython-311.pyc",
    "tests/__pycache__/test_signal.cpython-311.pyc",
    ".venv/bin/python",
    ".venv-pyside6/bin/python",
    "build/site/index.html",
    "build/lib/threadworker/__init__.py",
    "site/index.html",
    "dist/threadworker-0.0.0.tar.gz",
    "src/threadworker.egg-info/PKG-INFO",
)
JUNK_PARTS = {
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "__pycache__",
    "build",
    "site",
    "dist",
}


@dataclass
class Dists:
    wheel: Path
    sdist: Path

    def wheel_names(self) -> list[str]:
        with zipfile.ZipFile(self.wheel) as wheel:
            return wheel.namelist()

    def sdist_names(self) -> list[str]:
        """Paths inside the sdist, without its top directory."""
        with tarfile.open(self.sdist) as sdist:
            return [str(PurePosixPath(*PurePosixPath(n).parts[1:])) for n in sdist.getnames()]

    def metadata(self) -> email.message.Message:
        with zipfile.ZipFile(self.wheel) as wheel:
            name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
            return email.message_from_bytes(wheel.read(name))


def _copy_ignoring_checkout_state(source: Path, target: Path) -> None:
    # Whatever this checkout holds besides the sources; the fixture plants its own.
    skip = (".git", ".venv*", "build", "dist", "site", "*.egg-info", "__pycache__", ".*cache*")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*skip, ".hypothesis"))


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    tree = tmp_path_factory.mktemp("checkout") / "threadworker"
    _copy_ignoring_checkout_state(ROOT, tree)
    for junk in JUNK:
        (tree / junk).parent.mkdir(parents=True, exist_ok=True)
        (tree / junk).write_text("junk\n")
    # hatch also leaves out what .gitignore lists; the sdist must be clean without it.
    (tree / ".gitignore").write_text("")
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return Dists(wheel, sdist)


def test_both_are_named_for_this_version(dists: Dists) -> None:
    version = threadworker.__version__
    assert dists.wheel.name == f"threadworker-{version}-py3-none-any.whl"
    assert dists.sdist.name == f"threadworker-{version}.tar.gz"
    assert dists.metadata()["Version"] == version


def test_the_license_ships_in_both(dists: Dists) -> None:
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("BSD 3-Clause License")
    dist_info = f"threadworker-{threadworker.__version__}.dist-info"
    with zipfile.ZipFile(dists.wheel) as wheel:
        assert wheel.read(f"{dist_info}/licenses/LICENSE").decode() == license_text
    assert "LICENSE" in dists.sdist_names()


def test_the_wheel_holds_the_package_and_its_type_marker_only(dists: Dists) -> None:
    names = dists.wheel_names()
    assert "threadworker/py.typed" in names
    assert "threadworker/__init__.py" in names
    assert "threadworker/qt.py" in names
    tops = {PurePosixPath(n).parts[0] for n in names}
    assert tops == {"threadworker", f"threadworker-{threadworker.__version__}.dist-info"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_sdist_has_the_sources_and_no_caches_or_build_output(dists: Dists) -> None:
    names = dists.sdist_names()
    for needed in (
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
        "src/threadworker/__init__.py",
        "src/threadworker/py.typed",
        "tests/conftest.py",
        "docs/demo.png",
    ):
        assert needed in names, needed
    junk = [
        n
        for n in names
        if JUNK_PARTS & set(PurePosixPath(n).parts)
        or PurePosixPath(n).parts[0].startswith(".venv")
        or ".egg-info" in n
        or n.endswith(".pyc")
    ]
    assert junk == []


def test_the_sdist_has_every_file_the_repository_tracks(dists: Dists) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.splitlines()
    on_disk = [name for name in tracked if (ROOT / name).exists()]  # not deleted, uncommitted
    assert sorted(set(on_disk) - set(dists.sdist_names())) == []


def test_metadata_says_license_pythons_frameworks_and_extras(dists: Dists) -> None:
    meta = dists.metadata()
    assert meta["Metadata-Version"] == "2.4"  # older pip and twine read it
    assert meta["License-Expression"] == "BSD-3-Clause"
    classifiers = meta.get_all("Classifier") or []
    for classifier in (
        "License :: OSI Approved :: BSD License",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Framework :: AsyncIO",
        "Framework :: napari",
        "Environment :: X11 Applications :: Qt",
    ):
        assert classifier in classifiers
    assert "dask" in (meta.get_all("Provides-Extra") or [])
    assert "distributed>=2024.1; extra == 'dask'" in (meta.get_all("Requires-Dist") or [])
    assert meta["Requires-Python"] == ">=3.11"


def test_twine_check_passes(dists: Dists) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dists.wheel), str(dists.sdist)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_the_wheel_runs_a_worker_with_no_qt_installed(dists: Dists) -> None:
    # Only the standard library and the wheel (-S: no site-packages): no Qt, no numpy.
    code = (
        "import asyncio, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import threadworker\n"
        "assert threadworker.__file__.startswith(sys.argv[1]), threadworker.__file__\n"
        "async def main():\n"
        "    return await threadworker.create_worker(pow, 2, 10)\n"
        "print('result', asyncio.run(main()))\n"
        "print('loaded', sorted({m.split('.')[0] for m in sys.modules} & "
        "{'qtpy', 'PyQt6', 'PySide6', 'qasync', 'numpy'}))\n"
        "try:\n"
        "    import threadworker.qt\n"
        "except ModuleNotFoundError as exc:\n"
        "    print('qt', exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(dists.wheel)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "result 1024"
    assert lines[1] == "loaded []"
    assert lines[2].startswith("qt threadworker.qt needs qtpy and a Qt binding"), lines[2]


def test_the_changelog_opens_with_this_version() -> None:
    sections = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    assert sections[0] == threadworker.__version__
    assert "0.1.0" in sections
