"""The home dispatcher: posted calls run in order, on the home thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from threadworker._dispatch import AsyncioDispatcher

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


def test_posts_to_a_closed_qasync_loop_are_dropped(qapp: object) -> None:
    qasync = pytest.importorskip("qasync")
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance()
    assert app is not None
    loop = qasync.QEventLoop(app)
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
