"""A Qt loop run nested inside a plain asyncio loop still gets deliveries.

ipykernel's ``%gui qt`` does this between cells: a callback of the kernel's
asyncio loop runs Qt's loop until the next kernel message, and the asyncio
loop waits under it. (The real kernel: ``test_jupyter.py``.)
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from threadworker import FunctionWorker

pytestmark = pytest.mark.qt
WAIT = 10


def test_a_qt_loop_nested_in_an_asyncio_callback_delivers(qapp: Any) -> None:
    from qtpy.QtCore import QEventLoop, QThread, QTimer

    gate = threading.Event()
    loop = asyncio.new_event_loop()

    async def main() -> tuple[list[int], bool]:
        levels: list[int] = []
        nested = QEventLoop()
        timed_out: list[bool] = []
        worker = FunctionWorker(gate.wait, WAIT)

        def on_returned(_: object) -> None:
            thread = QThread.currentThread()
            assert thread is not None
            levels.append(thread.loopLevel())
            nested.quit()

        def bound() -> None:
            timed_out.append(True)
            nested.quit()

        worker.returned.connect(on_returned)
        worker.start()
        QTimer.singleShot(0, gate.set)  # the worker returns once Qt's loop runs
        QTimer.singleShot(WAIT * 1000, bound)
        nested.exec()  # holds the asyncio loop up, as ipykernel's %gui qt does
        await asyncio.wait_for(worker.finished, WAIT)
        return levels, bool(timed_out)

    try:
        levels, timed_out = loop.run_until_complete(main())
    finally:
        loop.close()
    assert not timed_out
    assert levels == [1]  # delivered from inside Qt's nested loop


async def test_a_loop_that_is_qts_own_gets_no_second_waker(qapp: Any) -> None:
    from threadworker._scope import current_scope

    dispatcher: Any = current_scope().dispatcher
    running_on = type(asyncio.get_running_loop()).__module__.partition(".")[0]
    assert (dispatcher.nested_qt is None) == (running_on == "qasync")
