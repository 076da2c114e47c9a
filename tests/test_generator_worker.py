"""GeneratorWorker: streaming, flow control, two-way communication."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Generator
from typing import Any

import pytest

from threadworker import (
    GeneratorWorker,
    WorkerAborted,
    WorkerFinishedError,
    create_worker,
    thread_worker,
)
from threadworker._signal import ITERATOR_HIGH_WATER

WAIT = 10


def count(n: int) -> Generator[int, None, str]:
    yield from range(n)
    return f"counted {n}"


def forever() -> Generator[int, None, None]:
    while True:
        yield 1


def is_paused(worker: GeneratorWorker[Any, Any, Any]) -> bool:
    return worker.is_paused  # a call, so the type checker does not narrow it


def record(worker: GeneratorWorker[Any, Any, Any]) -> list[Any]:
    events: list[Any] = []
    for name in ("started", "paused", "resumed", "aborted", "finished"):
        getattr(worker, name).connect(lambda n=name: events.append(n))
    worker.yielded.connect(lambda v: events.append(("yielded", v)))
    worker.returned.connect(lambda v: events.append(("returned", v)))
    worker.errored.connect(lambda e: events.append(("errored", type(e).__name__)))
    return events


async def test_async_for_sees_every_value_in_order_then_returned() -> None:
    worker = GeneratorWorker(count, 2000)
    values = [v async for v in worker]  # iterating starts the worker
    assert values == list(range(2000))
    assert await asyncio.wait_for(worker.returned, WAIT) == "counted 2000"


async def test_callbacks_and_iterators_each_see_every_value() -> None:
    worker = GeneratorWorker(count, 500)
    events = record(worker)
    first = worker.yielded.__aiter__()
    second_values: list[int] = []

    async def second() -> None:
        async for v in worker.yielded:
            second_values.append(v)

    task = asyncio.ensure_future(second())
    await asyncio.sleep(0)  # let the second subscriber subscribe
    worker.start()
    first_values = [v async for v in first]
    await asyncio.wait_for(task, WAIT)
    expected = list(range(500))
    assert first_values == expected
    assert second_values == expected
    assert events == [
        "started",
        *[("yielded", i) for i in expected],
        ("returned", "counted 500"),
        "finished",
    ]


async def test_every_step_runs_on_the_same_dedicated_thread() -> None:
    def idents() -> Generator[int, None, None]:
        for _ in range(50):
            yield threading.get_ident()

    worker = GeneratorWorker(idents)
    seen = {v async for v in worker}
    assert len(seen) == 1
    assert threading.get_ident() not in seen


async def test_iteration_raises_the_generator_exception() -> None:
    def failing() -> Generator[int, None, None]:
        yield 1
        raise ValueError("mid-stream")

    worker = GeneratorWorker(failing)
    got: list[int] = []
    with pytest.raises(ValueError, match="mid-stream"):  # noqa: PT012 - raised by the loop
        async for v in worker:
            got.append(v)
    assert got == [1]


async def test_stop_iteration_inside_a_generator_still_ends_in_order() -> None:
    def buggy() -> Generator[int, None, None]:
        yield 1
        raise StopIteration  # Python turns this into RuntimeError

    worker = GeneratorWorker(buggy)
    events = record(worker)
    worker.start()
    with pytest.raises(RuntimeError, match="generator raised StopIteration"):
        await asyncio.wait_for(worker.returned, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert events == ["started", ("yielded", 1), ("errored", "RuntimeError"), "finished"]


async def test_quit_aborts_at_the_next_yield_and_runs_finally() -> None:
    cleaned = threading.Event()

    def forever() -> Generator[int, None, None]:
        i = 0
        try:
            while True:
                yield i
                i += 1
        finally:
            cleaned.set()

    worker = GeneratorWorker(forever)
    events = record(worker)
    values: list[int] = []
    async for v in worker:
        values.append(v)
        if v == 10:
            await asyncio.wait_for(worker.quit(), WAIT)
    # Iteration ends quietly after an abort.
    assert cleaned.is_set()
    assert values[:11] == list(range(11))
    assert events[-2:] == ["aborted", "finished"]
    assert "returned" not in [e[0] for e in events if isinstance(e, tuple)]
    with pytest.raises(WorkerAborted):
        await worker


async def test_send_values_are_queued_and_delivered_in_order() -> None:
    received: list[Any] = []
    release = threading.Event()

    def echo() -> Generator[int, Any, None]:
        release.wait(WAIT)  # hold the first step until every send is queued
        while True:
            value = yield len(received)
            received.append(value)
            if value == "stop":
                return

    worker = GeneratorWorker(echo)
    worker.start()
    confirmations = [worker.send(v) for v in ("a", None, "b", "stop")]
    release.set()
    for confirmation in confirmations:
        await asyncio.wait_for(confirmation, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert received == ["a", None, "b", "stop"]


async def test_a_step_with_nothing_sent_gets_none() -> None:
    def take() -> Generator[int, Any, list[Any]]:
        got = []
        for _ in range(3):
            got.append((yield 0))
        return got

    assert await asyncio.wait_for(GeneratorWorker(take), WAIT) == [None, None, None]


async def test_send_to_a_finished_worker_says_so() -> None:
    worker: GeneratorWorker[int, Any, str] = GeneratorWorker(count, 1)
    await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    with pytest.raises(WorkerFinishedError, match="finished before it received"):
        await worker.send(1)


async def test_send_before_start_raises() -> None:
    worker: GeneratorWorker[int, Any, str] = GeneratorWorker(count, 1)
    with pytest.raises(RuntimeError, match="call start"):
        worker.send(1)
    await asyncio.wait_for(worker.quit(), WAIT)


async def test_pending_sends_fail_when_the_worker_ends_first() -> None:
    gate = threading.Event()

    def slow() -> Generator[int, Any, None]:
        yield 0
        gate.wait(WAIT)

    worker = GeneratorWorker(slow)
    values = worker.yielded.__aiter__()  # subscribe before the first value
    worker.start()
    assert await asyncio.wait_for(anext(values), WAIT) == 0
    pending = worker.send("never received")
    gate.set()
    with pytest.raises(WorkerFinishedError):
        await asyncio.wait_for(pending, WAIT)


async def test_pause_and_resume_are_confirmed_and_nothing_is_yielded_between() -> None:
    def ticks() -> Generator[int, None, None]:
        i = 0
        while True:
            yield i
            i += 1

    worker = GeneratorWorker(ticks)
    events = record(worker)
    worker.start()
    await asyncio.wait_for(worker.yielded, WAIT)
    await asyncio.wait_for(worker.pause(), WAIT)
    assert is_paused(worker)
    paused_at = len(events)
    # The generator is blocked: a round trip through another thread and the
    # loop delivers nothing new.
    for _ in range(20):
        await asyncio.to_thread(lambda: None)
    assert len(events) == paused_at
    await asyncio.wait_for(worker.resume(), WAIT)
    assert not is_paused(worker)
    await asyncio.wait_for(worker.yielded, WAIT)
    await asyncio.wait_for(worker.quit(), WAIT)
    names = [e if isinstance(e, str) else e[0] for e in events]
    paused_index = names.index("paused")
    assert names[paused_index + 1] == "resumed"


async def test_toggle_pause_and_quick_pause_resume_pairs_never_hang() -> None:
    worker = GeneratorWorker(forever)
    events = record(worker)
    worker.start()
    confirmations = [worker.toggle_pause() for _ in range(6)]  # p r p r p r
    for confirmation in confirmations:
        await asyncio.wait_for(confirmation, WAIT)
    assert not worker.is_paused
    await asyncio.wait_for(worker.quit(), WAIT)
    flow = [e for e in events if e in ("paused", "resumed")]
    assert flow == ["paused", "resumed"] * 3


async def test_pause_when_paused_and_resume_when_running_complete_at_once() -> None:
    worker = GeneratorWorker(forever)
    worker.start()
    await asyncio.wait_for(worker.resume(), WAIT)  # not paused: nothing to do
    await asyncio.wait_for(worker.pause(), WAIT)
    await asyncio.wait_for(worker.pause(), WAIT)  # already paused
    await asyncio.wait_for(worker.quit(), WAIT)


async def test_quit_while_paused_aborts() -> None:
    worker = GeneratorWorker(forever)
    events = record(worker)
    worker.start()
    await asyncio.wait_for(worker.pause(), WAIT)
    pending_resume_never_requested = worker.pause()
    await asyncio.wait_for(worker.quit(), WAIT)
    await asyncio.wait_for(pending_resume_never_requested, WAIT)
    assert events[-2:] == ["aborted", "finished"]


async def test_slow_async_consumer_holds_the_generator_back() -> None:
    produced = 0

    def fast() -> Generator[int, None, None]:
        nonlocal produced
        for i in range(20_000):
            produced += 1
            yield i

    worker = GeneratorWorker(fast)
    max_ahead = 0
    consumed = 0
    async for _ in worker:
        consumed += 1
        if consumed % 100 == 0:
            await asyncio.sleep(0)
            max_ahead = max(max_ahead, produced - consumed)
    assert consumed == 20_000
    # Bounded by the channel (2 x 1024) plus one iterator buffer, not 20k.
    assert max_ahead <= 2 * 1024 + ITERATOR_HIGH_WATER + 2


async def test_abandoned_iterator_does_not_block_delivery() -> None:
    worker = GeneratorWorker(count, 5_000)
    async for v in worker:
        if v == 3:
            break
    # The iterator is gone; the worker still runs to the end.
    assert await asyncio.wait_for(worker.returned, WAIT) == "counted 5000"


async def test_async_with_quits_an_infinite_generator() -> None:
    async with thread_worker(forever)() as worker:
        await asyncio.wait_for(worker.yielded, WAIT)
    await worker.aborted
    assert not worker.is_running


async def test_cancelled_async_with_still_waits_for_the_worker() -> None:
    worker = thread_worker(forever)()

    async def body() -> None:
        async with worker:
            await asyncio.Event().wait()

    task = asyncio.ensure_future(body())
    await asyncio.wait_for(worker.yielded, WAIT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(worker.finished, WAIT)
    await worker.aborted


async def test_awaiting_yielded_after_finish_raises() -> None:
    worker = GeneratorWorker(count, 1)
    await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    with pytest.raises(WorkerFinishedError):
        await worker.yielded
    with pytest.raises(WorkerFinishedError):
        await worker.pause()
    assert [v async for v in worker.yielded] == []


def test_work_drives_the_generator_in_the_calling_thread() -> None:
    events: list[Any] = []
    worker = GeneratorWorker(count, 3)
    worker.yielded.connect(lambda v: events.append((v, threading.get_ident())))
    assert worker.work() == "counted 3"
    assert events == [(i, threading.get_ident()) for i in range(3)]


def test_generator_worker_rejects_plain_functions() -> None:
    with pytest.raises(TypeError, match="not a generator function: use FunctionWorker"):
        GeneratorWorker(lambda: 1)  # type: ignore[arg-type, return-value]


async def test_generator_started_connected_after_start_comes_first() -> None:
    worker = GeneratorWorker(count, 3)
    worker.start()
    events = record(worker)
    await asyncio.wait_for(worker.finished, WAIT)
    assert events[0] == "started"
    assert events[-1] == "finished"
    assert [e for e in events if isinstance(e, tuple) and e[0] == "yielded"] == [
        ("yielded", i) for i in range(3)
    ]


async def test_is_paused_only_once_actually_paused() -> None:
    worker = GeneratorWorker(forever)
    seen_in_paused: list[bool] = []
    worker.paused.connect(lambda: seen_in_paused.append(is_paused(worker)))
    worker.start()
    await asyncio.wait_for(worker.yielded, WAIT)
    confirmation = worker.pause()
    assert not is_paused(worker)  # asked, not yet paused (superqt's meaning)
    await asyncio.wait_for(confirmation, WAIT)
    assert seen_in_paused == [True]
    assert is_paused(worker)
    await asyncio.wait_for(worker.toggle_pause(), WAIT)  # resumes
    assert not is_paused(worker)
    await asyncio.wait_for(worker.quit(), WAIT)


def test_is_paused_in_work_on_this_thread() -> None:
    # superqt's test_thread_generator_worker_in_main_thread, in short.
    def numbers() -> Generator[int, None, str]:
        yield from range(5)
        return "end"

    worker = GeneratorWorker(numbers)
    states: list[tuple[str, bool]] = []

    def on_yield(value: int) -> None:
        if value == 1:
            worker.pause()
            states.append(("asked", is_paused(worker)))

    def on_paused() -> None:
        states.append(("paused", is_paused(worker)))
        worker.toggle_pause()

    worker.yielded.connect(on_yield)
    worker.paused.connect(on_paused)
    assert worker.work() == "end"
    assert states == [("asked", False), ("paused", True)]
    assert not is_paused(worker)


async def test_awaiting_yielded_of_a_dropped_unstarted_worker_raises() -> None:
    with pytest.raises(WorkerFinishedError, match="never started"):
        await asyncio.wait_for(GeneratorWorker(count, 3).yielded, WAIT)
    # ... and an iterator of one ends.
    values = [v async for v in GeneratorWorker(count, 3).yielded]
    assert values == []


def test_values_left_at_shutdown_are_dropped_but_the_ending_is_delivered(qtbot: Any) -> None:
    # napari's quit closes its viewers, then the application: values the
    # generator yielded meanwhile must not reach callbacks of a closed viewer.
    three = threading.Event()

    def frames() -> Generator[int, None, None]:
        i = 0
        while True:
            yield i
            i += 1
            if i == 3:
                three.set()
            threading.Event().wait(0.001)

    worker: GeneratorWorker[int, None, None] = GeneratorWorker(frames)
    shown: list[int] = []
    worker.yielded.connect(shown.append)
    ending = record(worker)
    worker.start()  # no event loop runs: nothing is delivered yet
    assert three.wait(WAIT)
    scope = worker._scope
    assert scope is not None
    scope.close_blocking(deliver=True)  # what the application's aboutToQuit does
    scope.dispatcher.close()
    assert shown == []
    assert ending == ["started", "aborted", "finished"]


def no_thread_for_me() -> Generator[int, None, None]:
    yield 1


async def test_a_generator_that_gets_no_thread_ends_errored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start = threading.Thread.start

    def refuse(thread: threading.Thread) -> None:
        if thread.name == "threadworker-no_thread_for_me":
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", refuse)
    worker = GeneratorWorker(no_thread_for_me)
    events: list[str] = []
    for name in ("started", "yielded", "errored", "finished"):
        getattr(worker, name).connect(lambda *_, n=name: events.append(n))
    worker.start()
    with pytest.raises(RuntimeError, match="could not start") as info:
        await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert "can't start new thread" in str(info.value.__cause__)
    assert events == ["errored", "finished"]
    assert not worker.is_running


async def test_quit_cancels_a_generator_queued_in_a_thread_executor() -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        gate = threading.Event()
        executor.submit(gate.wait, WAIT)  # the only thread is busy
        ran: list[str] = []

        def gen() -> Generator[int, None, None]:
            ran.append("ran")
            yield 1

        worker = create_worker(gen, _executor=executor)
        events: list[str] = []
        for name in ("started", "aborted", "finished"):
            getattr(worker, name).connect(lambda *_, n=name: events.append(n))
        worker.start()
        worker.quit()
        assert worker._thread_done.is_set()  # it will never run
        await asyncio.wait_for(worker.finished, WAIT)
        gate.set()
    assert ran == []
    assert events == ["started", "aborted", "finished"]


def _in_another_loop(coro_fn: Any) -> tuple[threading.Thread, list[Any]]:
    """Run ``coro_fn()`` on a debug-mode loop in a thread of its own."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(asyncio.run(coro_fn(), debug=True))
        except BaseException as exc:  # handed to the test
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


