"""Generator workers on a dask cluster: streamed, steered and stopped (issue 18).

A real ``LocalCluster`` (two worker processes on loopback, one thread each),
started here. Marked ``cluster``: ``make test-cluster`` runs them.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import threading
import traceback
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

import process_jobs as jobs
from dask_cluster import local_cluster, until_released
from threadworker import WorkerProcessDied, create_worker, current_worker, progress, thread_worker
from threadworker._channel import DEFAULT_CAPACITY
from threadworker._dask_task import ITEMS_MAXSIZE
from threadworker._process_child import MAX_BATCH, OUTBOX_CAPACITY
from threadworker._signal_iterator import ITERATOR_HIGH_WATER

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.cluster

WAIT = 60


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with local_cluster(distributed) as started:
        yield started


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster) as dask_client:
        yield dask_client


# -- what runs on the cluster -------------------------------------------------------------------
def count_with_pid(n: int) -> Generator[tuple[int, int], None, str]:
    for i in range(n):
        yield os.getpid(), i
    return f"counted {n}"


def numbered_steps(log: str) -> Generator[int, None, None]:
    """Yield 0, 1, 2...; write the step about to be yielded first."""
    i = 0
    while True:
        Path(log).write_text(str(i))
        yield i
        i += 1


def closes_on_quit(marker: str) -> Generator[int, None, None]:
    i = 0
    try:
        while True:
            yield i
            i += 1
    finally:
        address = distributed.get_worker().address
        Path(marker).write_text(f"{os.getpid()} {address}")


def counts_forever(log: str) -> Generator[int, None, None]:
    i = 0
    while True:
        yield i
        i += 1
        if i % 1000 == 0:  # replaced whole, so a reader never sees it half written
            Path(log + ".new").write_text(str(i))
            os.replace(log + ".new", log)


def echo_sends_first(value: Any) -> Generator[Any, None, None]:
    yield value


def echo_sends() -> Generator[Any, Any, None]:
    received = yield "ready"
    while True:
        received = yield received


def reports(n: int) -> Generator[int, None, int]:
    for i in progress(range(n), desc="steps"):
        if i == 0:
            warnings.warn("careful", UserWarning, stacklevel=1)
        yield i
    return n


def aborts_when_asked() -> Generator[bool, None, None]:
    while True:
        yield current_worker().abort_requested  # type: ignore[union-attr]


def pid_then_forever() -> Generator[int, None, None]:
    yield os.getpid()
    while True:
        yield 0


def mixed(i: int) -> Generator[int, None, int]:
    yield from range(i % 4 + 1)
    if i % 5 == 3:
        raise KeyError(i)
    return i


def _load_only_at(home_pid: int) -> LoadsOnlyAtHome:
    if os.getpid() != home_pid:
        raise RuntimeError("cannot be loaded on a dask worker")
    return LoadsOnlyAtHome()


class LoadsOnlyAtHome:
    def __reduce__(self) -> Any:
        return (_load_only_at, (os.getpid(),))


# -- tests --------------------------------------------------------------------------------------
async def test_ten_thousand_values_arrive_in_order(client: Any) -> None:
    worker = create_worker(count_with_pid, 10_000, _executor=client)
    values = [value async for value in worker]
    assert [i for _, i in values] == list(range(10_000))
    assert {pid for pid, _ in values} != {os.getpid()}  # it ran on a dask worker
    assert await asyncio.wait_for(worker.returned, WAIT) == "counted 10000"


async def test_the_decorator_takes_the_client(client: Any) -> None:
    counted = thread_worker(jobs.count, executor=client)
    assert await asyncio.wait_for(counted(5), WAIT) == "counted 5"


async def test_pause_holds_the_generator(client: Any, tmp_path: Path) -> None:
    log = tmp_path / "step"
    worker = create_worker(numbered_steps, str(log), _executor=client)
    events: list[Any] = []
    worker.yielded.connect(events.append)
    worker.paused.connect(lambda: events.append("paused"))
    worker.resumed.connect(lambda: events.append("resumed"))
    worker.start()
    await asyncio.wait_for(worker.yielded, WAIT)
    await asyncio.wait_for(worker.pause(), WAIT)
    assert worker.is_paused
    delivered = [e for e in events if isinstance(e, int)]
    # Held at its yield: the last step it wrote is the last value delivered.
    assert int(log.read_text()) == delivered[-1]
    await asyncio.wait_for(worker.resume(), WAIT)
    await asyncio.wait_for(worker.yielded, WAIT)
    await asyncio.wait_for(worker.quit(), WAIT)
    paused_at, resumed_at = events.index("paused"), events.index("resumed")
    assert resumed_at == paused_at + 1  # nothing yielded while paused
    values = [e for e in events if isinstance(e, int)]
    assert values == list(range(len(values)))  # nothing lost or repeated


async def test_a_fast_generator_is_held_back_when_the_home_is_behind(
    client: Any, tmp_path: Path
) -> None:
    log = tmp_path / "count"
    worker = create_worker(counts_forever, str(log), _executor=client)
    values = aiter(worker)
    assert await asyncio.wait_for(anext(values), WAIT) == 0
    # Nobody reads now: the generator must stop a bounded number of values ahead.

    async def until_still() -> int:
        last = -1
        while True:
            await asyncio.sleep(0.5)  # sampling only: a slow machine just stops later
            now = int(log.read_text()) if log.exists() else 0
            if now == last:
                return now
            last = now

    ahead = await asyncio.wait_for(until_still(), WAIT)
    # The iterator, the home channel, the batch the courier holds, the scheduler's
    # queue, the batch being sent and the task's outbox; the log's granularity.
    bound = (
        ITERATOR_HIGH_WATER
        + DEFAULT_CAPACITY
        + (ITEMS_MAXSIZE + 2) * MAX_BATCH
        + OUTBOX_CAPACITY
        + 1000
    )
    assert ahead <= bound

    def items_queues(dask_scheduler: Any) -> list[tuple[int, int]]:
        queues = dask_scheduler.extensions["queues"].queues
        return [(q.maxsize, q.qsize()) for name, q in queues.items() if name.endswith("-items")]

    ((maxsize, size),) = client.run_on_scheduler(items_queues)
    assert maxsize == ITEMS_MAXSIZE  # never unbounded on the scheduler
    assert size <= ITEMS_MAXSIZE
    await asyncio.wait_for(worker.quit(), WAIT)


async def test_pause_before_start_holds_it_before_its_first_step(client: Any) -> None:
    worker = create_worker(jobs.count, 10, _executor=client)
    paused = worker.pause()
    worker.start()
    await asyncio.wait_for(paused, WAIT)
    assert "returned" not in worker._fired
    await asyncio.wait_for(worker.resume(), WAIT)
    assert await asyncio.wait_for(worker, WAIT) == "counted 10"


async def test_sends_arrive_one_per_yield_in_order(client: Any) -> None:
    worker = create_worker(echo_sends, _executor=client)
    seen: list[Any] = []
    worker.yielded.connect(seen.append)
    worker.start()
    await asyncio.wait_for(worker.yielded, WAIT)
    sends = [worker.send(i) for i in range(20)]
    await asyncio.wait_for(asyncio.gather(*sends), WAIT)
    await asyncio.wait_for(worker.quit(), WAIT)
    echoed = [value for value in seen if value != "ready" and value is not None]
    assert echoed == list(range(20))


async def test_quit_runs_finally_on_the_dask_worker_and_frees_the_task(
    client: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "closed"
    worker = create_worker(closes_on_quit, str(marker), _executor=client)
    worker.start()
    await asyncio.wait_for(worker.yielded, WAIT)
    await asyncio.wait_for(worker.quit(), WAIT)
    assert "aborted" in worker._fired
    pid, address = marker.read_text().split()
    assert int(pid) != os.getpid()
    assert address in client.scheduler_info()["workers"]

    await asyncio.wait_for(until_released(client, "closes_on_quit"), WAIT)


async def test_abort_requested_is_seen_by_the_generator(client: Any) -> None:
    worker = create_worker(aborts_when_asked, _executor=client, _start_thread=True)
    await asyncio.wait_for(worker.yielded, WAIT)
    await asyncio.wait_for(worker.quit(), WAIT)
    assert "aborted" in worker._fired


async def test_progress_and_warnings_come_home(client: Any) -> None:
    worker = create_worker(reports, 300, _executor=client)
    seen: list[Any] = []
    worker.warned.connect(seen.append)
    assert await asyncio.wait_for(worker, WAIT) == 300
    await asyncio.wait_for(worker.finished, WAIT)
    assert worker.pbar is not None
    assert (worker.pbar.n, worker.pbar.total, worker.pbar.desc) == (300, 300, "steps")
    ((message, category, *_),) = seen
    assert (str(message), category) == ("careful", UserWarning)


async def test_the_error_carries_the_remote_traceback(client: Any) -> None:
    worker = create_worker(jobs.count_then_fail, 3, _executor=client)
    values: list[int] = []

    async def collect() -> None:
        async for value in worker:
            values.append(value)

    with pytest.raises(KeyError, match="after the values") as info:
        await asyncio.wait_for(collect(), WAIT)
    assert values == [0, 1, 2]
    assert "in count_then_fail" in "".join(traceback.format_exception(info.value))


async def test_fifty_workers_on_two_dask_workers_each_end_once(client: Any) -> None:
    workers = [create_worker(mixed, i, _executor=client) for i in range(50)]
    outcomes: list[list[str]] = [[] for _ in workers]
    for worker, seen in zip(workers, outcomes, strict=True):
        for name in ("returned", "errored", "aborted"):
            getattr(worker, name).connect(lambda *_, s=seen, n=name: s.append(n))
        worker.start()
    for worker in workers[::7]:
        worker.quit()
    await asyncio.wait_for(asyncio.gather(*(w.finished for w in workers)), WAIT * 2)
    assert all(len(seen) == 1 for seen in outcomes), outcomes

    async def until_forgotten() -> None:  # queues, events and tasks: nothing left behind
        while client.run_on_scheduler(threadworker_state_left):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(until_forgotten(), WAIT)
    for i, seen in enumerate(outcomes):
        if i % 7:  # not quit: its own outcome
            assert seen == (["errored"] if i % 5 == 3 else ["returned"])


async def test_an_asynchronous_client_works_inside_the_loop(cluster: Any) -> None:
    if type(asyncio.get_running_loop()).__module__.startswith("qasync"):
        # distributed's client waits with asyncio.timeout(inf), which qasync cannot
        # schedule (OverflowError in startTimer): with Qt, use a synchronous client.
        pytest.skip("qasync cannot run an asynchronous dask client")
    async with distributed.Client(cluster.scheduler_address, asynchronous=True) as aclient:
        worker = create_worker(jobs.count, 2000, _executor=aclient)
        values = [value async for value in worker]
        assert values == list(range(2000))
        assert await asyncio.wait_for(worker.returned, WAIT) == "counted 2000"


async def test_an_argument_that_cannot_load_on_the_dask_worker_errored(client: Any) -> None:
    # Loaded by the task, not by dask: dask would load it in the dask worker's
    # connection to the scheduler, which that breaks, ending the dask worker (then
    # the next, where the task is retried) and leaving the work pending forever.
    worker = create_worker(echo_sends_first, LoadsOnlyAtHome(), _executor=client)
    with pytest.raises(TypeError, match=r"a dask worker could not unpickle .*echo_sends_first"):
        await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert len(client.scheduler_info()["workers"]) == 2  # both dask workers still there


async def test_an_argument_that_cannot_be_pickled_errored(client: Any) -> None:
    worker = create_worker(echo_sends_first, threading.Lock(), _executor=client)
    with pytest.raises(TypeError, match=r"echo_sends_first.* cannot be pickled") as info:
        await asyncio.wait_for(worker, WAIT)
    assert "refused" not in str(info.value)  # the client is fine: the argument is not


async def test_a_client_closed_mid_run_frees_the_dask_worker(client: Any, tmp_path: Path) -> None:
    marker = tmp_path / "closed"
    own = distributed.Client(client.scheduler.address)
    worker = create_worker(closes_on_quit, str(marker), _executor=own)
    errors: list[BaseException] = []
    worker.errored.connect(errors.append)  # handled from the start: the close may be quick
    worker.start()
    await asyncio.wait_for(worker.yielded, WAIT)
    await asyncio.to_thread(own.close)
    await asyncio.wait_for(worker.finished, WAIT)
    (error,) = errors
    assert isinstance(error, WorkerProcessDied)
    assert re.search(r"dask client running .*closes_on_quit.* was closed", str(error))
    # Nobody reads its values any more: the generator is closed (its finally runs)
    # and the dask worker's thread is free, not blocked on a queue for good.

    async def until_closed() -> None:
        while not marker.exists():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(until_closed(), WAIT)

    async def until_idle() -> None:
        while any(client.run(tasks_running).values()):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(until_idle(), WAIT)


async def test_a_closed_client_ends_the_generator_errored(client: Any) -> None:
    closed = distributed.Client(client.scheduler.address)
    closed.close()
    worker = create_worker(jobs.count, 3, _executor=closed)
    events: list[str] = []
    for name in ("started", "errored", "finished"):
        getattr(worker, name).connect(lambda *_, n=name: events.append(n))
    with pytest.raises(RuntimeError, match=r"dask client \(Client\) refused the work") as info:
        await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert info.value.__cause__ is not None
    assert events[-2:] == ["errored", "finished"]


async def test_a_killed_dask_worker_ends_the_worker_errored(client: Any) -> None:
    # Last in this module: the nanny restarts the killed worker, which the
    # test waits for, so the cluster is whole again afterwards.
    worker = create_worker(pid_then_forever, _executor=client, _start_thread=True)
    pid = await asyncio.wait_for(worker.yielded, WAIT)
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(WorkerProcessDied, match="pid_then_forever") as info:
        await asyncio.wait_for(worker, WAIT)
    assert "the dask worker running" in str(info.value)
    assert "was lost before the work ended" in str(info.value)
    await asyncio.wait_for(worker.finished, WAIT)
    await asyncio.to_thread(client.wait_for_workers, 2, WAIT)


def threadworker_state_left(dask_scheduler: Any) -> list[str]:
    queues = list(dask_scheduler.extensions["queues"].queues)
    events = list(dask_scheduler.extensions["events"]._events)
    tasks = [str(key) for key in dask_scheduler.tasks if str(key).startswith("mixed-")]
    return [name for name in queues + events if name.startswith("threadworker-")] + tasks


def tasks_running(dask_worker: Any) -> list[str]:
    """The keys of the tasks the dask worker's threads are running now."""
    return [str(key) for key in dask_worker.active_threads.values()]
