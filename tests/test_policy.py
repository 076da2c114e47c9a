"""timeout=, exclusive= (latest wins) and debounce= on thread and process workers.

Async tests run on asyncio and on qasync (see conftest); the Qt ``app.exec()``
home is covered in test_qt_policy.py.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

import process_jobs as jobs
from script_runner import run_script
from threadworker import (
    GeneratorWorker,
    WorkerAborted,
    WorkerFinishedError,
    WorkerTimeout,
    configure,
    create_worker,
    current_worker,
    thread_worker,
)
from threadworker._exclusive import groups_of
from threadworker._scope import current_scope

WAIT = 20  # seconds: a bound on every wait, never a threshold


def forever() -> Generator[int, None, None]:
    """Yield until quit, letting the thread breathe between values."""
    i = 0
    while True:
        yield i
        i += 1
        threading.Event().wait(0.001)


def until_quit() -> str:
    """A plain function that notices quit() only by polling abort_requested."""
    worker = current_worker()
    assert worker is not None
    while not worker.abort_requested:
        time.sleep(0.001)
    return "late"


def record(worker: Any) -> list[str]:
    """The names of the worker's lifecycle signals, in emission order."""
    seen: list[str] = []
    for name in ("started", "returned", "errored", "aborted", "finished"):
        getattr(worker, name).connect(lambda *_, name=name: seen.append(name))
    return seen


# -- timeout ------------------------------------------------------------------------------
async def test_timeout_quits_a_generator_at_its_next_yield_and_errors() -> None:
    worker = create_worker(forever, _timeout=0.05)
    seen = record(worker)
    with pytest.raises(WorkerTimeout, match=r"GeneratorWorker\[forever\].*0\.05 s") as caught:
        await asyncio.wait_for(worker, WAIT)
    assert isinstance(caught.value, TimeoutError)
    assert seen == ["started", "errored", "finished"]
    assert worker.abort_requested


async def test_timeout_flags_a_function_and_discards_its_late_result() -> None:
    worker = create_worker(until_quit, _timeout=0.05)
    returned: list[str] = []
    worker.returned.connect(returned.append)
    with pytest.raises(WorkerTimeout, match=r"FunctionWorker\[until_quit\]"):
        await asyncio.wait_for(worker, WAIT)
    assert returned == []  # "late" was computed, and dropped
    assert isinstance(worker._fired["errored"], WorkerTimeout)


async def test_work_that_ends_in_time_returns_and_its_timer_is_dropped() -> None:
    worker = create_worker(lambda: 7, _timeout=WAIT)
    assert await asyncio.wait_for(worker, WAIT) == 7
    assert worker._policy is not None
    assert worker._policy._timeout_timer is None
    assert not worker._policy.timed_out


async def test_a_worker_quit_before_its_timeout_ends_aborted_not_timed_out() -> None:
    worker = create_worker(forever, _timeout=WAIT)
    worker.start()
    await asyncio.wait_for(worker.yielded, WAIT)
    await asyncio.wait_for(worker.quit(), WAIT)
    assert "aborted" in worker._fired
    assert "errored" not in worker._fired


async def test_the_decorator_sets_the_timeout_and_a_call_overrides_it() -> None:
    @thread_worker(timeout=0.05)
    def spin() -> Generator[int, None, None]:
        yield from forever()

    with pytest.raises(WorkerTimeout):
        await asyncio.wait_for(spin(), WAIT)
    worker = spin(_timeout=None)  # type: ignore[call-arg]  # per-call options are untyped
    worker.start()
    await asyncio.wait_for(worker.yielded, WAIT)
    assert worker._policy is None  # no limit: no policy at all
    await asyncio.wait_for(worker.quit(), WAIT)


async def test_an_error_raised_while_timing_out_is_the_cause() -> None:
    def fails_on_close() -> Generator[int, None, None]:
        try:
            yield from forever()
        finally:
            raise KeyError("while closing")

    with pytest.raises(WorkerTimeout) as caught:
        await asyncio.wait_for(create_worker(fails_on_close, _timeout=0.05), WAIT)
    assert isinstance(caught.value.__cause__, KeyError)


