"""WorkerProgress, the Qt view of a worker's pbar (both bindings)."""

from __future__ import annotations

import subprocess
import sys
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


# A child interpreter in which the named top-level modules cannot be imported.
BLOCKED_IMPORT = """
import importlib.abc, sys

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
import threadworker  # the core needs no Qt
try:
    import threadworker.qt
except ModuleNotFoundError as exc:
    print(exc)
else:
    print("imported")
"""


@pytest.mark.parametrize(
    "blocked",
    [
        pytest.param({"qtpy"}, id="no-qtpy"),
        pytest.param({"PyQt5", "PyQt6", "PySide2", "PySide6"}, id="no-binding"),
    ],
)
def test_importing_qt_without_qt_says_what_to_install(blocked: set[str]) -> None:
    code = BLOCKED_IMPORT.format(blocked=sorted(blocked))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    message = result.stdout.strip()
    assert message.startswith("threadworker.qt needs qtpy and a Qt binding"), message
    assert "pip install 'threadworker[qt]' (PyQt6) or 'threadworker[pyside6]'" in message


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
