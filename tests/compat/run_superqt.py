"""Run superqt's own worker tests against threadworker (``make test-compat``).

Downloads superqt's sdist with pip, extracts ``tests/test_threadworker.py`` and
``tests/test_ensure_thread.py`` into the build folder, swaps their superqt
imports for threadworker ones and runs them with pytest and pytest-qt under
the current ``QT_API``. superqt's files are never committed: they are fetched
each run, at the version asked for.

Usage::

    python tests/compat/run_superqt.py [--version 0.9.0 | --version latest] [pytest args]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "compat"
TEST_FILES = ("tests/test_threadworker.py", "tests/test_ensure_thread.py")

#: superqt import line → its threadworker replacement.
IMPORTS = {
    r"^import superqt\.utils\._qthreading as qthreading$": "import threadworker as qthreading",
    r"^from superqt\.utils import _qthreading as qthreading$": "import threadworker as qthreading",
    r"^from superqt\.utils import ensure_main_thread, ensure_object_thread$": (
        "from threadworker import ensure_main_thread, ensure_object_thread"
    ),
}

#: Tests where threadworker differs from superqt on purpose (docs/migration.md).
DESELECTED = {
    # Worker warnings pass through the process's warning filters; superqt's
    # suite runs with ``filterwarnings = error``, which turns the worker's
    # ``warnings.warn`` into an exception: ``errored``, not ``warned``.
    "test_threadworker.py::test_thread_warns": "worker warnings respect the warning filters",
}

#: superqt's pytest settings for these files (its pyproject.toml), minus coverage.
PYTEST_INI = """\
[pytest]
filterwarnings =
    error
    ignore:Failed to disconnect::pytestqt
timeout = 120
"""


def download(version: str) -> Path:
    """Fetch superqt's sdist (*version*, or the newest for ``latest``) into the build folder."""
    dest = BUILD / "sdist" / version
    found = sorted(dest.glob("superqt-*.tar.gz"))
    if found:
        return found[-1]
    dest.mkdir(parents=True, exist_ok=True)
    spec = "superqt" if version == "latest" else f"superqt=={version}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            spec,
            "-d",
            str(dest),
        ],
        check=True,
    )
    (sdist,) = dest.glob("superqt-*.tar.gz")
    return sdist


def swap_imports(source: str) -> str:
    """Rewrite superqt's imports to threadworker's; fail if one is left."""
    for pattern, replacement in IMPORTS.items():
        source = re.sub(pattern, replacement, source, flags=re.MULTILINE)
    leftover = re.findall(r"^.*\bsuperqt\b.*$", source, flags=re.MULTILINE)
    if leftover:
        raise SystemExit(f"unswapped superqt import(s): {leftover}")
    return source


def extract(sdist: Path) -> Path:
    """Write the two test files, imports swapped, next to a pytest.ini."""
    name = sdist.name.removesuffix(".tar.gz")
    out = BUILD / name
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist) as archive:
        for relative in TEST_FILES:
            member = archive.extractfile(f"{name}/{relative}")
            if member is None:
                raise SystemExit(f"{relative} is not in {sdist.name}")
            text = member.read().decode()
            (out / Path(relative).name).write_text(swap_imports(text))
    (out / "pytest.ini").write_text(PYTEST_INI)
    return out


def main(argv: list[str]) -> int:
    """Download, extract, swap and run; return pytest's exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="0.9.0", help="superqt version, or 'latest'")
    args, pytest_args = parser.parse_known_args(argv)
    folder = extract(download(args.version))
    api = os.environ.setdefault("QT_API", "pyqt6")
    env = {**os.environ, "PYTEST_QT_API": api, "QT_QPA_PLATFORM": "offscreen"}
    # superqt skips four ensure_thread tests when CI is set ("github hangs"):
    # they are exactly the ones that test queued calls, so run them here too
    # (every test is bounded by the pytest timeout).
    env.pop("CI", None)
    command = [sys.executable, "-m", "pytest", "-c", str(folder / "pytest.ini")]
    command += ["--rootdir", str(folder), "-p", "no:cacheprovider", "-p", "no:asyncio", "-ra"]
    for test in DESELECTED:
        command += ["--deselect", test]  # relative to the rootdir
    command += [Path(f).name for f in TEST_FILES] + pytest_args
    print(f"superqt {folder.name} tests, QT_API={api}:", " ".join(command[3:]), flush=True)
    return subprocess.call(command, cwd=folder, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
