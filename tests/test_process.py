"""executor="process": functions and generators in threadworker's worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import pytest

import process_jobs as jobs
from threadworker import (
    WorkerAborted,
    WorkerProcessDied,
    configure,
    create_worker,
    thread_worker,
)
from threadworker._scope import current_scope

WAIT = 20  # seconds; generous: a worker process is started per test


def processes_alive() -> list[Any]:
    return current_scope().process_pool.processes()


def full_traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


async def wait_for_file(path: Path) -> None:
    async def poll() -> None:
        while not path.exists():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), WAIT)


# -- functions ----------------------------------------------------------------------------
async def test_function_runs_in_another_process_and_returns() -> None:
    worker = create_worker(jobs.pid_and_square, 7, _executor="process")
    events: list[Any] = []
    for name in ("started", "finished"):
        getattr(worker, name).connect(lambda n=name: events.append(n))
    worker.returned.connect(lambda v: events.append(("returned", v[1])))
    pid, square = await asyncio.wait_for(worker, WAIT)
    assert square == 49
    assert pid != os.getpid()
    await asyncio.wait_for(worker.finished, WAIT)
    assert events == ["started", ("returned", 49), "finished"]


async def test_keyword_arguments_and_the_decorator() -> None:
    add = thread_worker(jobs.add, executor="process")
    assert await asyncio.wait_for(add(2, 3, times=4), WAIT) == 20


async def test_processes_are_reused_between_workers() -> None:
    configure(max_processes=1)
    square = thread_worker(jobs.pid_and_square, executor="process")
    first, _ = await asyncio.wait_for(square(1), WAIT)
    second, _ = await asyncio.wait_for(square(2), WAIT)
    assert first == second


async def test_error_arrives_with_the_remote_traceback() -> None:
    worker = create_worker(jobs.fail_here, "bad input 42", _executor="process")
    seen: list[BaseException] = []
    worker.errored.connect(seen.append)
    with pytest.raises(ValueError, match="bad input 42") as info:
        await asyncio.wait_for(worker, WAIT)
    assert seen == [info.value]
    text = full_traceback(info.value)
    assert "in fail_here" in text  # the frame in the worker process
    assert "raise ValueError(message)" in text


async def test_an_exception_that_cannot_be_rebuilt_still_arrives() -> None:
    worker = create_worker(jobs.fail_unloadable, _executor="process")
    with pytest.raises(RuntimeError, match="NeedsTwoArguments: first/second") as info:
        await asyncio.wait_for(worker, WAIT)
    assert "in fail_unloadable" in full_traceback(info.value)


def test_a_function_that_cannot_be_pickled_fails_at_once() -> None:
    def local(x: int) -> int:
        return x

    with pytest.raises(TypeError, match=r"cannot run .*local.* in a worker process.*module level"):
        create_worker(local, 1, _executor="process")
    with pytest.raises(TypeError, match="cannot be pickled"):
        thread_worker(lambda: 1, executor="process")()


async def test_an_argument_that_cannot_be_pickled_ends_in_errored() -> None:
    worker = create_worker(jobs.echo, threading.Lock(), _executor="process")
    with pytest.raises(TypeError, match=r"cannot run echo in a worker process.*pickled"):
        await asyncio.wait_for(worker, WAIT)


async def test_a_return_value_that_cannot_be_pickled_ends_in_errored() -> None:
    worker = create_worker(jobs.return_lock, _executor="process")
    with pytest.raises(TypeError, match=r"could not send its return value.*picklable"):
        await asyncio.wait_for(worker, WAIT)


async def test_quit_kills_a_function_that_never_returns(tmp_path: Path) -> None:
    configure(terminate_after=0.2, max_processes=1)
    marker = tmp_path / "spinning"
    worker = create_worker(jobs.spin_forever, str(marker), _executor="process", _start_thread=True)
    await wait_for_file(marker)
    (process,) = processes_alive()
    await asyncio.wait_for(worker.quit(), WAIT)
    with pytest.raises(WorkerAborted):
        await worker
    assert "aborted" in worker._fired
    process.join(WAIT)
    assert process.exitcode == -9  # SIGKILL
    # The pool replaces the killed process.
    assert (await asyncio.wait_for(create_worker(jobs.add, 1, 2, _executor="process"), WAIT)) == 3


async def test_a_function_polling_abort_requested_stops_without_a_kill(tmp_path: Path) -> None:
    configure(terminate_after=WAIT, max_processes=1)
    marker = tmp_path / "running"
    worker = create_worker(jobs.sleep_until_quit, str(marker), _executor="process")
    worker.start()
    await wait_for_file(marker)
    (process,) = processes_alive()
    await asyncio.wait_for(worker.quit(), WAIT)
    assert "aborted" in worker._fired
    assert process.is_alive()  # it returned by itself: the process serves on


async def test_a_process_that_dies_is_reported_and_replaced() -> None:
    worker = create_worker(jobs.exit_hard, 3, _executor="process")
    with pytest.raises(WorkerProcessDied, match="exit code 3"):
        await asyncio.wait_for(worker, WAIT)
    assert (await asyncio.wait_for(create_worker(jobs.add, 2, 2, _executor="process"), WAIT)) == 4


async def test_queued_workers_wait_and_a_quit_one_never_runs(tmp_path: Path) -> None:
    configure(max_processes=1, terminate_after=0.2)
    marker = tmp_path / "running"
    busy = create_worker(jobs.sleep_until_quit, str(marker), _executor="process")
    busy.start()
    queued = create_worker(jobs.exit_hard, 9, _executor="process")  # would kill its process
    queued.start()
    await wait_for_file(marker)
    await asyncio.wait_for(queued.quit(), WAIT)
    assert "aborted" in queued._fired
    assert busy.is_running
    await asyncio.wait_for(busy.quit(), WAIT)


async def test_progress_reaches_the_home_pbar() -> None:
    worker = create_worker(jobs.report_progress, 500, _executor="process")
    changes: list[int] = []
    worker.start()
    await asyncio.wait_for(worker, WAIT)
    assert worker.pbar is not None
    worker.pbar.changed.connect(lambda: changes.append(1))
    await asyncio.wait_for(worker.pbar.closed, WAIT)
    assert (worker.pbar.n, worker.pbar.total, worker.pbar.desc) == (500, 500, "steps")


async def test_warnings_in_the_process_reach_warned() -> None:
    worker = create_worker(jobs.warn_once, "careful", _executor="process")
    seen: list[Any] = []
    worker.warned.connect(seen.append)
    await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    ((message, category, *_),) = seen
    assert str(message) == "careful"
    assert category is UserWarning


# -- generators -----------------------------------------------------------------------------
async def test_generator_values_stream_back_in_order() -> None:
    worker = create_worker(jobs.count, 5000, _executor="process")
    called: list[int] = []
    worker.yielded.connect(called.append)
    values = [v async for v in worker]
    assert values == list(range(5000))
    assert called == values
    assert await asyncio.wait_for(worker.returned, WAIT) == "counted 5000"


async def test_generator_error_after_values() -> None:
    worker = create_worker(jobs.count_then_fail, 3, _executor="process")
    values: list[int] = []

    async def collect() -> None:
        async for value in worker:
            values.append(value)

    with pytest.raises(KeyError, match="after the values") as info:
        await asyncio.wait_for(collect(), WAIT)
    assert values == [0, 1, 2]
    assert "in count_then_fail" in full_traceback(info.value)


async def test_send_crosses_the_boundary() -> None:
    worker = create_worker(jobs.accumulate, _executor="process")
    totals: list[int] = []
    worker.yielded.connect(totals.append)
    worker.start()
    await asyncio.wait_for(worker.send(5), WAIT)
    await asyncio.wait_for(worker.send(10), WAIT)
    await asyncio.wait_for(worker.quit(), WAIT)
    assert 15 in totals
    assert totals == sorted(totals)


async def test_a_value_that_cannot_be_pickled_is_refused_by_send() -> None:
    worker = create_worker(jobs.accumulate, _executor="process", _start_thread=True)
    with pytest.raises(TypeError, match=r"cannot send lock to accumulate.*pickled"):
        worker.send(threading.Lock())  # type: ignore[arg-type]
    await asyncio.wait_for(worker.quit(), WAIT)


async def test_pause_and_resume_cross_the_boundary(tmp_path: Path) -> None:
    worker = create_worker(jobs.slow_numbers, _executor="process")
    seen: list[int] = []
    events: list[str] = []
    worker.yielded.connect(seen.append)
    worker.paused.connect(lambda: events.append("paused"))
    worker.resumed.connect(lambda: events.append("resumed"))
    worker.start()
    await asyncio.wait_for(worker.yielded, WAIT)
    await asyncio.wait_for(worker.pause(), WAIT)
    assert worker.is_paused
    count_at_pause = len(seen)
    await asyncio.sleep(0.1)  # paused: nothing may arrive (no timing asserted)
    assert len(seen) == count_at_pause
    await asyncio.wait_for(worker.resume(), WAIT)
    await asyncio.wait_for(worker.yielded, WAIT)
    assert len(seen) > count_at_pause
    await asyncio.wait_for(worker.quit(), WAIT)
    assert events == ["paused", "resumed"]


async def test_pause_before_start_holds_the_generator_at_its_first_yield() -> None:
    worker = create_worker(jobs.count, 10, _executor="process")
    paused = worker.pause()
    worker.start()
    await asyncio.wait_for(paused, WAIT)
    assert "returned" not in worker._fired
    await asyncio.wait_for(worker.resume(), WAIT)
    assert await asyncio.wait_for(worker, WAIT) == "counted 10"


async def test_quit_closes_the_generator_in_its_process(tmp_path: Path) -> None:
    marker = tmp_path / "closed"
    worker = create_worker(jobs.numbers_forever, str(marker), _executor="process")
    worker.start()
    await asyncio.wait_for(worker.yielded, WAIT)
    await asyncio.wait_for(worker.quit(), WAIT)
    assert "aborted" in worker._fired
    assert marker.read_text() == "closed"  # its finally block ran


async def test_quit_kills_a_generator_stuck_between_yields() -> None:
    configure(terminate_after=0.2)
    worker = create_worker(jobs.yield_then_spin, _executor="process", _start_thread=True)
    assert await asyncio.wait_for(worker.yielded, WAIT) == 1
    await asyncio.wait_for(worker.quit(), WAIT)
    assert "aborted" in worker._fired
    assert await asyncio.wait_for(create_worker(jobs.add, 1, 1, _executor="process"), WAIT) == 2


async def test_a_yielded_value_that_cannot_be_pickled_ends_in_errored() -> None:
    worker = create_worker(jobs.yield_a_lock, _executor="process")
    values: list[Any] = []

    async def collect() -> None:
        async for value in worker:
            values.append(value)

    with pytest.raises(TypeError, match=r"could not send a yielded value.*lock"):
        await asyncio.wait_for(collect(), WAIT)
    assert values == [1]


async def test_generator_progress_counts_yields() -> None:
    worker = create_worker(jobs.count, 40, _executor="process", _progress={"total": 40})
    await asyncio.wait_for(worker, WAIT)
    assert worker.pbar is not None
    await asyncio.wait_for(worker.pbar.closed, WAIT)
    assert worker.pbar.n == 40


# -- lifetime --------------------------------------------------------------------------------
def test_closing_the_loop_ends_process_workers_and_their_processes(tmp_path: Path) -> None:
    processes: list[Any] = []
    marker = tmp_path / "spinning"

    async def main() -> list[Any]:
        configure(terminate_after=0.2)
        spinner = create_worker(
            jobs.spin_forever, str(marker), _executor="process", _start_thread=True
        )
        streamer = create_worker(jobs.slow_numbers, _executor="process", _start_thread=True)
        workers: list[Any] = [spinner, streamer]
        await asyncio.wait_for(streamer.yielded, WAIT)
        await wait_for_file(marker)
        processes.extend(processes_alive())
        return workers

    workers = asyncio.run(main())
    assert len(processes) == 2
    assert all(not p.is_alive() for p in processes)
    assert all("aborted" in w._fired for w in workers)


@pytest.mark.qt
def test_in_a_qt_app_values_arrive_on_the_gui_thread(qtbot: Any) -> None:
    worker = create_worker(jobs.count, 50, _executor="process")
    gui_thread = threading.get_ident()
    values: list[int] = []
    threads: set[int] = set()
    worker.yielded.connect(values.append)
    worker.yielded.connect(lambda _: threads.add(threading.get_ident()))
    with qtbot.waitSignal(worker.finished, timeout=WAIT * 1000):
        worker.start()
    assert values == list(range(50))
    assert threads == {gui_thread}


async def test_decorated_functions_reach_their_process() -> None:
    # @thread_worker replaces the module's function with its wrapper, which is
    # all pickle can find by name: the worker process unwraps it.
    assert await asyncio.wait_for(jobs.decorated_square(9), WAIT) == 81
    assert [v async for v in jobs.decorated_count(4)] == [0, 1, 2, 3]


async def test_big_values_stream_intact_and_in_order() -> None:
    size = 256 * 1024
    worker = create_worker(jobs.big_blocks, 64, size, _executor="process")
    blocks = [block async for block in worker]
    assert [len(b) for b in blocks] == [size] * 64
    assert [b[0] for b in blocks] == [i % 256 for i in range(64)]


def test_a_main_module_that_fails_in_the_worker_process_gets_a_clear_error(
    tmp_path: Path,
) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import asyncio, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import process_jobs as jobs\n"
        "from threadworker import create_worker\n"
        "if __name__ == '__mp_main__':  # what a worker process imports it as\n"
        "    raise SystemExit('main code ran in a worker process')\n"
        "async def main():\n"
        "    try:\n"
        "        await create_worker(jobs.add, 1, 2, _executor='process')\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__, exc, flush=True)\n"
        "asyncio.run(main())\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "RuntimeError could not start a worker process" in result.stdout
    assert "exited as it started, with exit code 1" in result.stdout
    assert 'if __name__ == "__main__":' in result.stdout


async def test_values_cross_in_batches_not_one_message_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from threadworker._process_pool import ProcessJob

    batches: list[int] = []
    deliver = ProcessJob.deliver

    def counting(job: ProcessJob, items: list[Any]) -> bool:
        batches.append(len(items))
        return deliver(job, items)

    monkeypatch.setattr(ProcessJob, "deliver", counting)
    values = [v async for v in create_worker(jobs.count, 20_000, _executor="process")]
    assert values == list(range(20_000))
    assert sum(batches) == 20_001  # every value, then the outcome
    assert len(batches) <= 20_000 / 10  # many values per message


# -- values and exceptions that misbehave between processes (issue 12) ---------------------
async def collect_until_error(worker: Any) -> tuple[list[Any], BaseException]:
    values: list[Any] = []
    try:
        async for value in worker:
            values.append(value)
    except Exception as exc:
        return values, exc
    raise AssertionError(f"no error; values {values}")


async def test_a_return_value_that_cannot_be_unpickled_here_ends_in_errored() -> None:
    worker = create_worker(jobs.return_child_only, os.getpid(), _executor="process")
    with pytest.raises(TypeError, match=r"its return value that cannot be unpickled") as info:
        await asyncio.wait_for(worker, WAIT)
    assert "_only_in_the_child() failed: ImportError: ChildOnly cannot be rebuilt" in str(
        info.value
    )
    await asyncio.wait_for(worker.finished, WAIT)


async def test_a_return_value_whose_class_is_missing_here_names_the_class() -> None:
    worker = create_worker(jobs.return_instance_of_a_child_only_module, _executor="process")
    with pytest.raises(TypeError, match=r"its return value that cannot be unpickled") as info:
        await asyncio.wait_for(worker, WAIT)
    assert "only_in_the_worker_process.Thing failed: ModuleNotFoundError" in str(info.value)
    await asyncio.wait_for(worker.finished, WAIT)


@pytest.mark.parametrize("where", ["return", "yield", "yield-then-spin"])
async def test_a_generator_value_that_cannot_be_unpickled_here_ends_in_errored(
    where: str,
) -> None:
    worker = create_worker(jobs.yield_then_child_only, os.getpid(), where, _executor="process")
    values, error = await asyncio.wait_for(collect_until_error(worker), WAIT)
    # The values before it arrive, even from the batch that held it.
    assert values == [0, 1, 2]
    assert isinstance(error, TypeError)
    what = "its return value" if where == "return" else "a yielded value"
    assert f"{what} that cannot be unpickled here" in str(error)
    assert "ChildOnly cannot be rebuilt in the home process" in full_traceback(error)
    await asyncio.wait_for(worker.finished, WAIT)
    assert "errored" in worker._fired


@pytest.mark.parametrize("kind", ["bad-str", "bad-notes"])
async def test_an_exception_that_breaks_str_or_traceback_still_arrives(kind: str) -> None:
    worker = create_worker(jobs.raise_instance, kind, _executor="process")
    expected = jobs.BadStr if kind == "bad-str" else jobs.BadNotes
    with pytest.raises(expected) as info:
        await asyncio.wait_for(worker, WAIT)
    assert isinstance(info.value.__cause__, Exception)  # the remote traceback, or why not
    await asyncio.wait_for(worker.finished, WAIT)


async def test_an_exception_that_cannot_be_pickled_nor_printed_arrives_by_name() -> None:
    worker = create_worker(jobs.raise_instance, "bad-str-unpicklable", _executor="process")
    with pytest.raises(RuntimeError, match=r"BadStrUnpicklable") as info:
        await asyncio.wait_for(worker, WAIT)
    assert "in raise_instance" in full_traceback(info.value)


async def test_a_batch_that_cannot_be_read_at_all_ends_the_job_and_its_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threadworker._worker_process as pool_module

    def unreadable(data: bytes) -> Any:
        raise RuntimeError("cannot read this batch at all")

    monkeypatch.setattr(pool_module, "salvage_batch", unreadable)
    configure(max_processes=1)
    worker = create_worker(jobs.return_child_only, os.getpid(), _executor="process")
    with pytest.raises(TypeError, match="a batch sent by the worker process cannot be unpickled"):
        await asyncio.wait_for(worker, WAIT)
    # Its outcome may have been in that batch: the process was ended, and replaced.
    assert await asyncio.wait_for(create_worker(jobs.add, 1, 2, _executor="process"), WAIT) == 3


async def test_a_failure_in_the_courier_ends_the_job_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from threadworker._process_pool import ProcessJob

    def broken(job: ProcessJob, items: list[Any]) -> bool:
        raise ZeroDivisionError("a bug in the courier")

    monkeypatch.setattr(ProcessJob, "deliver", broken)
    worker = create_worker(jobs.add, 1, 2, _executor="process")
    with pytest.raises(RuntimeError, match="lost track of the worker process") as info:
        await asyncio.wait_for(worker, WAIT)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    await asyncio.wait_for(worker.finished, WAIT)


# -- jobs that start processes of their own (issue 12, item 3) --------------------------------
async def wait_until_ended(pids: list[int]) -> None:
    async def poll() -> None:
        while any(jobs.process_is_running(pid) for pid in pids):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), WAIT)


needs_proc = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads process states from /proc"
)


@needs_proc
@pytest.mark.parametrize("how", ["fork", "C fork", "pool", "escaping C fork"])
async def test_quit_ends_a_job_whose_children_hold_its_pipe(tmp_path: Path, how: str) -> None:
    configure(terminate_after=0.2, max_processes=1)
    pid_file = tmp_path / "pids"
    worker = create_worker(jobs.fork_then_spin, str(pid_file), how, _executor="process")
    worker.start()
    await wait_for_file(pid_file)
    grandchildren = [int(pid) for pid in pid_file.read_text().split()]
    assert all(jobs.process_is_running(pid) for pid in grandchildren)
    try:
        await asyncio.wait_for(worker.quit(), WAIT)
        assert "aborted" in worker._fired
        if how == "escaping C fork":
            # Out of the worker's process group, it lives on, holding the pipe:
            # quit did not wait for it.
            assert all(jobs.process_is_running(pid) for pid in grandchildren)
    finally:
        if how == "escaping C fork":
            for pid in grandchildren:
                os.kill(pid, signal.SIGKILL)
    await wait_until_ended(grandchildren)  # no orphan left behind
    assert await asyncio.wait_for(create_worker(jobs.add, 1, 2, _executor="process"), WAIT) == 3


async def test_an_interrupted_stop_still_kills_every_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loop_errors: list[dict[str, Any]]
) -> None:
    configure(max_processes=1)
    marker = tmp_path / "spinning"
    worker = create_worker(jobs.spin_forever, str(marker), _executor="process", _start_thread=True)
    await wait_for_file(marker)
    pool = current_scope().process_pool
    (process,) = pool.processes()
    courier = pool._processes[0].thread
    join = courier.join
    interrupts = [KeyboardInterrupt()]

    def interrupted_join(timeout: float | None = None) -> None:
        if interrupts:  # a second Ctrl+C while stop() waits for the job to end
            raise interrupts.pop()
        join(timeout)

    monkeypatch.setattr(courier, "join", interrupted_join)
    with pytest.raises(KeyboardInterrupt):
        pool.stop(timeout=WAIT)
    process.join(WAIT)
    assert process.exitcode == -9  # SIGKILL
    await asyncio.wait_for(worker.finished, WAIT)
    # Killed by the pool without a quit: it says so.
    assert [type(e["exception"]) for e in loop_errors] == [WorkerProcessDied]


async def test_a_stalled_home_holds_a_process_generator_back_by_bytes() -> None:
    # The courier thread blocks on the full channel, stops reading the pipe,
    # and so the worker process blocks: the parent holds about the budget.
    from threadworker import GeneratorWorker, configure

    budget = 4 * 2**20
    chunk = 2**20
    configure(max_bytes_in_flight=budget)
    gate = threading.Event()
    worker = GeneratorWorker(jobs.big_chunks, 48, chunk)
    worker._use_executor("process")
    worker.yielded.connect(lambda v: gate.wait(WAIT))  # the home stalls on the first
    worker.start()
    channel = worker._channel
    assert channel is not None
    in_flight: list[int] = []

    def watch() -> None:
        for _ in range(20_000):
            if channel._producer_waiting:
                break
            threading.Event().wait(0.001)
        in_flight.append(channel.bytes_in_flight())
        gate.set()

    await asyncio.to_thread(watch)
    assert await asyncio.wait_for(worker, WAIT) == 48
    assert 0 < in_flight[0] <= budget + chunk + 64 * 8


async def test_sends_to_a_process_generator_are_bounded_by_bytes(tmp_path: Path) -> None:
    # The process takes no send until the marker exists: what was sent and not
    # received counts against the budget, as for a thread.
    from threadworker import configure

    configure(max_bytes_in_flight=4 * 2**20 + 4096)  # a send counts as pickled: a little more
    chunk = bytes(2**20)
    marker = tmp_path / "go"
    worker = create_worker(jobs.receive_after, str(marker), 6, _executor="process")
    worker.start()
    sends = [worker.send(chunk) for _ in range(4)]  # the budget: 4 MiB unreceived
    with pytest.raises(BufferError, match="max_bytes_in_flight"):
        worker.send(chunk)
    small = worker.send(10)  # values without a buffer are not counted
    marker.touch()
    for send in sends:
        await asyncio.wait_for(send, WAIT)
    await asyncio.wait_for(small, WAIT)
    await asyncio.wait_for(worker.send(chunk), WAIT)  # room again
    assert await asyncio.wait_for(worker, WAIT) == [2**20] * 4 + [10, 2**20]
