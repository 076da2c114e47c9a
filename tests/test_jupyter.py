"""Workers in a real Jupyter kernel: jupyter_client starts ipykernel, runs cells.

``make test-jupyter`` runs these (the ``jupyter`` extra; marker ``jupyter``).
Every wait is bounded; each kernel is shut down at the end.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.jupyter

CELL_TIMEOUT = 60
WHERE = Path(__file__).resolve().parent.parent / "docs" / "where.md"


@dataclass
class Kernel:
    """A running kernel and its client."""

    manager: Any
    client: Any
    outputs: list[str] = field(default_factory=list)

    def run(self, code: str, *, timeout: float = CELL_TIMEOUT) -> str:
        """Run a cell; its printed output. Fails on an error in the cell."""
        status, out, error = self.run_raw(code, timeout=timeout)
        assert status == "ok", f"{error}\n{out}"
        return out

    def run_raw(self, code: str, *, timeout: float = CELL_TIMEOUT) -> tuple[str, str, str]:
        """Run a cell; its status, printed output and error name."""
        out: list[str] = []
        error: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            content = msg["content"]
            if msg["msg_type"] == "stream":
                out.append(content["text"])
            elif msg["msg_type"] == "error":
                error.append(content["ename"])

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=hook)
        return reply["content"]["status"], "".join(out), "".join(error)

    def wait_for(self, expression: str, *, timeout: float = CELL_TIMEOUT) -> None:
        """Run cells until *expression* is true in the kernel (bounded)."""
        deadline = time.monotonic() + timeout
        while self.run(f"print(bool({expression}))").strip() != "True":
            assert time.monotonic() < deadline, f"never true: {expression}"
            time.sleep(0.05)  # the kernel's loop runs between these cells


def _start_kernel() -> Iterator[Kernel]:
    manager_module = pytest.importorskip("jupyter_client.manager")
    pytest.importorskip("ipykernel")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    manager, client = manager_module.start_new_kernel(
        kernel_name="python3", startup_timeout=CELL_TIMEOUT, env=env
    )
    try:
        yield Kernel(manager, client)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
        assert not manager.is_alive()


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    yield from _start_kernel()


@pytest.fixture
def gui_kernel() -> Iterator[Kernel]:
    yield from _start_kernel()


DEFINE = """
import asyncio, threading
from threadworker import thread_worker

@thread_worker
def count(n):
    yield from range(n)
    return "counted"
"""


def test_workers_started_in_a_cell_deliver_on_the_kernels_loop_between_cells(
    kernel: Kernel,
) -> None:
    kernel.run(DEFINE)
    kernel.run(
        """
seen = []
worker = count(5)
worker.yielded.connect(lambda v: seen.append((v, threading.current_thread().name)))
worker.finished.connect(lambda: seen.append(("finished", threading.current_thread().name)))
worker.start()
"""
    )  # the cell ends: the values arrive while no cell runs
    kernel.wait_for("seen and seen[-1][0] == 'finished'")
    out = kernel.run("print(seen)")
    names = [(v, "MainThread") for v in range(5)] + [("finished", "MainThread")]
    assert out.strip() == repr(names)


def test_top_level_await_and_async_for_in_cells(kernel: Kernel) -> None:
    kernel.run(DEFINE)
    assert kernel.run("print(await count(3))").strip() == "counted"
    out = kernel.run("async for value in count(3):\n    print(value)")
    assert out.split() == ["0", "1", "2"]


def test_workers_deliver_after_the_user_interrupts_the_kernel(kernel: Kernel) -> None:
    kernel.run(DEFINE)
    kernel.run(
        """
import time
@thread_worker
def ticking():
    while True:
        yield
        time.sleep(0.001)
