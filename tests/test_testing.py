"""threadworker.testing: the pytest plugin (loaded here through its pytest11 entry point)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Generator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from threadworker import WorkerAborted, WorkerBase, create_worker
from threadworker.testing import wait_worker

WAIT = 20


def three() -> Generator[int, None, str]:
    yield 1
    yield 2
    yield 3
    return "done"


def test_the_plugin_is_registered_and_inert_until_asked() -> None:
    names = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert names.get("threadworker.testing") == "threadworker.testing"
    assert WorkerBase._start.__name__ == "_start"  # nothing patched without the fixture


def test_sync_workers_run_on_the_tests_thread_before_start_returns(sync_workers: None) -> None:
    worker = create_worker(three)
    seen: list[object] = []
    worker.yielded.connect(seen.append)
    worker.returned.connect(seen.append)
    worker.started.connect(lambda: seen.append(threading.get_ident()))
    worker.start()
    assert seen == [threading.get_ident(), 1, 2, 3, "done"]
    assert not worker.is_running


@pytest.mark.threadworker_sync
def test_the_marker_runs_workers_synchronously_too() -> None:
    worker = create_worker(threading.get_ident, _executor="process")
    worker.start()
    assert worker.future.result(0) == threading.get_ident()  # not in a process: right here


@pytest.mark.threadworker_sync
async def test_awaiting_a_sync_worker_returns_its_value() -> None:
    assert await create_worker(three) == "done"


def test_wait_worker_runs_a_home_for_a_sync_test() -> None:
    assert wait_worker(create_worker(three), WAIT) == "done"


def test_wait_worker_raises_the_error_or_aborted() -> None:
    def fail() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        wait_worker(create_worker(fail), WAIT)
    worker = create_worker(three)
    worker.quit()
    with pytest.raises(WorkerAborted):
        wait_worker(worker, WAIT)


def test_wait_worker_gives_up_after_its_timeout() -> None:
    gate = threading.Event()

    def until_gate() -> Generator[None, None, None]:
        while not gate.wait(0.001):
            yield  # where the end of wait_worker's own loop stops it

    worker = create_worker(until_gate)
    try:
        with pytest.raises(TimeoutError, match=r"did not finish within 0\.05 s"):
            wait_worker(worker, 0.05)
    finally:
        gate.set()


@pytest.mark.qt
def test_wait_worker_processes_qt_events_in_a_qt_app(qtbot: object) -> None:
    worker = create_worker(three)
    worker.start()  # the app.exec() home: the QApplication pytest-qt made
    assert type(worker._dispatcher).__name__ == "QtDispatcher"
    assert wait_worker(worker, WAIT) == "done"


LEAKING_TESTS = """
import asyncio
import threading

from threadworker import create_worker

gate = threading.Event()
loop = asyncio.new_event_loop()


async def start(stop: bool) -> None:
    worker = create_worker(gate.wait, 60, _start_thread=True)
    if stop:
        gate.set()
        await worker


def test_leaks(no_worker_leaks):
    loop.run_until_complete(start(stop=False))


def test_clean(no_worker_leaks):
    loop.run_until_complete(start(stop=True))
"""


def run_pytest(folder: Path, *args: str, autoload: bool) -> subprocess.CompletedProcess[str]:
    (folder / "test_leaks.py").write_text(LEAKING_TESTS)
    (folder / "pytest.ini").write_text("[pytest]\nthreadworker_leak_grace = 0.2\n")
    env = {**os.environ}
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "test_leaks.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.mark.parametrize("autoload", [True, False], ids=["entry-point", "dash-p"])
def test_no_worker_leaks_fails_a_test_that_leaves_a_worker_running(
    tmp_path: Path, autoload: bool
) -> None:
    args = () if autoload else ("-p", "threadworker.testing")
    result = run_pytest(tmp_path, *args, autoload=autoload)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "workers outlived the test (after 0.2 s of grace)" in result.stdout
    assert "FunctionWorker[wait]" in result.stdout
    assert "2 passed, 1 error" in result.stdout  # test_leaks passed, then failed at teardown
    assert "ERROR test_leaks.py::test_leaks" in result.stdout


POOLED_ON_QT = """
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qtpy.QtWidgets import QApplication

from threadworker import create_worker
from threadworker.testing import wait_worker

APP = QApplication.instance() or QApplication([])


def echo(value):
    return value


def test_a_process_worker(no_worker_leaks):
    assert wait_worker(create_worker(echo, 4, _executor="process"), 60) == 4
"""


def test_a_qt_homes_pooled_process_is_not_a_leak(tmp_path: Path) -> None:
    # The pool outlives the test with its home (the app); so do the threads that
    # serve its processes. They were reported as leaked after the grace.
    (tmp_path / "test_pooled.py").write_text(POOLED_ON_QT)
    (tmp_path / "pytest.ini").write_text("[pytest]\nthreadworker_leak_grace = 0.2\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_pooled.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