async def test_async_for_and_await_from_a_loop_in_another_thread_are_woken() -> None:
    # The home pushes values into an iterator whose reader sits on another
    # loop: that loop must be woken through its own call_soon_threadsafe
    # (debug mode raises "Non-thread-safe operation" otherwise; without
    # debug the values wait until something else wakes that loop).
    took = threading.Event()  # the reader took the last value: it waits for the next

    def in_step() -> Generator[int, None, str]:
        for i in range(50):
            took.wait(WAIT)
            took.clear()
            yield i
        return "done"

    worker = GeneratorWorker(in_step)
    worker.start()

    async def consume() -> tuple[list[int], str]:
        async def read() -> tuple[list[int], str]:
            values = []
            iterator = worker.__aiter__()
            took.set()
            async for value in iterator:
                values.append(value)
                took.set()
            return values, await worker

        return await asyncio.wait_for(read(), WAIT)

    thread, out = _in_another_loop(consume)
    await asyncio.wait_for(worker.finished, WAIT)
    await asyncio.to_thread(thread.join, WAIT)
    assert out == [(list(range(50)), "done")]


async def test_an_unread_iterator_never_holds_back_the_outcome() -> None:
    # The rule: an idle ``async for`` holds the generator back, not the
    # outcome: awaiting the worker lifts its hold; its values wait in it.
    worker = GeneratorWorker(count, 5 * (1024 + ITERATOR_HIGH_WATER))
    iterator = worker.__aiter__()  # referenced, read once, then left alone
    assert await asyncio.wait_for(iterator.__anext__(), WAIT) == 0
    assert await asyncio.wait_for(worker, WAIT) == f"counted {5 * (1024 + ITERATOR_HIGH_WATER)}"
    rest = [v async for v in iterator]  # every value is still there, in order
    assert rest == list(range(1, 5 * (1024 + ITERATOR_HIGH_WATER)))


