"""The one-shot latch and the done flag, outside any worker."""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import TypeVar

import pytest

from threadworker._latch import DoneFlag, Latch

WAIT = 10
T = TypeVar("T")


def test_the_first_outcome_wins() -> None:
    latch: Latch[int] = Latch()
    assert not latch.done()
    latch.set_result(1)
    latch.set_exception(KeyError("late"))
    latch.set_result(2)
    assert latch.done()
    assert latch.result() == 1

    failed: Latch[int] = Latch()
    error = KeyError("first")
    failed.set_exception(error)
    failed.set_result(3)
    failed.set_exception(KeyError("second"))
    with pytest.raises(KeyError) as info:
        failed.result()
    assert info.value is error


def test_result_of_a_pending_latch_raises() -> None:
    with pytest.raises(asyncio.InvalidStateError):
        Latch().result()


def test_none_is_a_result() -> None:
    latch: Latch[None] = Latch()
    latch.set_result(None)
    assert latch.done()
    assert latch.result() is None


async def test_awaiters_on_this_loop_and_another_all_wake() -> None:
    latch: Latch[str] = Latch()
    here = asyncio.ensure_future(_await(latch))
    await asyncio.sleep(0)
    assert latch.has_waiters()
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever)
    thread.start()
    try:
        there = asyncio.run_coroutine_threadsafe(_await(latch), other)
        latch.set_result("done")
        assert await asyncio.wait_for(here, WAIT) == "done"
        assert there.result(WAIT) == "done"
        assert not latch.has_waiters()
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(WAIT)
        other.close()


async def test_an_exception_reaches_every_awaiter() -> None:
    latch: Latch[int] = Latch()
    waiters = [asyncio.ensure_future(_await(latch)) for _ in range(2)]
    await asyncio.sleep(0)
    error = ValueError("boom")
    latch.set_exception(error)
    for waiter in waiters:
        with pytest.raises(ValueError, match="boom") as info:
            await asyncio.wait_for(waiter, WAIT)
        assert info.value is error


async def test_a_cancelled_awaiter_is_not_left_listed() -> None:
    latch: Latch[int] = Latch()
    waiter = asyncio.ensure_future(_await(latch))
    await asyncio.sleep(0)
    assert latch.has_waiters()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert latch._waiters == []
    assert not latch.has_waiters()


async def test_resolved_between_the_check_and_the_lock_does_not_hang() -> None:
    # Another thread resolves the latch after __await__ saw it pending but
    # before it took the lock: the awaiter must not wait on a future nobody wakes.
    latch: Latch[int] = Latch()
    latch._lock = _ResolvingLock(latch)  # type: ignore[assignment]
    assert await asyncio.wait_for(_await(latch), WAIT) == 7


def test_waking_a_closed_loop_is_skipped() -> None:
    latch: Latch[int] = Latch()
    loop = asyncio.new_event_loop()
    latch._waiters.append(loop.create_future())
    loop.close()
    latch.set_result(1)  # nobody is left to wake there: no error
    assert latch.result() == 1


def test_done_flag_is_set_once_and_waits_return_whether_it_is() -> None:
    flag = DoneFlag()
    assert not flag.is_set()
    assert flag.wait(0) is False
    flag.set()
    flag.set()  # a second set is harmless
    assert flag.is_set()
    assert flag.wait() is True
    assert flag.wait(0) is True  # waiting does not consume it
    assert flag.is_set()


def test_done_flag_wakes_a_waiting_thread() -> None:
    flag = DoneFlag()
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(flag.wait(WAIT)))
    waiter.start()
    flag.set()
    waiter.join(WAIT)
    assert woke == [True]


async def _await(latch: Latch[T]) -> T:
    return await latch


class _ResolvingLock:
    """A lock that resolves its latch (as another thread would) when first taken."""

    def __init__(self, latch: Latch[int]) -> None:
        self.latch = latch
        self.lock = threading.Lock()
        self.first = True

    def __enter__(self) -> None:
        self.lock.acquire()
        if self.first:
            self.first = False
            self.latch._result = 7

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.lock.release()
