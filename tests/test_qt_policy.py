"""timeout=, exclusive=, debounce= and worker.future in a Qt app with no asyncio loop.

The ``app.exec()`` home (napari's style): deliveries and timers go through Qt
(QtDispatcher, precise QTimers); pytest-qt's waits run Qt's event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Any

import pytest

pytest.importorskip("qtpy")
from pytestqt.qtbot import QtBot

import process_jobs as jobs
from threadworker import WorkerTimeout, create_worker, thread_worker

WAIT_MS = 20_000


def forever() -> Generator[int, None, None]:
    while True:
        yield 0
        threading.Event().wait(0.001)


def test_a_timeout_fires_on_a_qt_timer(qtbot: QtBot) -> None:
    worker = create_worker(forever, _timeout=0.05)
    errors: list[BaseException] = []
    worker.errored.connect(errors.append)
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()
    [error] = errors
    assert isinstance(error, WorkerTimeout)
    assert type(worker._dispatcher).__name__ == "QtDispatcher"  # the app.exec() home


def test_a_process_worker_times_out_in_a_qt_app(qtbot: QtBot, tmp_path: Any) -> None:
    worker = create_worker(
        jobs.numbers_forever, str(tmp_path / "closed"), _executor="process", _timeout=0.3
    )
    errors: list[BaseException] = []
    worker.errored.connect(errors.append)
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()
    assert [type(e) for e in errors] == [WorkerTimeout]


def test_latest_wins_in_a_qt_app(qtbot: QtBot) -> None:
    @thread_worker(exclusive=True)
    def layer() -> Generator[int, None, None]:
        yield from forever()

    first = layer()
    with qtbot.waitSignal(first.yielded, timeout=WAIT_MS):
        first.start()
    second = layer()
    with qtbot.waitSignal(first.aborted, timeout=WAIT_MS):
        second.start()
    assert second.is_running
    with qtbot.waitSignal(second.finished, timeout=WAIT_MS):
        second.quit()


def test_a_burst_of_starts_runs_only_the_last_in_a_qt_app(qtbot: QtBot) -> None:
    ran: list[int] = []

    @thread_worker(exclusive="image", debounce=0.05)
    def recompute(i: int) -> int:
        ran.append(i)
        return i

    workers = [recompute(i) for i in range(100)]
    with qtbot.waitSignal(workers[-1].finished, timeout=WAIT_MS):
        for worker in workers:
            worker.start()
    assert ran == [99]
    assert workers[-1].future.result(0) == 99
    assert all(w.future.cancelled() for w in workers[:-1])


def test_cancelling_the_future_quits_the_worker_in_a_qt_app(qtbot: QtBot) -> None:
    worker = create_worker(forever)
    with qtbot.waitSignal(worker.yielded, timeout=WAIT_MS):
        worker.start()
    with qtbot.waitSignal(worker.aborted, timeout=WAIT_MS):
        worker.future.cancel()


def test_latest_wins_for_process_workers_in_a_qt_app(qtbot: QtBot, tmp_path: Any) -> None:
    first = create_worker(
        jobs.numbers_forever, str(tmp_path / "closed"), _executor="process", _exclusive="p"
    )
    with qtbot.waitSignal(first.yielded, timeout=WAIT_MS):
        first.start()
    second = create_worker(jobs.add, 2, 3, _executor="process", _exclusive="p")
    with qtbot.waitSignals([first.aborted, second.returned], timeout=WAIT_MS):
        second.start()
    assert (tmp_path / "closed").read_text() == "closed"
    assert second.future.result(0) == 5


def test_a_burst_of_process_starts_runs_only_the_last_in_a_qt_app(qtbot: QtBot) -> None:
    workers = [
        create_worker(jobs.echo, i, _executor="process", _exclusive=True, _debounce=0.05)
        for i in range(20)
    ]
    futures = [w.future for w in workers]
    with qtbot.waitSignal(workers[-1].finished, timeout=WAIT_MS):
        for worker in workers:
            worker.start()
    assert futures[-1].result(0) == 19
    assert all(f.cancelled() for f in futures[:-1])
    assert not any("started" in w._fired for w in workers[:-1])
