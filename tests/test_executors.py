"""executor=: any concurrent.futures.Executor, and the option's bad inputs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import traceback
from collections.abc import Generator, Iterator
from typing import Any

import pytest

import process_jobs as jobs
from threadworker import (
    FunctionWorker,
    WorkerAborted,
    configure,
    create_worker,
    current_worker,
    thread_worker,
)

WAIT = 20


@pytest.fixture
def thread_executor() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="user-pool") as executor:
        yield executor


@pytest.fixture
def process_executor() -> Iterator[concurrent.futures.ProcessPoolExecutor]:
    with concurrent.futures.ProcessPoolExecutor(1) as executor:
        yield executor


def where_am_i() -> tuple[str, bool]:
    return threading.current_thread().name, current_worker() is not None


def thread_names(n: int) -> Generator[str, None, None]:
    for _ in range(n):
        yield threading.current_thread().name


async def test_a_thread_executor_runs_functions_in_its_threads(
    thread_executor: concurrent.futures.ThreadPoolExecutor,
) -> None:
    name, in_worker = await asyncio.wait_for(
        create_worker(where_am_i, _executor=thread_executor), WAIT
    )
    assert name.startswith("user-pool")
    assert in_worker  # the worker's context travels with it: progress() works there


async def test_a_thread_executor_runs_generators_with_flow_control(
    thread_executor: concurrent.futures.ThreadPoolExecutor,
) -> None:
    worker = create_worker(thread_names, 3, _executor=thread_executor)
    names = [name async for name in worker]
    assert len(names) == 3
    assert all(name.startswith("user-pool") for name in names)


async def test_a_generator_queued_in_a_busy_executor_is_cancelled_by_quit(
    thread_executor: concurrent.futures.ThreadPoolExecutor,
) -> None:
    release = threading.Event()
    blocker = thread_executor.submit(release.wait, WAIT)
    worker = create_worker(thread_names, 3, _executor=thread_executor, _start_thread=True)
    await asyncio.wait_for(worker.quit(), WAIT)
    assert "aborted" in worker._fired
    release.set()
    blocker.result(WAIT)


async def test_a_process_pool_executor_runs_functions(
    process_executor: concurrent.futures.ProcessPoolExecutor,
) -> None:
    add = thread_worker(jobs.add, executor=process_executor)
    assert await asyncio.wait_for(add(1, 2, times=3), WAIT) == 9


async def test_a_process_pool_executor_error_carries_its_traceback(
    process_executor: concurrent.futures.ProcessPoolExecutor,
) -> None:
    worker = create_worker(jobs.fail_here, "from the pool", _executor=process_executor)
    errors: list[BaseException] = []
    worker.errored.connect(errors.append)
    with pytest.raises(ValueError, match="from the pool"):
        await asyncio.wait_for(worker, WAIT)
    (error,) = errors
    assert "in fail_here" in "".join(traceback.format_exception(error))


async def test_a_process_pool_executor_reports_an_unpicklable_argument(
    process_executor: concurrent.futures.ProcessPoolExecutor,
) -> None:
    worker = create_worker(jobs.echo, threading.Lock(), _executor=process_executor)
    with pytest.raises(TypeError, match="pickle"):
        await asyncio.wait_for(worker, WAIT)


async def test_quit_cancels_work_still_queued_in_an_executor(
    thread_executor: concurrent.futures.ThreadPoolExecutor,
) -> None:
    release = threading.Event()
    blocker = thread_executor.submit(release.wait, WAIT)
    worker = create_worker(jobs.add, 1, 2, _executor=thread_executor, _start_thread=True)
    await asyncio.wait_for(worker.quit(), WAIT)
    with pytest.raises(WorkerAborted):
        await worker
    release.set()
    blocker.result(WAIT)


def test_executors_that_cannot_stream_refuse_generators(
    process_executor: concurrent.futures.ProcessPoolExecutor,
) -> None:
    with pytest.raises(TypeError, match=r"count is a generator function.*executor='process'"):
        create_worker(jobs.count, 3, _executor=process_executor)
    with pytest.raises(TypeError, match="count is a generator function"):
        thread_worker(jobs.count, executor=process_executor)


def test_a_process_pool_executor_refuses_a_lambda_at_once(
    process_executor: concurrent.futures.ProcessPoolExecutor,
) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        create_worker(lambda: 1, _executor=process_executor)


@pytest.mark.parametrize(
    ("executor", "error", "message"),
    [
        ("gpu", ValueError, "executor must be 'thread', 'process' or a"),
        ("processes", ValueError, "not 'processes'"),
        (42, TypeError, "not int: 42"),
        (concurrent.futures.ThreadPoolExecutor, TypeError, "not type"),
    ],
)
def test_bad_executors_are_refused_with_the_choices(
    executor: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        create_worker(jobs.add, 1, 2, _executor=executor)
    with pytest.raises(error, match=message):
        thread_worker(jobs.add, executor=executor)


async def test_thread_is_the_default_executor() -> None:
    name, _ = await asyncio.wait_for(create_worker(where_am_i, _executor="thread"), WAIT)
    assert name == "threadworker-where_am_i"


async def test_the_executor_cannot_change_after_start() -> None:
    worker = FunctionWorker(jobs.add, 1, 2)
    worker.start()
    with pytest.raises(RuntimeError, match="already started"):
        worker._use_executor("process")
    assert await asyncio.wait_for(worker, WAIT) == 3


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("max_processes", 0, "at least 1"), ("terminate_after", -1.0, "from 0")],
)
async def test_configure_checks_the_process_options(option: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        configure(**{option: value})


# -- an executor that refuses the work (issue 12, item 9) ----------------------------------


def _shut_down_thread_executor() -> concurrent.futures.Executor:
    executor = concurrent.futures.ThreadPoolExecutor(1)
    executor.shutdown()
    return executor


def _shut_down_threadworker_pool() -> concurrent.futures.Executor:
    from threadworker._pool import ThreadPool

    pool = ThreadPool(1)
    pool.shutdown()
    return pool


def _shut_down_process_executor() -> concurrent.futures.Executor:
    executor = concurrent.futures.ProcessPoolExecutor(1)
    executor.shutdown()
    return executor


def _broken_process_executor() -> concurrent.futures.Executor:
    executor = concurrent.futures.ProcessPoolExecutor(1)
    with pytest.raises(concurrent.futures.process.BrokenProcessPool):
        executor.submit(jobs.exit_hard, 3).result(WAIT)  # its process dies: the pool breaks
    return executor


REFUSING = {
    "shut-down ThreadPoolExecutor": _shut_down_thread_executor,
    "shut-down threadworker pool": _shut_down_threadworker_pool,
    "shut-down ProcessPoolExecutor": _shut_down_process_executor,
    "broken ProcessPoolExecutor": _broken_process_executor,
}


def _record(worker: Any) -> list[str]:
    events: list[str] = []
    for name in ("started", "returned", "errored", "aborted", "finished"):
        getattr(worker, name).connect(lambda *_, n=name: events.append(n))
    return events


@pytest.mark.parametrize("refusing", list(REFUSING))
async def test_a_function_refused_by_its_executor_ends_errored(refusing: str) -> None:
    executor = REFUSING[refusing]()
    try:
        worker = create_worker(jobs.add, 1, 2, _executor=executor)
        events = _record(worker)
        worker.start()  # no raise: the refusal is the worker's outcome
        assert worker._thread_done.is_set()  # nothing runs: the exit must not wait
        with pytest.raises(RuntimeError, match=r"could not start.*refused the work") as info:
            await asyncio.wait_for(worker, WAIT)
        await asyncio.wait_for(worker.finished, WAIT)
        assert type(executor).__name__ in str(info.value)
        assert isinstance(info.value.__cause__, RuntimeError)  # the executor's own error
        assert events == ["errored", "finished"]  # the work never started
        assert not worker.is_running
    finally:
        executor.shutdown()


async def test_a_generator_refused_by_its_executor_ends_errored() -> None:
    executor = _shut_down_thread_executor()
    worker = create_worker(thread_names, 3, _executor=executor)
    events = _record(worker)
    errors: list[BaseException] = []
    worker.errored.connect(errors.append)
    worker.start()
    await asyncio.wait_for(worker.finished, WAIT)
    assert events == ["errored", "finished"]
    assert "ThreadPoolExecutor" in str(errors[0])
    assert not worker.is_running
    with pytest.raises(RuntimeError, match="refused the work"):
        await worker


async def test_a_refused_worker_nobody_handles_is_reported(
    loop_errors: list[dict[str, Any]],
) -> None:
    worker = create_worker(jobs.add, 1, 2, _executor=_shut_down_thread_executor())
    worker.start()
    await asyncio.wait_for(worker.finished, WAIT)
    assert [type(e["exception"]) for e in loop_errors] == [RuntimeError]


def test_a_refused_worker_does_not_hold_up_the_exit() -> None:
    import subprocess
    import sys

    code = """
import asyncio, concurrent.futures
from threadworker import create_worker

async def main():
    pool = concurrent.futures.ThreadPoolExecutor(1)
    pool.shutdown()
    worker = create_worker(abs, -1, _executor=pool, _ignore_errors=True)
    worker.start()  # never awaited: the loop closes with it pending

asyncio.run(main())
print("exited", flush=True)
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "PYTHONWARNINGS": "default"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "exited" in result.stdout
    assert "abandoned" not in result.stderr  # was: a 5 s wait, then a false warning
