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


def test_a_wake_up_just_before_qt_starts_nested_is_delivered_from_qts_loop(qapp: Any) -> None:
    """A call posted while Qt's loop is not running, just before it starts nested.

    ipykernel enters Qt's loop from an asyncio callback that may run before the
    asyncio loop runs the wake-up; then nothing but the next kernel message lets
    the asyncio loop run (a napari viewer in a notebook stopped being updated).
    """
    from qtpy.QtCore import QEventLoop, QThread, QTimer

    from threadworker._scope import current_scope

    loop = asyncio.new_event_loop()

    async def main() -> tuple[list[int], bool]:
        dispatcher = current_scope().dispatcher
        levels: list[int] = []
        nested = QEventLoop()
        timed_out: list[bool] = []

        def deliver() -> None:
            thread = QThread.currentThread()
            assert thread is not None
            levels.append(thread.loopLevel())
            nested.quit()

        def bound() -> None:
            timed_out.append(True)
            nested.quit()

        poster = threading.Thread(target=dispatcher.post, args=(deliver,))
        poster.start()
        poster.join()  # its wake-up of the asyncio loop waits behind this callback
        QTimer.singleShot(WAIT * 1000, bound)
        nested.exec()
        return levels, bool(timed_out)

    try:
        levels, timed_out = loop.run_until_complete(main())
    finally:
        loop.close()
    assert not timed_out
    assert levels == [1]  # delivered from inside Qt's nested loop


def test_with_qt_not_running_wake_ups_do_not_pile_up_in_qt(qapp: Any) -> None:
    """Without ``%gui qt`` Qt's loop never runs: one wake-up waits there, not one per batch."""
    from threadworker._scope import current_scope

    loop = asyncio.new_event_loop()

    async def main() -> int:
        dispatcher: Any = current_scope().dispatcher
        flushes_from_qt: list[None] = []
        flush_from_qt = dispatcher.flush_from_qt

        def counted() -> None:
            flushes_from_qt.append(None)
            flush_from_qt()

        dispatcher.flush_from_qt = counted
        for _ in range(20):  # 20 batches, each delivered by the asyncio loop
            delivered = loop.create_future()
            poster = threading.Thread(
                target=dispatcher.post, args=(lambda d=delivered: d.set_result(None),)
            )
            poster.start()
            poster.join()
            await asyncio.wait_for(delivered, WAIT)
        qapp.processEvents()  # runs the Qt wake-ups that waited
        return len(flushes_from_qt)

    try:
        assert loop.run_until_complete(main()) == 1
    finally:
        loop.close()
