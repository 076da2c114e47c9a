"""The home dispatcher: posted calls run in order, on the home thread."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from threadworker._dispatch import AsyncioDispatcher, Dispatcher, report_exception

WAIT = 10


async def test_calls_posted_from_threads_keep_their_order_and_run_at_home() -> None:
    dispatcher = AsyncioDispatcher(asyncio.get_running_loop())
    seen: list[tuple[int, int, int]] = []
    done = asyncio.Event()
    home = threading.get_ident()

    def record(thread: int, index: int) -> None:
        seen.append((thread, index, threading.get_ident()))
        if len(seen) == 4 * 500:
            done.set()

    def poster(thread: int) -> None:
        for index in range(500):
            dispatcher.post(record, thread, index)

    threads = [threading.Thread(target=poster, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    await asyncio.wait_for(done.wait(), WAIT)
    for thread in range(4):
        mine = [index for t, index, _ in seen if t == thread]
        assert mine == list(range(500))
    assert {ident for _, _, ident in seen} == {home}


async def test_a_call_that_reposts_itself_lets_the_loop_run_in_between() -> None:
    dispatcher = AsyncioDispatcher(asyncio.get_running_loop())
    rounds = 0
    other_ran = asyncio.Event()

    def busy() -> None:
        nonlocal rounds
        rounds += 1
        if not other_ran.is_set() and rounds < 10_000:
            dispatcher.post(busy)

    dispatcher.post(busy)
    asyncio.get_running_loop().call_soon(other_ran.set)
    await asyncio.wait_for(other_ran.wait(), WAIT)
    assert rounds < 10_000  # the loop's own callback got its turn


async def test_posts_after_close_are_dropped() -> None:
    dispatcher = AsyncioDispatcher(asyncio.get_running_loop())
    ran: list[int] = []
    dispatcher.close()
    dispatcher.post(ran.append, 1)
    await asyncio.sleep(0)
    assert ran == []
    assert not dispatcher.is_alive()


def test_calls_after_a_keyboard_interrupt_still_run() -> None:
    loop = asyncio.new_event_loop()
    try:
        dispatcher = AsyncioDispatcher(loop)
        ran: list[str] = []

        def interrupted() -> None:
            raise KeyboardInterrupt

        dispatcher.post(ran.append, "before")
        dispatcher.post(interrupted)
        dispatcher.post(ran.append, "queued behind it")
        # The interrupt goes on to whoever runs the loop, as Ctrl-C would.
        with pytest.raises(KeyboardInterrupt):
            loop.run_forever()
        assert ran == ["before"]
        dispatcher.post(ran.append, "posted later")
        dispatcher.post(loop.stop)
        loop.run_forever()  # returns only if the posted stop ran
        assert ran == ["before", "queued behind it", "posted later"]
    finally:
        loop.close()


class ManualDispatcher(Dispatcher):
    """A dispatcher whose home we run by hand: wake-ups are only counted."""

    def __init__(self) -> None:
        super().__init__()
        self.wakes = 0
        self.reported: list[tuple[BaseException, str]] = []

    def _wake(self) -> None:
        self.wakes += 1

    def report_exception(self, exc: BaseException, message: str, context: dict[str, Any]) -> None:
        self.reported.append((exc, message))

    def is_alive(self) -> bool:
        return True


def test_one_wake_up_per_batch() -> None:
    dispatcher = ManualDispatcher()
    ran: list[int] = []
    for i in range(3):
        dispatcher.post(ran.append, i)
    assert dispatcher.wakes == 1
    dispatcher.flush()
    assert ran == [0, 1, 2]
    dispatcher.post(ran.append, 3)  # a new batch: a new wake-up
    assert dispatcher.wakes == 2


def test_a_call_posted_during_a_flush_gets_a_wake_up_of_its_own() -> None:
    # The flush's re-check (issue #12 item 17): a call posted while the flag
    # was still set woke nobody; the flush must wake the home for it, once.
    dispatcher = ManualDispatcher()
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        dispatcher.post(ran.append, "second")  # the flag is set: no wake-up here

    dispatcher.post(first)
    dispatcher.flush()
    assert ran == ["first"]  # the new call waits for the next wake-up...
    assert dispatcher.wakes == 2  # ...which the flush asked for
    dispatcher.post(ran.append, "third")  # already scheduled: no extra wake-up
    assert dispatcher.wakes == 2
    dispatcher.flush()
    assert ran == ["first", "second", "third"]


def test_a_raising_call_is_reported_and_the_rest_still_run() -> None:
    dispatcher = ManualDispatcher()
    ran: list[int] = []
    error = KeyError("posted bug")

    def raising() -> None:
        raise error

    dispatcher.post(raising)
    dispatcher.post(ran.append, 1)
    dispatcher.flush()
    assert ran == [1]
    assert [exc for exc, _ in dispatcher.reported] == [error]
    assert "raising" in dispatcher.reported[0][1]


def test_post_yielding_runs_after_timers_already_due() -> None:
    # asyncio's own ordering (qasync orders Qt timers its own way).
    loop = asyncio.new_event_loop()
    try:
        dispatcher = AsyncioDispatcher(loop)
        order: list[str] = []
        done = loop.create_future()
        loop.call_later(0, order.append, "due timer")

        def yielding() -> None:
            order.append("yielding")
            done.set_result(None)

        dispatcher.post_yielding(yielding)
        loop.call_soon(order.append, "queued callback")
        loop.run_until_complete(asyncio.wait_for(done, WAIT))
        assert order == ["queued callback", "due timer", "yielding"]
    finally:
        loop.close()


async def test_a_live_dispatcher_says_so_until_closed() -> None:
    dispatcher = AsyncioDispatcher(asyncio.get_running_loop())
    assert dispatcher.is_alive()
    dispatcher.close()
    assert not dispatcher.is_alive()


def test_is_alive_is_false_once_the_loop_closed() -> None:
    loop = asyncio.new_event_loop()
    dispatcher = AsyncioDispatcher(loop)
    assert dispatcher.is_alive()
    loop.close()
    assert not dispatcher.is_alive()
    dispatcher.post(print, "dropped")  # waking a closed loop marks it closed
    assert dispatcher._closed


async def test_report_exception_goes_to_the_running_loop(
    loop_errors: list[dict[str, Any]],
) -> None:
    error = ValueError("from work()")
    report_exception(error, "it failed", {"worker": "w"})
    assert [(e["message"], e["exception"], e["worker"]) for e in loop_errors] == [
        ("it failed", error, "w")
    ]
    loop_errors.clear()


def test_report_exception_without_a_loop_uses_the_excepthook(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hooked: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, exc, tb: hooked.append(exc))
    error = ValueError("no loop")
    report_exception(error, "it failed", {})
    assert hooked == [error]
    assert "it failed" in capsys.readouterr().err


class _ManualDispatcher(Dispatcher):
    """A home pumped by hand: ``wakes`` counts the flushes it asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.wakes = 0

    def _wake(self) -> None:
        self.wakes += 1

    def report_exception(self, exc: BaseException, message: str, context: dict[str, Any]) -> None:
        raise AssertionError(message) from exc

    def is_alive(self) -> bool:
        return True

    def pump(self) -> None:
        while self.wakes:
            self.wakes -= 1
            self.flush()


