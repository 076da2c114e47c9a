"""dask.distributed: workers on a real (local) cluster, started by the tests.

Marked ``cluster``: ``make test`` skips them to stay fast; ``make test-cluster``
(run by CI) runs them.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest

import process_jobs as jobs
from dask_cluster import local_cluster, until_released, until_running
from threadworker import WorkerAborted, create_worker, thread_worker

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.cluster

WAIT = 30


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with local_cluster(distributed) as cluster, distributed.Client(cluster) as dask_client:
        yield dask_client


def worker_address() -> str:
    return str(distributed.get_worker().address)


def sleep_in_steps(seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.01)
    return "slept"


async def test_a_function_runs_on_the_cluster(client: Any) -> None:
    address = await asyncio.wait_for(create_worker(worker_address, _executor=client), WAIT)
    assert address in client.scheduler_info()["workers"]


async def test_arguments_keywords_and_lambdas_travel(client: Any) -> None:
    add = thread_worker(jobs.add, executor=client)
    assert await asyncio.wait_for(add(2, 3, times=2), WAIT) == 10
    # dask pickles with cloudpickle: lambdas work there.
    assert await asyncio.wait_for(create_worker(lambda: 41 + 1, _executor=client), WAIT) == 42


async def test_the_error_arrives_with_its_remote_traceback(client: Any) -> None:
    worker = create_worker(jobs.fail_here, "on the cluster", _executor=client)
    errors: list[BaseException] = []
    worker.errored.connect(errors.append)
    with pytest.raises(ValueError, match="on the cluster"):
        await asyncio.wait_for(worker, WAIT)
    (error,) = errors
    assert "in fail_here" in "".join(traceback.format_exception(error))


async def test_quit_cancels_the_remote_task(client: Any) -> None:
    # dask cannot interrupt a function already running in a worker's thread:
    # cancelling releases the task, the thread finishes it (5 s) and drops the result.
    worker = create_worker(sleep_in_steps, 5, _executor=client, _start_thread=True)

    await asyncio.wait_for(until_running(client), WAIT)
    await asyncio.wait_for(worker.quit(), WAIT)
    with pytest.raises(WorkerAborted):
        await worker

    # The scheduler forgot the task.
    await asyncio.wait_for(until_released(client, "sleep_in_steps"), WAIT)


async def test_an_asynchronous_client_runs_functions_and_quit_reaches_the_cluster(
    client: Any,
) -> None:
    # dask's get_executor() cancels with a coroutine nobody awaits when the client
    # is asynchronous: a quit (or a timeout) left the task running on the cluster.
    if type(asyncio.get_running_loop()).__module__.startswith("qasync"):
        # distributed's client waits with asyncio.timeout(inf), which qasync cannot
        # schedule (OverflowError in startTimer): with Qt, use a synchronous client.
        pytest.skip("qasync cannot run an asynchronous dask client")
    async with distributed.Client(client.scheduler.address, asynchronous=True) as inside:
        assert await asyncio.wait_for(create_worker(jobs.add, 1, 2, _executor=inside), WAIT) == 3
        with pytest.raises(ZeroDivisionError):
            await asyncio.wait_for(create_worker(divide, 1, 0, _executor=inside), WAIT)
        worker = create_worker(sleep_in_steps, 5, _executor=inside, _start_thread=True)

        await asyncio.wait_for(until_running(client), WAIT)
        await asyncio.wait_for(worker.quit(), WAIT)
        with pytest.raises(WorkerAborted):
            await worker

        # The scheduler forgot the task.
    await asyncio.wait_for(until_released(client, "sleep_in_steps"), WAIT)


def divide(a: int, b: int) -> float:
    return a / b


async def test_the_client_executor_works_too(client: Any) -> None:
    executor = client.get_executor(pure=False)
    assert await asyncio.wait_for(create_worker(jobs.add, 1, 1, _executor=executor), WAIT) == 2


def test_generators_are_refused_by_the_client_executor_with_the_alternative(client: Any) -> None:
    # The Client itself streams generators (tests/test_dask_generators.py); its
    # concurrent.futures executor cannot.
    executor = client.get_executor(pure=False)
    with pytest.raises(TypeError, match=r"count is a generator function.*the dask Client itself"):
        create_worker(jobs.count, 3, _executor=executor)


async def test_a_closed_client_refuses_the_work_and_the_worker_ends_errored(client: Any) -> None:
    closed = distributed.Client(client.scheduler.address)
    closed.close()
    worker = create_worker(jobs.add, 1, 2, _executor=closed)
    events: list[str] = []
    for name in ("started", "errored", "finished"):
        getattr(worker, name).connect(lambda *_, n=name: events.append(n))
    with pytest.raises(RuntimeError, match=r"ClientExecutor.*refused the work") as info:
        await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert info.value.__cause__ is not None
    assert events == ["errored", "finished"]
    assert not worker.is_running