async def test_timeout_ends_a_process_function_after_terminate_after(tmp_path: Path) -> None:
    configure(terminate_after=0.2, max_processes=1)
    marker = tmp_path / "spinning"
    worker = create_worker(jobs.spin_forever, str(marker), _executor="process", _timeout=0.3)
    with pytest.raises(WorkerTimeout, match=r"spin_forever"):
        await asyncio.wait_for(worker, WAIT)
    # The pool replaced the killed process.
    assert await asyncio.wait_for(create_worker(jobs.add, 1, 2, _executor="process"), WAIT) == 3


async def test_timeout_closes_a_process_generator_at_its_next_yield(tmp_path: Path) -> None:
    configure(max_processes=1)
    # A warm process: the timeout counts from start(), which includes starting one.
    assert await asyncio.wait_for(create_worker(jobs.add, 1, 1, _executor="process"), WAIT) == 2
    marker = tmp_path / "closed"
    worker = create_worker(jobs.numbers_forever, str(marker), _executor="process", _timeout=1.0)
    with pytest.raises(WorkerTimeout):
        await asyncio.wait_for(worker, WAIT)
    assert marker.read_text() == "closed"  # its finally block ran in the process


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"_timeout": 0}, ValueError, "timeout must be a finite, positive"),
        ({"_timeout": -1.0}, ValueError, "timeout must be"),
        ({"_timeout": float("inf")}, ValueError, "timeout must be"),
        ({"_timeout": "1"}, TypeError, "timeout must be a number"),
        ({"_timeout": True}, TypeError, "timeout must be a number"),
        ({"_exclusive": 1}, TypeError, "exclusive must be True"),
        ({"_exclusive": ""}, ValueError, "must not be empty"),
        ({"_debounce": 0.1}, ValueError, "debounce needs exclusive"),
        ({"_debounce": -1, "_exclusive": True}, ValueError, "debounce must be"),
        # Past Qt's longest timer (about 24.8 days): it overflowed in a Qt home.
        ({"_timeout": 3e6}, ValueError, "timeout must be at most 2147483 seconds"),
        ({"_debounce": 3e6, "_exclusive": True}, ValueError, "debounce must be at most"),
    ],
)
def test_bad_options_are_refused_with_the_fix(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        create_worker(lambda: None, **options)


async def test_any_real_number_of_seconds_is_a_time() -> None:
    np = pytest.importorskip("numpy")
    for seconds in (np.int64(WAIT), np.float32(WAIT), WAIT):
        worker = create_worker(lambda: 7, _timeout=seconds)
        assert await asyncio.wait_for(worker, WAIT) == 7


async def test_a_call_that_turns_exclusive_off_drops_the_decorators_debounce() -> None:
    @thread_worker(exclusive=True, debounce=WAIT)
    def seven() -> int:
        return 7

    worker = seven(_exclusive=False)  # type: ignore[call-arg]  # per-call options are untyped
    assert await asyncio.wait_for(worker, WAIT) == 7  # at once: no debounce wait


def test_the_decorator_refuses_bad_options_when_applied() -> None:
    with pytest.raises(ValueError, match="debounce needs exclusive"):
        thread_worker(debounce=0.1)(lambda: None)


# -- exclusive ------------------------------------------------------------------------------
async def test_starting_again_quits_the_running_worker_of_the_function() -> None:
    @thread_worker(exclusive=True)
    def layer() -> Generator[int, None, None]:
        yield from forever()

    first = layer()
    first.start()
    await asyncio.wait_for(first.yielded, WAIT)
    second = layer()
    second.start()
    with pytest.raises(WorkerAborted):
        await asyncio.wait_for(first, WAIT)
    await asyncio.wait_for(second.yielded, WAIT)
    assert second.is_running
    await asyncio.wait_for(second.quit(), WAIT)


async def test_a_named_group_spans_functions_and_other_functions_are_untouched() -> None:
    a = create_worker(forever, _exclusive="layer", _start_thread=True)
    other = create_worker(forever, _exclusive=True, _start_thread=True)
    await asyncio.wait_for(a.yielded, WAIT)
    b = create_worker(until_quit, _exclusive="layer", _start_thread=True)
    with pytest.raises(WorkerAborted):
        await asyncio.wait_for(a, WAIT)
    assert other.is_running  # its own group (the function), not "layer"
    assert b.is_running
    await asyncio.wait_for(asyncio.gather(b.quit(), other.quit()), WAIT)


async def test_bound_methods_read_twice_are_one_group() -> None:
    class Layer:
        def compute(self) -> Generator[int, None, None]:
            yield from forever()

    layer = Layer()
    first = create_worker(layer.compute, _exclusive=True, _start_thread=True)
    await asyncio.wait_for(first.yielded, WAIT)
    second = create_worker(layer.compute, _exclusive=True, _start_thread=True)
    with pytest.raises(WorkerAborted):
        await asyncio.wait_for(first, WAIT)
    await asyncio.wait_for(second.quit(), WAIT)


async def test_groups_belong_to_their_home() -> None:
    @thread_worker(exclusive=True)
    def work(n: int | None) -> Generator[int, None, int]:
        if n is None:
            yield from forever()
            return 0
        yield from range(n)
        return n

    here = work(None)
    here.start()
    await asyncio.wait_for(here.yielded, WAIT)
    results: list[int] = []
    # Another home (a loop in another thread) runs the same group.
    thread = threading.Thread(target=lambda: results.append(asyncio.run(_await(work(3)))))
    thread.start()
    await asyncio.to_thread(thread.join, WAIT)
    assert results == [3]
    assert here.is_running  # untouched by the other home's start
    await asyncio.wait_for(here.quit(), WAIT)


async def _await(worker: Any) -> Any:
    return await asyncio.wait_for(worker, WAIT)


async def test_starts_racing_in_threads_leave_exactly_one_running() -> None:
    # start() is callable from any thread: the group's bookkeeping must hold.
    workers = [create_worker(forever, _exclusive="race") for _ in range(8)]
    barrier = threading.Barrier(len(workers))
    loop = asyncio.get_running_loop()
    # The home's scope made here: one first made from a thread that only has the
    # loop set takes that thread for the home (a limitation found on main, reported).
    current_scope()

    def start(worker: GeneratorWorker[int, None, None]) -> None:
        asyncio.set_event_loop(loop)  # this thread's home is the test's loop
        try:
            barrier.wait(WAIT)
            worker.start()
        finally:
            asyncio.set_event_loop(None)

    threads = [threading.Thread(target=start, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        await asyncio.to_thread(thread.join, WAIT)
    latest = groups_of(current_scope()).latest(("name", "race"))
    assert latest is not None
    for worker in workers:
        if worker is not latest:
            with pytest.raises(WorkerAborted):
                await asyncio.wait_for(worker, WAIT)
    assert latest.is_running
    await asyncio.wait_for(latest.quit(), WAIT)


async def test_finished_workers_leave_their_group() -> None:
    workers = [create_worker(forever, _exclusive="g", _start_thread=True) for _ in range(5)]
    for worker in workers[:-1]:
        with pytest.raises(WorkerAborted):
            await asyncio.wait_for(worker, WAIT)
    groups = groups_of(current_scope())
    assert groups.latest(("name", "g")) is workers[-1]
    await asyncio.wait_for(workers[-1].quit(), WAIT)
    assert groups.latest(("name", "g")) is None


async def test_latest_wins_for_process_generators(tmp_path: Path) -> None:
    marker = tmp_path / "closed"
    first = create_worker(
        jobs.numbers_forever, str(marker), _executor="process", _exclusive="p", _start_thread=True
    )
    await asyncio.wait_for(first.yielded, WAIT)
    second = create_worker(jobs.add, 2, 3, _executor="process", _exclusive="p")
    second.start()
    with pytest.raises(WorkerAborted):
        await asyncio.wait_for(first, WAIT)
    assert marker.read_text() == "closed"
    assert await asyncio.wait_for(second, WAIT) == 5


# -- debounce ------------------------------------------------------------------------------
async def test_a_burst_of_starts_runs_only_the_last() -> None:
    ran: list[int] = []

    @thread_worker(exclusive=True, debounce=0.05)
    def recompute(i: int) -> int:
        ran.append(i)
        return i

    workers = [recompute(i) for i in range(100)]
    started: list[int] = []
    for i, worker in enumerate(workers):
        worker.started.connect(lambda i=i: started.append(i))
        worker.start()
    assert await asyncio.wait_for(workers[-1], WAIT) == 99
    for worker in workers[:-1]:
        with pytest.raises(WorkerAborted):
            await asyncio.wait_for(worker, WAIT)
    assert ran == [99]
    assert started == [99]  # the replaced ones never emitted started


async def test_a_new_start_quits_a_launched_worker_and_waits_its_window() -> None:
    first = create_worker(forever, _exclusive=True, _debounce=0.01, _start_thread=True)
    await asyncio.wait_for(first.yielded, WAIT)  # launched after its window
    second = create_worker(forever, _exclusive=True, _debounce=0.01, _start_thread=True)
    with pytest.raises(WorkerAborted):
        await asyncio.wait_for(first, WAIT)
    await asyncio.wait_for(second.yielded, WAIT)
    await asyncio.wait_for(second.quit(), WAIT)


async def test_quitting_a_pending_start_ends_it_aborted_without_running() -> None:
    worker = create_worker(until_quit, _exclusive=True, _debounce=WAIT)
    seen = record(worker)
    worker.start()
    assert worker.is_running
    await asyncio.wait_for(worker.quit(), WAIT)
    assert seen == ["aborted", "finished"]
    assert not worker._began
    with pytest.raises(WorkerFinishedError):
        await asyncio.wait_for(worker.started, WAIT)


async def test_a_debounced_timeout_counts_from_the_launch() -> None:
    worker = create_worker(forever, _exclusive=True, _debounce=0.05, _timeout=0.05)
    seen = record(worker)
    with pytest.raises(WorkerTimeout):
        await asyncio.wait_for(worker, WAIT)
    assert seen == ["started", "errored", "finished"]


async def test_a_burst_of_process_starts_runs_only_the_last() -> None:
    workers = [
        create_worker(jobs.echo, i, _executor="process", _exclusive=True, _debounce=0.05)
        for i in range(20)
    ]
    for worker in workers:
        worker.start()
    assert await asyncio.wait_for(workers[-1], WAIT) == 19
    assert all("aborted" in w._fired and "started" not in w._fired for w in workers[:-1])


def test_a_pending_start_does_not_hold_up_the_loop_closing() -> None:
    loop = asyncio.new_event_loop()
    try:

        async def start_one() -> GeneratorWorker[int, None, None]:
            worker = create_worker(forever, _exclusive=True, _debounce=WAIT, _start_thread=True)
            return worker

        worker = loop.run_until_complete(start_one())
    finally:
        loop.close()  # its scope quits the pending worker
    assert "aborted" in worker._fired
    assert worker._thread_done.is_set()


DOCS = Path(__file__).resolve().parent.parent / "docs" / "policies.md"
DOC_BLOCKS = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
DOC_OUTPUTS = [
    "GeneratorWorker[scan] timed out: it ran longer than its timeout of 0.2 s",
    "first was superseded",
    "198 [99]",
    "6",
]


@pytest.mark.parametrize(
    ("code", "expected"), list(zip(DOC_BLOCKS, DOC_OUTPUTS, strict=True)), ids=DOC_OUTPUTS
)
def test_the_docs_examples_run_and_print_what_they_say(
    code: str, expected: str, tmp_path: Path
) -> None:
    result = run_script(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
