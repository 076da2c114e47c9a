"""A napari viewer in a real Jupyter kernel with ``%gui qt`` stays live (issue 14).

jupyter_client starts ipykernel in this environment, under the display
``make test-napari`` gives (Xvfb). Cells make a viewer and start a worker whose
frames go into an image layer; then no cell runs, and the frames must still
arrive and Qt's timers tick. Every wait is bounded; the kernel is shut down and
checked dead at the end.

Between cells ipykernel runs Qt's loop until a shell message wakes it; now
and then a received cell is left waiting under it (docs/where.md: ipykernel 7
enters Qt's loop ahead of the cell's task; on 6.31 and 7.4 the loop also went
deaf to new messages), with or without threadworker. The kernel's Qt loop here
leaves every ``QT_LOOP_POLL_MS`` (``GUI_QT``) so such a cell runs;
``tests/test_nested_qt.py`` checks deliveries come from Qt's loop itself.
"""

from __future__ import annotations

import os
import queue
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

CELL_TIMEOUT = 60
QT_LOOP_POLL_MS = 200


class Kernel:
    """A running kernel and its client."""

    def __init__(self, manager: Any, client: Any) -> None:
        self.manager = manager
        self.client = client

    def run(self, code: str) -> str:
        """Run a cell; its printed output. Fails on an error in the cell."""
        out: list[str] = []
        error: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            content = msg["content"]
            if msg["msg_type"] == "stream":
                out.append(content["text"])
            elif msg["msg_type"] == "error":
                error.append("\n".join(content["traceback"]))

        reply = self.client.execute_interactive(code, timeout=CELL_TIMEOUT, output_hook=hook)
        assert reply["content"]["status"] == "ok", "".join(error) + "".join(out)
        return "".join(out)

    def wait_for(self, expression: str) -> None:
        """Run cells until *expression* is true in the kernel (bounded)."""
        deadline = time.monotonic() + CELL_TIMEOUT
        while self.run(f"print(bool({expression}))").strip() != "True":
            assert time.monotonic() < deadline, f"never true: {expression}"
            time.sleep(0.05)  # the kernel's loops run between these cells

    def wait_for_idle_output(self, text: str) -> str:
        """Read what the kernel prints, with no cell sent, until a line has *text*."""
        deadline = time.monotonic() + CELL_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.client.get_iopub_msg(timeout=left)
            except (queue.Empty, TimeoutError):
                break
            if msg["msg_type"] == "stream" and text in msg["content"]["text"]:
                return str(msg["content"]["text"])
        raise AssertionError(f"the kernel never printed {text!r} between cells")


@pytest.fixture
def kernel() -> Iterator[Kernel]:
    manager_module = pytest.importorskip("jupyter_client.manager")
    pytest.importorskip("ipykernel")
    # The display Xvfb gives, not offscreen: napari needs a GL context.
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["QT_API"] = "pyqt6"
    manager, client = manager_module.start_new_kernel(
        kernel_name="python3", startup_timeout=CELL_TIMEOUT, env=env
    )
    kernel = Kernel(manager, client)
    try:
        yield kernel
    finally:
        client.stop_channels()
        if manager.has_kernel:  # the test shuts it down itself when it passes
            manager.shutdown_kernel(now=True)
        assert not manager.is_alive()


#: ``%gui qt``, and a workaround for ipykernel (module docstring) in the same cell:
#: the next one may already be left waiting.
GUI_QT = f"""
%gui qt
from qtpy.QtCore import QTimer
qt_loop_poll = QTimer()
qt_loop_poll.timeout.connect(get_ipython().kernel.app.qt_event_loop.quit)
qt_loop_poll.start({QT_LOOP_POLL_MS})
"""

#: Cells sent one after another (with no poll, ipykernel 7.4.0 leaves one in some dozens).
MANY_CELLS = 300

BUSY_QT = """
from qtpy.QtWidgets import QWidget
window = QWidget()
window.show()
ticks = 0
def tick():
    global ticks
    ticks += 1
timer = QTimer()
timer.timeout.connect(tick)
timer.start(5)
"""


def test_with_gui_qt_and_qt_busy_the_kernel_answers_every_cell(kernel: Kernel) -> None:
    kernel.run(GUI_QT)
    kernel.run(BUSY_QT)
    for i in range(MANY_CELLS):  # each answered within CELL_TIMEOUT, or the test fails
        kernel.run(f"cell = {i}")
    assert kernel.run("print(cell, ticks > 0)").split() == [str(MANY_CELLS - 1), "True"]


