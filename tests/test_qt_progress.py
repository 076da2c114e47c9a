"""WorkerProgress, the Qt view of a worker's pbar (both bindings)."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

pytest.importorskip("qtpy")
from pytestqt.qtbot import QtBot

from threadworker import FunctionWorker, create_worker, thread_worker
from threadworker.qt import WorkerProgress

WAIT_MS = 10_000


def gated(gate: threading.Event, n: int) -> Generator[int, None, None]:
    for i in range(n):
        if i == 2:
            gate.wait(10)
        yield i


def test_determinate_bar_follows_yields_and_the_row_goes_when_done(qtbot: QtBot) -> None:
    gate = threading.Event()
    worker = create_worker(gated, gate, 5, _progress={"total": 5, "desc": "loading"})
    widget = WorkerProgress(worker)
    qtbot.addWidget(widget)
    widget.show()
    [row] = widget.rows
    assert row.label.text() == "loading"
    worker.start()
    qtbot.waitUntil(lambda: row.bar.value() == 2, timeout=WAIT_MS)
    assert row.bar.maximum() == 5
    with qtbot.waitSignal(widget.all_finished, timeout=WAIT_MS):
        gate.set()
    assert widget.rows == []
    assert not widget.isVisible()


def test_indeterminate_when_total_is_zero(qtbot: QtBot) -> None:
    gate = threading.Event()
    worker = FunctionWorker(gate.wait, 10)
    widget = WorkerProgress(worker)
    qtbot.addWidget(widget)
    [row] = widget.rows
    assert (row.bar.minimum(), row.bar.maximum()) == (0, 0)  # a busy indicator
    assert row.pause_button is None  # a function cannot pause
    with qtbot.waitSignal(widget.all_finished, timeout=WAIT_MS):
        worker.start()
        gate.set()


def test_cancel_quits_and_pause_toggles(qtbot: QtBot) -> None:
    @thread_worker(progress=True)
    def forever() -> Generator[int, None, None]:
        while True:
            yield 0
            threading.Event().wait(0.001)

    worker = forever()
    widget = WorkerProgress(worker)
    qtbot.addWidget(widget)
    [row] = widget.rows
    assert row.pause_button is not None
    with qtbot.waitSignal(worker.yielded, timeout=WAIT_MS):
        worker.start()
    with qtbot.waitSignal(worker.paused, timeout=WAIT_MS):
        row.pause_button.click()
    assert row.pause_button.text() == "Resume"
    with qtbot.waitSignal(worker.resumed, timeout=WAIT_MS):
        row.pause_button.click()
    assert row.pause_button.text() == "Pause"
    with qtbot.waitSignal(worker.aborted, timeout=WAIT_MS):
        row.cancel_button.click()
    qtbot.waitUntil(lambda: widget.rows == [], timeout=WAIT_MS)


def test_redraws_are_throttled(qtbot: QtBot) -> None:
    worker = create_worker(range_gen, 50_000, _progress=True)
    widget = WorkerProgress(worker)
    qtbot.addWidget(widget)
    [row] = widget.rows
    with qtbot.waitSignal(widget.all_finished, timeout=WAIT_MS):
        worker.start()
    assert worker.pbar is not None
    assert worker.pbar.n == 50_000
    assert row.refreshes < 1_000  # not one per yield


def range_gen(n: int) -> Generator[int, None, None]:
    yield from range(n)


def test_several_workers_in_one_widget(qtbot: QtBot) -> None:
    first = create_worker(range_gen, 10, _progress={"desc": "first"})
    second = create_worker(range_gen, 10, _progress={"desc": "second"})
    widget = WorkerProgress(first, second)
    qtbot.addWidget(widget)
    assert [row.label.text() for row in widget.rows] == ["first", "second"]
    with qtbot.waitSignal(widget.all_finished, timeout=WAIT_MS):
        first.start()
        second.start()


def test_yielded_slots_see_their_yield_counted(qtbot: QtBot) -> None:
    # The napari way: app.exec()-style delivery, no asyncio loop.
    worker = create_worker(range_gen, 3, _progress={"total": 3})
    bar = worker.pbar
    assert bar is not None
    seen: list[int] = []
    worker.yielded.connect(lambda value: seen.append(bar.n))
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()
    assert seen == [1, 2, 3]