class _PostOnLastPop(deque[Any]):
    """Pending calls; taking the last one lets another thread post."""

    def __init__(self, post_late: Callable[[], None]) -> None:
        super().__init__()
        self.post_late: Callable[[], None] | None = post_late

    def popleft(self) -> Any:
        item = super().popleft()
        if not self and self.post_late is not None:
            act, self.post_late = self.post_late, None
            act()  # after the last pop, before the flush clears its flag
        return item


def test_a_post_racing_the_end_of_a_flush_is_not_stranded() -> None:
    # The poster sees "a flush is scheduled" and wakes nobody; only the
    # flush's re-check after clearing its flag runs the late call.
    dispatcher = _ManualDispatcher()
    ran: list[str] = []

    def post_from_another_thread() -> None:
        poster = threading.Thread(target=dispatcher.post, args=(ran.append, "late"))
        poster.start()
        poster.join(WAIT)

    pending = _PostOnLastPop(post_from_another_thread)
    dispatcher._pending = pending
    dispatcher.post(ran.append, "first")
    dispatcher.pump()
    assert ran == ["first", "late"]


def test_an_interrupt_from_a_call_propagates_and_later_calls_still_run() -> None:
    dispatcher = _ManualDispatcher()
    ran: list[int] = []

    def interrupt() -> None:
        raise KeyboardInterrupt

    dispatcher.post(ran.append, 1)
    dispatcher.post(interrupt)
    dispatcher.post(ran.append, 2)
    with pytest.raises(KeyboardInterrupt):
        dispatcher.pump()
    assert ran == [1]
    dispatcher.pump()  # the flush asked for another wake-up on its way out
    assert ran == [1, 2]
    dispatcher.post(ran.append, 3)  # and posting still wakes the home
    dispatcher.pump()
    assert ran == [1, 2, 3]


