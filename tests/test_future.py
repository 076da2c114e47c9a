"""worker.future: a concurrent.futures.Future of the outcome; cancelling it quits."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import threading
import weakref
from collections.abc import Generator

import pytest

import process_jobs as jobs
from threadworker import WorkerTimeout, create_worker

WAIT = 20


def forever() -> Generator[int, None, None]:
    while True:
        yield 0
        threading.Event().wait(0.001)


async def test_the_future_resolves_with_the_return_value() -> None:
    worker = create_worker(lambda: 42)
    future = worker.future
    assert not future.done()  # reading it does not start the worker
    assert not worker.is_running
    worker.start()
    assert await asyncio.wait_for(asyncio.wrap_future(future), WAIT) == 42
    assert worker.future is future  # one future per worker


async def test_the_future_carries_the_workers_exception() -> None:
    def fail() -> None:
        raise KeyError("boom")

    worker = create_worker(fail)  # the future's holder handles it: nothing reported
    future = worker.future
    worker.start()
    with pytest.raises(KeyError, match="boom"):
        await asyncio.wait_for(asyncio.wrap_future(future), WAIT)


async def test_an_aborted_worker_cancels_its_future() -> None:
    worker = create_worker(forever, _start_thread=True)
    await asyncio.wait_for(worker.yielded, WAIT)
    await asyncio.wait_for(worker.quit(), WAIT)
    assert worker.future.cancelled()
    with pytest.raises(concurrent.futures.CancelledError):
        worker.future.result(0)


async def test_cancelling_the_future_quits_the_worker() -> None:
    worker = create_worker(forever, _start_thread=True)
    await asyncio.wait_for(worker.yielded, WAIT)
    assert worker.future.cancel()
    await asyncio.wait_for(worker.finished, WAIT)
    assert "aborted" in worker._fired


async def test_cancelling_the_asyncio_wrapper_quits_the_worker() -> None:
    worker = create_worker(forever, _start_thread=True)
    await asyncio.wait_for(worker.yielded, WAIT)
    wrapped = asyncio.wrap_future(worker.future)
    wrapped.cancel()
    await asyncio.wait_for(worker.finished, WAIT)
    assert "aborted" in worker._fired


async def test_a_future_read_after_the_end_is_already_settled() -> None:
    worker = create_worker(lambda: "done")
    assert await asyncio.wait_for(worker, WAIT) == "done"
    assert worker.future.result(0) == "done"


async def test_sync_code_in_another_thread_blocks_on_the_future() -> None:
    worker = create_worker(lambda: 5, _start_thread=True)
    future = worker.future
    result = await asyncio.to_thread(future.result, WAIT)  # the loop keeps delivering
    assert result == 5


async def test_a_timeout_reaches_the_future() -> None:
    worker = create_worker(forever, _timeout=0.05, _start_thread=True)
    with pytest.raises(WorkerTimeout):
        await asyncio.wait_for(asyncio.wrap_future(worker.future), WAIT)


async def test_process_workers_have_the_same_future() -> None:
    worker = create_worker(jobs.add, 4, 5, _executor="process", _start_thread=True)
    assert await asyncio.wait_for(asyncio.wrap_future(worker.future), WAIT) == 9


def test_a_never_started_worker_quit_cancels_its_future() -> None:
    worker = create_worker(lambda: 1)
    future = worker.future
    worker.quit()
    assert future.cancelled()


async def test_a_held_future_does_not_keep_the_worker_alive() -> None:
    worker = create_worker(lambda: 1)
    future = worker.future
    assert await asyncio.wait_for(worker, WAIT) == 1
    ref = weakref.ref(worker)
    del worker
    gc.collect()
    assert ref() is None
    assert future.result(0) == 1


@pytest.mark.parametrize("kind", ["function", "generator"])
async def test_a_result_not_home_yet_is_discarded_when_the_future_is_cancelled(
    kind: str,
) -> None:
    # The work has its result, but the home (this thread, blocked here) has not
    # delivered it: cancelling the future discards it, so worker and future agree.
    done = threading.Event()

    def compute() -> str:
        done.set()
        return "value"

    def generate() -> Generator[int, None, str]:
        yield 1
        done.set()
        return "value"

    worker = create_worker(compute if kind == "function" else generate)
    future = worker.future
    outcomes: list[str] = []
    for name in ("returned", "aborted"):
        getattr(worker, name).connect(lambda *_, n=name: outcomes.append(n))
    worker.start()
    assert done.wait(WAIT)
    assert future.cancel()
    await asyncio.wait_for(worker.finished, WAIT)
    assert outcomes == ["aborted"]
    assert future.cancelled()


async def test_waiting_on_the_future_in_the_home_thread_is_an_error() -> None:
    worker = create_worker(forever)
    worker.start()
    with pytest.raises(RuntimeError, match="home thread would wait for ever"):
        worker.future.result()
    with pytest.raises(RuntimeError, match="home thread would wait for ever"):
        worker.future.exception()
    with pytest.raises(concurrent.futures.TimeoutError):
        worker.future.result(timeout=0)  # a bounded wait is the caller's choice
    await asyncio.wait_for(worker.quit(), WAIT)
    assert worker.future.cancelled()


def test_the_future_of_a_dropped_never_started_worker_fails() -> None:
    from threadworker import WorkerFinishedError

    future = create_worker(lambda: 1).future
    gc.collect()
    with pytest.raises(WorkerFinishedError, match="never started"):
        future.result(timeout=WAIT)
