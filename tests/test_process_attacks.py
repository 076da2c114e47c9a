"""Hostile use of process workers: whatever happens, the worker finishes (issue 12)."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import threading
from typing import Any

import pytest

import process_jobs as jobs
from threadworker import WorkerFinishedError, WorkerProcessDied, configure, create_worker
from threadworker._scope import current_scope

WAIT = 20


async def test_a_sent_value_that_cannot_be_unpickled_there_ends_in_errored() -> None:
    worker = create_worker(jobs.accumulate, _executor="process", _start_thread=True)
    await asyncio.wait_for(worker.yielded, WAIT)
    sent = worker.send(jobs.HomeOnly(os.getpid()))  # type: ignore[arg-type]
    with pytest.raises(ImportError, match="HomeOnly cannot be rebuilt"):
        await asyncio.wait_for(worker, WAIT)
    with pytest.raises(WorkerFinishedError):
        await asyncio.wait_for(sent, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)


async def test_an_argument_that_cannot_be_unpickled_there_ends_in_errored() -> None:
    worker = create_worker(jobs.echo, jobs.HomeOnly(os.getpid()), _executor="process")
    with pytest.raises(TypeError, match="could not unpickle its job"):
        await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)


@pytest.mark.parametrize("kind", ["system-exit", "keyboard-interrupt"])
@pytest.mark.parametrize("job", ["function", "generator"])
async def test_base_exceptions_in_the_job_end_in_errored(kind: str, job: str) -> None:
    func: Any = jobs.raise_base if job == "function" else jobs.yield_then_raise_base
    worker = create_worker(func, kind, _executor="process")
    seen: list[BaseException] = []
    worker.errored.connect(seen.append)
    worker.start()
    await asyncio.wait_for(worker.finished, WAIT)
    (error,) = seen
    assert isinstance(error, SystemExit if kind == "system-exit" else KeyboardInterrupt)
    # The process survived it and serves the next job.
    assert await asyncio.wait_for(create_worker(jobs.add, 1, 2, _executor="process"), WAIT) == 3


async def test_a_process_killed_mid_batch_ends_the_worker() -> None:
    configure(max_processes=1)
    worker = create_worker(jobs.big_blocks_forever, 1 << 20, _executor="process")
    worker.start()
    await asyncio.wait_for(worker.yielded, WAIT)
    (process,) = current_scope().process_pool.processes()
    os.kill(process.pid, signal.SIGKILL)
    # Awaited in this task, not through wait_for's new one: the await must be
    # waiting before the loop can deliver the error, or it counts as unhandled.
    with pytest.raises(WorkerProcessDied, match="SIGKILL"):
        async with asyncio.timeout(WAIT):
            await worker
    await asyncio.wait_for(worker.finished, WAIT)
    assert await asyncio.wait_for(create_worker(jobs.add, 1, 2, _executor="process"), WAIT) == 3


@pytest.mark.parametrize("what", ["function", "generator"])
async def test_quit_during_start_up(what: str) -> None:
    configure(terminate_after=0.2)
    func: Any = jobs.spin_forever if what == "function" else jobs.slow_numbers
    workers = [create_worker(func, _executor="process") for _ in range(4)]
    for worker in workers:
        worker.start()
        worker.quit()
    await asyncio.wait_for(asyncio.gather(*(w.finished for w in workers)), WAIT)
    assert all("aborted" in w._fired for w in workers)


async def test_many_quits_at_once_from_many_threads() -> None:
    configure(terminate_after=0.2, max_processes=2)
    workers: list[Any] = [
        create_worker(jobs.spin_forever if i % 2 else jobs.slow_numbers, _executor="process")
        for i in range(6)
    ]
    for worker in workers:
        worker.start()
    await asyncio.wait_for(workers[0].yielded, WAIT)
    barrier = threading.Barrier(8)

    def hammer() -> None:
        barrier.wait()
        for worker in workers:
            worker.quit()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    await asyncio.wait_for(asyncio.gather(*(w.finished for w in workers)), WAIT)
    assert all("aborted" in w._fired for w in workers)


async def test_a_forked_child_returning_from_the_job_sends_nothing() -> None:
    result = await asyncio.wait_for(create_worker(jobs.fork_and_return, _executor="process"), WAIT)
    assert result == "the worker process"


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads /proc")
async def test_a_process_killed_mid_batch_while_its_child_holds_the_pipe(tmp_path: Any) -> None:
    configure(max_processes=1)
    pid_file = tmp_path / "pid"
    worker = create_worker(jobs.fork_then_big_blocks, str(pid_file), 4 << 20, _executor="process")
    worker.start()
    await asyncio.wait_for(worker.yielded, WAIT)
    (process,) = current_scope().process_pool.processes()
    os.kill(process.pid, signal.SIGKILL)
    # Awaited in this task, not through wait_for's new one: the await must be
    # waiting before the loop can deliver the error, or it counts as unhandled.
    with pytest.raises(WorkerProcessDied, match="SIGKILL"):
        async with asyncio.timeout(WAIT):
            await worker
    child = int(pid_file.read_text())

    async def ended() -> None:
        while jobs.process_is_running(child):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(ended(), WAIT)


async def test_values_whose_unpickling_raises_system_exit() -> None:
    configure(max_processes=1)
    there = create_worker(jobs.echo, jobs.ExitsWhenRebuilt(), _executor="process")
    with pytest.raises(TypeError, match="could not unpickle its job: SystemExit: 5"):
        await asyncio.wait_for(there, WAIT)
    here = create_worker(jobs.return_exits_when_rebuilt, _executor="process")
    with pytest.raises(TypeError, match=r"its return value .*exit\(\) failed: SystemExit: 5"):
        await asyncio.wait_for(here, WAIT)
    # The same process served both, and serves on.
    assert await asyncio.wait_for(create_worker(jobs.add, 1, 2, _executor="process"), WAIT) == 3


async def test_big_sends_to_a_process_that_cannot_read_never_block_home(tmp_path: Any) -> None:
    # Its receiving thread cannot run (the job holds the GIL): the pipe fills.
    configure(terminate_after=0.2, max_processes=1)
    marker = tmp_path / "holding"
    worker = create_worker(jobs.hold_the_gil, str(marker), _executor="process")
    worker.start()
    while not marker.exists():
        await asyncio.sleep(0.01)
    sends = [worker.send(b"x" * (1 << 20)) for _ in range(8)]
    await asyncio.wait_for(worker.quit(), WAIT)  # ends it: killed
    assert "aborted" in worker._fired
    for sent in sends:
        with pytest.raises(WorkerFinishedError):
            await asyncio.wait_for(sent, WAIT)


async def test_a_send_received_after_a_value_home_cannot_load_is_confirmed(
    tmp_path: Any,
) -> None:
    # The generator received the send after yielding a value the home fails to
    # unpickle: the acknowledgement, in that batch or a later one, still counts.
    log = tmp_path / "log"
    worker = create_worker(jobs.unloadable_then_receive, str(log), _executor="process")
    errors: list[BaseException] = []
    worker.errored.connect(errors.append)
    paused = worker.pause()  # held before its first step, so the send waits for the second
    worker.start()
    await asyncio.wait_for(paused, WAIT)
    sent = worker.send(5)
    worker.resume()
    await asyncio.wait_for(worker.finished, WAIT)
    (error,) = errors
    assert isinstance(error, TypeError)
    assert "cannot be unpickled here" in str(error)
    assert log.read_text() == "received 5"
    await asyncio.wait_for(sent, WAIT)  # delivered, as it was


def test_acknowledgements_after_a_value_that_cannot_be_read_are_salvaged() -> None:
    from threadworker._salvage import salvage_batch
    from threadworker._stepper import Event

    batch = [0, jobs.NeverLoads(), Event("received", 7), 2, Event("returned", 3)]
    job_id, items, error = salvage_batch(pickle.dumps((9, batch)))
    assert job_id == 9
    assert [(i.kind, i.payload) if isinstance(i, Event) else i for i in items] == [
        0,
        ("received", 7),
        ("returned", None),
    ]
    assert "a yielded value" in str(error)


def test_a_failed_job_still_delivers_its_acknowledgements() -> None:
    from threadworker._process_job import ProcessJob
    from threadworker._stepper import Event

    delivered: list[Any] = []
    job = ProcessJob("generator", jobs.add, (), {}, on_items=delivered.extend, on_lost=print)
    failure = TypeError("a value home cannot read")
    job.fail(failure)
    assert not job.deliver([1, Event("received", 5)])
    assert job.deliver([2, Event("received", 6), Event("returned", 3)])
    assert [(e.kind, e.payload) for e in delivered] == [
        ("received", 5),
        ("received", 6),
        ("errored", failure),
    ]


def test_a_job_failed_in_its_process_still_sends_its_acknowledgements() -> None:
    from threadworker._process_child import _only_outcome
    from threadworker._stepper import Event

    failure = TypeError("a value that cannot be pickled")
    kept = _only_outcome([1, Event("received", 5), 2, Event("returned", 3)], failure)
    assert [e.kind for e in kept] == ["received", "errored"]
    assert kept[0].payload == 5
    assert _only_outcome([1, Event("received", 6)], failure)[0].payload == 6