async def test_an_unread_iterator_lets_the_outcome_through_once_the_generator_ended() -> None:
    # Nobody awaits the outcome; the generator ends while an idle iterator is
    # over its high-water mark: ``returned`` and ``finished`` still come.
    n = ITERATOR_HIGH_WATER + 500  # fits the channel: the generator can end
    stalled = threading.Event()

    def count_then_wait_for_the_stall() -> Generator[int, None, str]:
        yield from range(n)
        stalled.wait(WAIT)  # end only once delivery has stopped for the iterator
        return "ended"

    worker = GeneratorWorker(count_then_wait_for_the_stall)
    finished = asyncio.Event()  # not the worker's own awaitable: no lift from awaiting
    worker.finished.connect(finished.set)
    iterator = worker.__aiter__()
    channel = worker._channel
    assert channel is not None
    real_stall = channel._stall

    def stall_and_tell() -> bool:
        stopped = real_stall()
        if stopped:
            stalled.set()
        return stopped

    channel._stall = stall_and_tell  # type: ignore[method-assign]
    assert await asyncio.wait_for(iterator.__anext__(), WAIT) == 0
    await asyncio.wait_for(finished.wait(), WAIT)
    assert stalled.is_set()
    assert [v async for v in iterator] == list(range(1, n))


async def test_large_values_are_bounded_by_bytes_in_flight() -> None:
    from threadworker import configure

    configure(max_bytes_in_flight=4 * 2**20)
    chunk = 2**20
    gate = threading.Event()

    def big() -> Generator[bytes, None, None]:
        for _ in range(64):
            yield bytes(chunk)

    worker = GeneratorWorker(big)
    worker.yielded.connect(lambda v: gate.wait(WAIT))  # the home stalls on the first
    in_flight: list[int] = []
    worker.start()
    channel = worker._channel
    assert channel is not None

    def watch() -> None:
        # The generator fills the budget and blocks; measure it there.
        for _ in range(10_000):
            if channel._producer_waiting:
                break
            threading.Event().wait(0.001)
        in_flight.append(channel.bytes_in_flight())
        gate.set()

    await asyncio.to_thread(watch)
    await asyncio.wait_for(worker.finished, WAIT)
    assert 0 < in_flight[0] <= 4 * 2**20 + chunk + 64 * 8