VIEWER = """
import os, sys, threading
import numpy as np
import napari
from qtpy.QtCore import QTimer
from threadworker import thread_worker

print(sys.executable, os.getpid())
viewer = napari.Viewer()
layer = viewer.add_image(np.zeros((16, 16), dtype=np.uint8), name="frames")
ticks = 0
def tick():
    global ticks
    ticks += 1
timer = QTimer()
timer.timeout.connect(tick)
timer.start(5)
data_events = []
layer.events.data.connect(lambda event: data_events.append(1))
"""

WORKER = """
@thread_worker(progress={"total": 1_000_000, "desc": "frames"})
def frames_forever():
    pause = threading.Event()
    i = 0
    while True:
        i += 1
        yield np.full((16, 16), i % 250 + 1, dtype=np.uint8)
        pause.wait(0.005)

frames = 0
last = None
ended = []
def show(frame):
    global frames, last
    layer.data = frame
    frames += 1
    last = frame
    if frames == 30:  # printed from Qt's loop, while no cell runs
        print(f"live: frames={frames} ticks={ticks} thread={threading.current_thread().name}",
              flush=True)
worker = frames_forever()
worker.yielded.connect(show)
worker.aborted.connect(lambda: ended.append("aborted"))
worker.finished.connect(lambda: ended.append("finished"))
worker.start()
print("frames at the end of the cell:", frames)
"""

ACTIVITY = """
from napari._qt.widgets.qt_progress_bar import QtLabeledProgressBar
from napari.utils.progress import progress as napari_progress

def open_bars():
    dialog = viewer.window._qt_window._activity_dialog
    return [bar for bar in dialog.findChildren(QtLabeledProgressBar)
            if bar.progress is not None and bar.progress in napari_progress._all_instances]

def states():
    return [item.state()[2].name for item in viewer.window._task_status_manager._tasks.values()]
"""


def test_with_gui_qt_a_napari_viewer_stays_live_and_a_worker_fills_it_between_cells(
    kernel: Kernel,
) -> None:
    kernel.run(GUI_QT)
    executable, pid = kernel.run(VIEWER).split()
    assert executable == sys.executable  # this environment's napari and threadworker
    assert kernel.run(WORKER).strip() == "frames at the end of the cell: 0"
    # No cell runs and nothing is sent: the frames arrive on the kernel's main thread.
    live = kernel.wait_for_idle_output("live:").split()
    assert live[1] == "frames=30"
    assert int(live[2].removeprefix("ticks=")) > 0  # Qt's timer ticked meanwhile
    assert live[3] == "thread=MainThread"

    # A later cell reads what happened while idle.
    kernel.run("seen, ticked = frames, ticks")
    kernel.wait_for("frames > seen + 10 and ticks > ticked + 10")
    kernel.run(ACTIVITY)
    out = kernel.run(
        "print(np.array_equal(layer.data, last), int(layer.data[0, 0]) == frames % 250 + 1,"
        " len(data_events) == frames, viewer.window._qt_window.isVisible())"
    )
    assert out.split() == ["True"] * 4
    # The worker's bar in napari's activity dock follows it, its task is busy.
    kernel.wait_for("len(open_bars()) == 1 and open_bars()[0].progress.n >= 30")
    out = kernel.run(
        "bar = open_bars()[0]\nprint(bar.progress.desc, bar.qt_progress_bar.maximum(), states())"
    )
    assert out.strip() == "frames 1000000 ['BUSY']"

    kernel.run("worker.quit()")
    kernel.wait_for("ended == ['aborted', 'finished']")
    kernel.wait_for("open_bars() == []")
    assert kernel.run("print(states(), worker.is_running)").strip() == "['CANCELLED'] False"
    kernel.run("stopped = frames")
    kernel.wait_for("ticks > ticked + 40")  # Qt still runs, and no frame comes any more
    assert kernel.run("print(frames == stopped)").strip() == "True"

    kernel.run("viewer.close()")
    assert kernel.run("print(napari.current_viewer())").strip() == "None"
    kernel.client.stop_channels()
    kernel.manager.shutdown_kernel(now=True)
    assert not kernel.manager.is_alive()
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)