def test_an_interrupt_in_a_callback_leaves_the_loop_and_delivery_survives() -> None:
    # On asyncio the exception leaves run_until_complete, as from any callback;
    # the next run of the loop delivers the rest.
    loop = asyncio.new_event_loop()
    try:
        dispatcher = AsyncioDispatcher(loop)
        ran: list[int] = []
        done: asyncio.Future[None] = loop.create_future()

        def interrupt() -> None:
            raise KeyboardInterrupt

        dispatcher.post(ran.append, 1)
        dispatcher.post(interrupt)
        dispatcher.post(ran.append, 2)
        dispatcher.post(done.set_result, None)
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(asyncio.sleep(3600))
        assert ran == [1]
        loop.run_until_complete(asyncio.wait_for(done, WAIT))
        assert ran == [1, 2]
    finally:
        loop.close()


def test_posts_to_a_closed_qasync_loop_are_dropped(qapp: object) -> None:
    pytest.importorskip("qasync")
    from qtpy.QtWidgets import QApplication

    from qt_loops import new_qasync_loop

    app = QApplication.instance()
    assert app is not None
    loop = new_qasync_loop()
    dispatcher = AsyncioDispatcher(loop)
    loop.close()
    ran: list[int] = []
    dispatcher.post(ran.append, 1)  # qasync would still start a timer for it
    app.processEvents()
    assert ran == []
    assert not dispatcher.is_alive()


def test_a_home_run_by_hand_takes_back_calls_waiting_for_a_loop_timer() -> None:
    loop = asyncio.new_event_loop()
    try:
        dispatcher = AsyncioDispatcher(loop)
        ran: list[str] = []
        dispatcher.post_yielding(lambda: ran.append("gave up its slice"))
        # The loop stops for good before its timer fires (QtAsyncio as its
        # application quits): the ending scope runs what is left, by hand.
        dispatcher.run_by_hand()
        dispatcher.flush()
        assert ran == ["gave up its slice"]
        loop.run_until_complete(asyncio.sleep(0.01))  # the stale timer finds nothing
        assert ran == ["gave up its slice"]
    finally:
        loop.close()


def test_call_later_falls_back_to_a_timer_thread_that_posts_home() -> None:
    dispatcher = ManualDispatcher()
    ran: list[str] = []
    handle = dispatcher.call_later(0.01, lambda: ran.append("due"))
    assert isinstance(handle, threading.Timer)
    handle.join(10)
    dispatcher.flush()  # posted, not run in the timer's thread
    assert ran == ["due"]
    dropped = dispatcher.call_later(10, lambda: ran.append("cancelled"))
    assert isinstance(dropped, threading.Timer)
    dropped.cancel()
    dropped.join(10)
    dispatcher.flush()
    assert ran == ["due"]


def test_call_later_on_a_loop_posts_when_the_loop_timer_fires() -> None:
    loop = asyncio.new_event_loop()
    try:
        dispatcher = AsyncioDispatcher(loop)
        ran: list[str] = []
        dispatcher.call_later(10, lambda: ran.append("cancelled")).cancel()

        def due() -> None:
            ran.append("due")
            loop.stop()

        dispatcher.call_later(0.01, due)
        loop.run_forever()
        assert ran == ["due"]
    finally:
        loop.close()