ticks = []
ticker = ticking()
ticker.yielded.connect(lambda _: ticks.append(1))
ticker.start()
"""
    )
    kernel.wait_for("len(ticks) > 10")
    msg_id = kernel.client.execute("print('busy', flush=True)\nwhile True: time.sleep(0.01)")
    _wait_for_output(kernel, msg_id, "busy")
    kernel.manager.interrupt_kernel()
    reply = kernel.client.get_shell_msg(timeout=CELL_TIMEOUT)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.client.get_shell_msg(timeout=CELL_TIMEOUT)
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    # The worker started before goes on delivering; new ones deliver too.
    kernel.run("before = len(ticks)")
    kernel.wait_for("len(ticks) > before + 10")
    assert kernel.run("print(await count(2))").strip() == "counted"
    kernel.run("await ticker.quit()")
    assert kernel.run("print(ticker.is_running)").strip() == "False"


def _wait_for_output(kernel: Kernel, msg_id: str | None, text: str) -> None:
    """Read the kernel's output until *text* (of cell *msg_id*, or any: None)."""
    deadline = time.monotonic() + CELL_TIMEOUT
    while time.monotonic() < deadline:
        msg = kernel.client.get_iopub_msg(timeout=CELL_TIMEOUT)
        if msg_id is not None and msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and text in msg["content"]["text"]:
            return
    raise AssertionError(f"the cell never printed {text!r}")


#: ``%gui qt``, and the workaround docs/where.md gives for ipykernel leaving a cell
#: unanswered under Qt's loop now and then (one in some dozens, with a busy timer
#: as below; seen in CI): Qt's loop leaves every 200 ms, the kernel reads its socket.
GUI_QT = """
%gui qt
from qtpy.QtCore import QTimer
qt_loop_poll = QTimer()
qt_loop_poll.timeout.connect(get_ipython().kernel.app.qt_event_loop.quit)
qt_loop_poll.start(200)
"""


def test_with_gui_qt_the_gui_stays_live_and_workers_update_it(gui_kernel: Kernel) -> None:
    gui_kernel.run(GUI_QT)
    gui_kernel.run(
        DEFINE
        + """
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QLabel
ticks = 0
def tick():
    global ticks
    ticks += 1
timer = QTimer()
timer.timeout.connect(tick)
timer.start(5)
label = QLabel("-")
label.show()
shown = []
worker = count(4)
def show(v):
    label.setText(str(v))
    shown.append(threading.current_thread().name)
worker.yielded.connect(show)
worker.start()
"""
    )
    gui_kernel.run("before = ticks")
    gui_kernel.wait_for("ticks > before + 3")  # Qt's timers run between cells
    gui_kernel.wait_for("len(shown) == 4")
    assert gui_kernel.run("print(label.text(), set(shown))").strip() == "3 {'MainThread'}"


def test_with_gui_qt_workers_deliver_while_qt_runs_between_cells(gui_kernel: Kernel) -> None:
    """ipykernel runs Qt's loop between cells and the asyncio loop waits under it."""
    gui_kernel.run(GUI_QT)
    gui_kernel.client.execute(
        """
qt_loop_poll.stop()  # this cell runs, and no other comes: Qt's loop must deliver
import threading
from qtpy.QtCore import QTimer
from threadworker import thread_worker

go = threading.Event()

@thread_worker
def wait_for_qt():
    go.wait(60)
    return "after Qt's timer"

worker = wait_for_qt()
worker.returned.connect(lambda result: print("delivered live:", result, flush=True))
worker.start()
QTimer.singleShot(50, go.set)  # fires in Qt's loop, once the cell has ended
"""
    )
    # No other message reaches the kernel meanwhile: nothing else wakes it.
    # (ipykernel sends what is printed after the cell under another parent.)
    _wait_for_output(gui_kernel, None, "delivered live: after Qt's timer")


def test_the_docs_jupyter_example_runs_cell_by_cell(kernel: Kernel) -> None:
    cells = _docs_notebook_cells()
    assert len(cells) >= 3
    outputs = [kernel.run(cell) for cell in cells]
    assert outputs[1].strip() == "delivered 4 values on {'MainThread'}"
    assert outputs[2].strip() == "result: 499500"
    assert outputs[3].split("\n")[:4] == [f"so far: {t}" for t in (0, 31375, 125250, 281625)]


def _docs_notebook_cells() -> list[str]:
    """The cells of the docs' Jupyter example, split at its ``# %%`` markers."""
    text = WHERE.read_text()
    match = re.search(r"<!-- notebook -->\s*```python\n(.*?)```", text, flags=re.DOTALL)
    assert match, "docs/where.md has no notebook example"
    cells = re.split(r"^# %%.*\n", match.group(1), flags=re.MULTILINE)
    return [cell for cell in cells if cell.strip()]