async def test_sent_values_are_bounded_by_bytes_too() -> None:
    from threadworker import configure

    configure(max_bytes_in_flight=4 * 2**20)
    chunk = bytes(2**20)
    gate = threading.Event()
    received: list[int] = []

    def receiver() -> Generator[None, Any, None]:
        gate.wait(WAIT)  # takes nothing until the test lets it
        while len(received) < 6:
            value = yield
            if value is not None:
                received.append(value if isinstance(value, int) else len(value))

    worker: GeneratorWorker[None, Any, None] = GeneratorWorker(receiver)
    worker.start()
    sends = [worker.send(chunk) for _ in range(4)]  # the budget: 4 MiB unreceived
    with pytest.raises(BufferError, match="max_bytes_in_flight"):
        worker.send(chunk)
    small = worker.send(10)  # values without a buffer are not counted
    gate.set()
    for send in sends:
        await asyncio.wait_for(send, WAIT)
    await asyncio.wait_for(small, WAIT)
    await asyncio.wait_for(worker.send(chunk), WAIT)  # room again
    await asyncio.wait_for(worker.finished, WAIT)
    assert received == [2**20] * 4 + [10, 2**20]


async def test_an_idle_iterator_stays_bounded_when_the_home_drains_a_few_at_a_time() -> None:
    # A generator slower than the home: each drain finds a few values. The
    # backpressure check must still come every few values, across drains.
    def trickle() -> Generator[int, None, str]:
        for i in range(4000):
            if i % 3 == 0:
                threading.Event().wait(0.0002)  # the home catches up: drains of ~3
            yield i
        return "done"

    worker = GeneratorWorker(trickle)
    iterator = worker.__aiter__()  # read once, then left alone (still referenced)
    assert await asyncio.wait_for(iterator.__anext__(), WAIT) == 0
    channel = worker._channel
    assert channel is not None
    for _ in range(WAIT * 100):  # until the generator is held back (bounded)
        if channel._producer_waiting or worker._thread_done.is_set():
            break
        await asyncio.sleep(0.01)
    assert len(iterator._buffer) <= ITERATOR_HIGH_WATER + 64  # type: ignore[attr-defined]
    assert not worker._thread_done.is_set()  # held back, not run to its end
    assert await asyncio.wait_for(worker, WAIT) == "done"  # awaiting lifts the hold
