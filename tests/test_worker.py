"""WorkerBase lifecycle and FunctionWorker, on asyncio and qasync loops."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import warnings
from collections.abc import Generator
from typing import Any

import pytest

from threadworker import (
    FunctionWorker,
    WorkerAborted,
    WorkerBase,
    WorkerFinishedError,
    create_worker,
    current_worker,
    thread_worker,
)

WAIT = 10  # seconds: a bound on every wait, never a timing assertion


def record_signals(worker: WorkerBase[Any]) -> list[str]:
    events: list[str] = []
    for name in ("started", "returned", "errored", "aborted", "finished"):
        getattr(worker, name).connect(lambda *a, n=name: events.append(n))
    return events


async def test_returned_value_and_signal_order() -> None:
    worker = FunctionWorker(lambda x: x * 2, 21)
    events = record_signals(worker)
    values: list[int] = []
    worker.returned.connect(values.append)
    worker.start()
    assert await asyncio.wait_for(worker.returned, WAIT) == 42
    await asyncio.wait_for(worker.finished, WAIT)
    assert values == [42]
    assert events == ["started", "returned", "finished"]
    assert not worker.is_running


async def test_callbacks_run_on_the_loop_thread() -> None:
    threads: list[int] = []
    worker = FunctionWorker(threading.get_ident)
    worker.returned.connect(lambda _: threads.append(threading.get_ident()))
    worker.started.connect(lambda: threads.append(threading.get_ident()))
    worker_thread = await asyncio.wait_for(worker, WAIT)
    assert worker_thread != threading.get_ident()
    assert threads == [threading.get_ident()] * 2


async def test_await_worker_starts_it() -> None:
    worker = FunctionWorker(sum, [1, 2, 3])
    assert await asyncio.wait_for(worker, WAIT) == 6


async def test_errored_delivers_the_worker_exception_with_its_traceback() -> None:
    def fail() -> None:
        raise ValueError("bad input")

    worker = FunctionWorker(fail)
    events = record_signals(worker)
    errors: list[BaseException] = []
    worker.errored.connect(errors.append)
    worker.start()
    with pytest.raises(ValueError, match="bad input") as info:
        await asyncio.wait_for(worker.returned, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert errors == [info.value]
    assert info.value.__traceback__ is not None
    frames = [f.co_name for f in _frames(info.value.__traceback__)]
    assert "fail" in frames  # the worker thread's frame is in the traceback
    assert events == ["started", "errored", "finished"]


def _frames(tb: Any) -> list[Any]:
    out = []
    while tb is not None:
        out.append(tb.tb_frame.f_code)
        tb = tb.tb_next
    return out


async def test_awaiting_a_signal_that_cannot_fire_raises() -> None:
    worker = FunctionWorker(lambda: 0)
    await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    with pytest.raises(WorkerFinishedError, match="'errored' will not be emitted"):
        await asyncio.wait_for(worker.errored, WAIT)
    with pytest.raises(WorkerFinishedError):
        await asyncio.wait_for(worker.warned, WAIT)


async def test_latched_signals_return_at_once_after_they_fired() -> None:
    worker = FunctionWorker(lambda: "done")
    worker.start()
    await asyncio.wait_for(worker.finished, WAIT)
    # Accessed for the first time only now: still latched.
    await worker.started
    assert await worker.returned == "done"
    await worker.finished


async def test_pending_errored_awaiter_is_failed_when_the_worker_returns() -> None:
    worker = FunctionWorker(lambda: 1)
    waiter = asyncio.ensure_future(worker.errored)
    worker.start()
    with pytest.raises(WorkerFinishedError):
        await asyncio.wait_for(waiter, WAIT)


async def test_unhandled_exception_reaches_the_loop_exception_handler(
    loop_errors: list[dict[str, Any]],
) -> None:
    def fail() -> None:
        raise KeyError("nobody listens")

    worker = FunctionWorker(fail)
    worker.start()
    await asyncio.wait_for(worker.finished, WAIT)
    assert len(loop_errors) == 1
    assert isinstance(loop_errors[0]["exception"], KeyError)
    assert loop_errors[0]["worker"] is worker
    assert "FunctionWorker[fail]" in loop_errors[0]["message"]


async def test_handled_exception_is_not_reported_twice(loop_errors: list[dict[str, Any]]) -> None:
    worker = FunctionWorker(lambda: 1 / 0)
    worker.errored.connect(lambda e: None)
    worker.start()
    await asyncio.wait_for(worker.finished, WAIT)
    assert loop_errors == []


async def test_ignore_errors_drops_unhandled_exceptions(loop_errors: list[dict[str, Any]]) -> None:
    worker = create_worker(lambda: 1 / 0, _ignore_errors=True, _start_thread=True)
    await asyncio.wait_for(worker.finished, WAIT)
    assert loop_errors == []


async def test_raising_callback_does_not_stop_later_callbacks_or_finished(
    loop_errors: list[dict[str, Any]],
) -> None:
    seen: list[str] = []

    def bad(_: object) -> None:
        raise RuntimeError("callback bug")

    worker = FunctionWorker(lambda: 5)
    worker.returned.connect(bad)
    worker.returned.connect(lambda v: seen.append(f"second {v}"))
    worker.finished.connect(lambda: seen.append("finished"))
    worker.start()
    await asyncio.wait_for(worker.finished, WAIT)
    assert seen == ["second 5", "finished"]
    assert [type(e["exception"]) for e in loop_errors] == [RuntimeError]


async def test_quit_function_worker_runs_to_end_but_emits_aborted() -> None:
    release = threading.Event()
    entered = threading.Event()

    def blocking() -> str:
        entered.set()
        release.wait(WAIT)
        return "late"

    worker = FunctionWorker(blocking)
    events = record_signals(worker)
    worker.start()
    await asyncio.to_thread(entered.wait, WAIT)
    confirmation = worker.quit()
    assert worker.abort_requested
    release.set()
    await asyncio.wait_for(confirmation, WAIT)
    assert events == ["started", "aborted", "finished"]
    with pytest.raises(WorkerAborted):
        await worker.returned


async def test_function_can_poll_abort_requested_via_current_worker() -> None:
    entered = threading.Event()

    def cooperative() -> str:
        me = current_worker()
        assert me is not None
        entered.set()
        while not me.abort_requested:
            threading.Event().wait(0.001)
        return "stopped early"

    worker = FunctionWorker(cooperative)
    worker.start()
    await asyncio.to_thread(entered.wait, WAIT)
    await asyncio.wait_for(worker.quit(), WAIT)
    await asyncio.wait_for(worker.aborted, WAIT)


async def test_quit_before_start_finishes_at_once() -> None:
    worker = FunctionWorker(lambda: 1)
    events = record_signals(worker)
    await asyncio.wait_for(worker.quit(), WAIT)
    assert events == ["aborted", "finished"]
    with pytest.raises(RuntimeError, match="a worker runs once"):
        worker.start()


async def test_start_twice_raises() -> None:
    worker = FunctionWorker(lambda: 1)
    worker.start()
    with pytest.raises(RuntimeError, match="already started"):
        worker.start()
    await asyncio.wait_for(worker.finished, WAIT)
    with pytest.raises(RuntimeError, match="create a new one"):
        worker.start()


async def test_contextvars_are_copied_into_the_thread() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("from the caller")
    assert await asyncio.wait_for(FunctionWorker(var.get), WAIT) == "from the caller"


async def test_thread_is_named_after_the_function() -> None:
    def named() -> str:
        return threading.current_thread().name

    assert await asyncio.wait_for(FunctionWorker(named), WAIT) == "threadworker-named"


async def test_worker_started_inside_a_worker_thread_delivers_to_the_loop() -> None:
    home = threading.get_ident()
    delivered_on: list[int] = []

    def parent() -> FunctionWorker[int]:
        child = FunctionWorker(lambda: 7)
        child.returned.connect(lambda _: delivered_on.append(threading.get_ident()))
        child.start()
        return child

    child = await asyncio.wait_for(FunctionWorker(parent), WAIT)
    assert await asyncio.wait_for(child, WAIT) == 7
    await asyncio.wait_for(child.finished, WAIT)
    assert delivered_on == [home]


async def test_worker_started_from_a_callback_of_another_worker() -> None:
    results: list[int] = []
    done = asyncio.Event()

    def chain(value: int) -> None:
        second = FunctionWorker(lambda: value + 1)
        second.returned.connect(results.append)
        second.finished.connect(done.set)
        second.start()

    first = FunctionWorker(lambda: 1)
    first.returned.connect(chain)
    first.start()
    await asyncio.wait_for(done.wait(), WAIT)
    assert results == [2]


async def test_async_with_quits_and_waits() -> None:
    entered = threading.Event()

    def polls() -> None:
        me = current_worker()
        assert me is not None
        entered.set()
        while not me.abort_requested:
            threading.Event().wait(0.001)

    async with FunctionWorker(polls) as worker:
        await asyncio.to_thread(entered.wait, WAIT)
        assert worker.is_running
    assert worker.abort_requested
    assert worker._state == "finished"


async def test_signals_attribute_is_the_worker_itself() -> None:
    worker = FunctionWorker(lambda: 3)
    got: list[int] = []
    worker.signals.returned.connect(got.append)
    assert worker.signals.returned is worker.returned
    await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert got == [3]


async def test_await_workers_quits_running_workers() -> None:
    entered = threading.Event()

    @thread_worker
    def forever() -> Generator[None, None, None]:
        entered.set()
        while True:
            yield

    worker = forever()
    worker.start()
    await asyncio.to_thread(entered.wait, WAIT)
    WorkerBase.await_workers(msecs=WAIT * 1000)
    assert worker.abort_requested
    await asyncio.wait_for(worker.finished, WAIT)
    await worker.aborted


def test_work_runs_synchronously_in_the_calling_thread() -> None:
    seen: list[Any] = []
    worker = FunctionWorker(lambda: threading.get_ident())
    worker.started.connect(lambda: seen.append("started"))
    worker.returned.connect(seen.append)
    worker.finished.connect(lambda: seen.append("finished"))
    assert worker.work() == threading.get_ident()
    assert seen == ["started", threading.get_ident(), "finished"]


@pytest.mark.parametrize("method", ["send", "pause", "resume", "toggle_pause"])
def test_generator_controls_on_a_function_worker_say_the_fix(method: str) -> None:
    worker = FunctionWorker(lambda: 1)
    with pytest.raises(TypeError, match="make it a generator"):
        getattr(worker, method)(*([1] if method == "send" else []))


async def test_started_connected_after_start_still_comes_first() -> None:
    worker = FunctionWorker(lambda: 1)
    worker.start()
    events = record_signals(worker)  # connected after start(), as superqt allows
    await asyncio.wait_for(worker.finished, WAIT)
    assert events == ["started", "returned", "finished"]


async def test_started_connected_while_the_result_is_already_queued() -> None:
    gate = threading.Event()
    worker = FunctionWorker(gate.wait, WAIT)
    worker.start()
    gate.set()
    # Block the loop (no await) while the function ends: its result is posted
    # home, or about to be, before anyone connects to ``started``.
    assert worker._thread_done.wait(WAIT)
    events = record_signals(worker)
    await asyncio.wait_for(worker.finished, WAIT)
    assert events == ["started", "returned", "finished"]


async def test_a_returned_callback_does_not_swallow_an_error(
    loop_errors: list[dict[str, Any]],
) -> None:
    shown: list[object] = []
    worker = FunctionWorker(lambda: 1 / 0)
    worker.returned.connect(shown.append)  # only interested in success
    worker.start()
    await asyncio.wait_for(worker.finished, WAIT)
    assert shown == []
    assert [type(e["exception"]) for e in loop_errors] == [ZeroDivisionError]


def test_started_before_the_loop_runs_delivers_once_it_does() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        worker = FunctionWorker(lambda: "late but delivered")
        got: list[str] = []
        worker.returned.connect(got.append)
        worker.start()  # no loop is running yet
        assert loop.run_until_complete(asyncio.wait_for(worker.returned, WAIT)) == (
            "late but delivered"
        )
        loop.run_until_complete(asyncio.wait_for(worker.finished, WAIT))
        assert got == ["late but delivered"]
    finally:
        loop.close()
        asyncio.set_event_loop(None)


async def test_quit_cancels_a_function_worker_still_queued() -> None:
    from threadworker import configure

    configure(max_threads=1)
    gate = threading.Event()
    ran: list[str] = []
    blocker = FunctionWorker(gate.wait, WAIT)
    queued = FunctionWorker(lambda: ran.append("ran"))
    events = record_signals(queued)
    blocker.start()
    queued.start()  # waits for the only thread
    await asyncio.wait_for(queued.quit(), WAIT)  # finished without running
    gate.set()
    await asyncio.wait_for(blocker.finished, WAIT)
    assert ran == []
    assert events == ["started", "aborted", "finished"]


def test_worker_base_is_constructible_without_a_function() -> None:
    from threadworker import WorkerBaseSignals

    worker: WorkerBase[Any] = WorkerBase()
    assert isinstance(worker, WorkerBaseSignals)
    assert worker.started is not None
    assert worker.returned is not None
    with pytest.raises(AttributeError):
        _ = worker.aa  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="without a function"):
        worker.start()
    with pytest.raises(TypeError, match="without a function"):
        worker.work()
    assert not worker.is_running


def test_signals_class_adds_the_signals_a_worker_lacks() -> None:
    from threadworker import GeneratorWorkerSignals, Signal, WorkerBaseSignals

    class Extra(WorkerBaseSignals[Any]):
        progressed: Signal[int] = Signal(nargs=1)

    worker = FunctionWorker(lambda: 1, SignalsClass=Extra)
    seen: list[int] = []
    extra: Any = worker
    extra.progressed.connect(seen.append)
    extra.progressed.emit(3)
    assert seen == [3]
    assert worker._kwargs == {}  # not passed on to the function
    plain: WorkerBase[Any] = WorkerBase(SignalsClass=WorkerBaseSignals)
    assert "progressed" not in vars(plain)
    assert issubclass(GeneratorWorkerSignals, WorkerBaseSignals)


@pytest.mark.parametrize("name", ["returned", "started", "finished"])
async def test_awaiting_a_signal_the_run_settles_starts_the_worker(name: str) -> None:
    worker = create_worker(lambda: 5)
    assert not worker.is_running
    await asyncio.wait_for(getattr(worker, name), WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert await worker.returned == 5


async def test_await_create_worker_returned_starts_it() -> None:
    # The README's promise, in one line.
    assert await asyncio.wait_for(create_worker(lambda: 6).returned, WAIT) == 6


@pytest.mark.parametrize("name", ["errored", "aborted", "warned"])
async def test_awaiting_a_dropped_unstarted_worker_raises_instead_of_hanging(name: str) -> None:
    with pytest.raises(WorkerFinishedError, match="never started"):
        await asyncio.wait_for(getattr(create_worker(lambda: 5), name), WAIT)


async def test_awaiting_errored_waits_for_a_later_start() -> None:
    worker = create_worker(lambda: 1 / 0)
    waiter = asyncio.ensure_future(worker.errored)
    await asyncio.sleep(0)  # the waiter is waiting: it did not start the worker
    assert not worker.is_running
    worker.start()
    assert isinstance(await asyncio.wait_for(waiter, WAIT), ZeroDivisionError)


# -- the home thread and the errored await, checked on their own (issue 12, item 18) --------


async def test_callbacks_run_on_the_home_thread_when_the_work_ends_after_start_returned() -> None:
    # The work waits until start() has returned: its outcome then arrives from
    # the worker thread, never inline in start() on the home thread.
    home = threading.get_ident()
    may_end = threading.Event()

    def work() -> int:
        assert may_end.wait(WAIT)
        return threading.get_ident()

    worker = FunctionWorker(work)
    seen: dict[str, int] = {}
    for name in ("started", "returned", "finished"):
        getattr(worker, name).connect(lambda *_, n=name: seen.setdefault(n, threading.get_ident()))
    worker.start()
    may_end.set()
    worker_thread = await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert worker_thread != home
    assert seen == dict.fromkeys(("started", "returned", "finished"), home)


async def test_errored_callbacks_run_on_the_home_thread() -> None:
    home = threading.get_ident()
    may_end = threading.Event()

    def work() -> None:
        assert may_end.wait(WAIT)
        raise ValueError("late")

    worker = FunctionWorker(work)
    seen: list[int] = []
    worker.errored.connect(lambda _: seen.append(threading.get_ident()))
    worker.finished.connect(lambda: seen.append(threading.get_ident()))
    worker.start()
    may_end.set()
    await asyncio.wait_for(worker.finished, WAIT)
    assert seen == [home, home]


@pytest.mark.parametrize("started_first", [False, True], ids=["await-starts", "started"])
async def test_await_worker_raises_the_exception_of_an_errored_worker(started_first: bool) -> None:
    may_end = threading.Event()

    def fail() -> None:
        assert may_end.wait(WAIT)
        raise ValueError("from the thread")

    worker = FunctionWorker(fail)
    errors: list[BaseException] = []
    worker.errored.connect(errors.append)
    if started_first:
        worker.start()
    waiting = asyncio.ensure_future(asyncio.wait_for(worker, WAIT))
    await asyncio.sleep(0)  # the await is under way before the work ends
    may_end.set()
    with pytest.raises(ValueError, match="from the thread") as info:
        await waiting
    assert errors == [info.value]  # the worker's own exception, not a copy
    assert "fail" in [f.co_name for f in _frames(info.value.__traceback__)]
    with pytest.raises(ValueError, match="from the thread"):  # latched: again at once
        await worker


# -- callables that make generators (issue 12, item 15) ---------------------------------------


def _numbers() -> Generator[int, None, str]:
    yield 1
    return "done"


@pytest.mark.filterwarnings("always::RuntimeWarning")
async def test_a_function_worker_whose_function_returns_a_generator_warns_with_the_fix() -> None:
    worker = FunctionWorker(lambda: _numbers())
    warned: list[str] = []
    worker.warned.connect(lambda w: warned.append(str(w[0])))
    result = await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert isinstance(result, Generator)
    assert len(warned) == 1
    assert "returned a generator" in warned[0]
    assert "yield from" in warned[0]  # the fix


def test_work_warns_too_when_the_function_returns_a_generator() -> None:
    worker = FunctionWorker(lambda: _numbers())
    errors: list[BaseException] = []
    worker.errored.connect(errors.append)
    worker.work()  # warnings are errors in this suite: the warning is the outcome
    assert [type(e) for e in errors] == [RuntimeWarning]


class _GeneratorCall:
    def __call__(self) -> Generator[int, None, str]:
        yield 1
        return "done"


@pytest.mark.parametrize(
    "func",
    [_GeneratorCall(), staticmethod(_numbers), functools.partial(_GeneratorCall())],
    ids=["__call__", "staticmethod", "partial of __call__"],
)
def test_a_function_worker_refuses_what_surely_makes_a_generator(func: Any) -> None:
    with pytest.raises(TypeError, match="use GeneratorWorker"):
        FunctionWorker(func)


def test_work_runs_once() -> None:
    worker = FunctionWorker(lambda: 1)
    assert worker.work() == 1
    with pytest.raises(RuntimeError, match="already started"):
        worker.work()


async def test_a_raising_callback_under_work_is_reported_to_the_running_loop(
    loop_errors: list[dict[str, Any]],
) -> None:
    # work() has no home: a callback's exception goes to the running loop.
    worker = FunctionWorker(lambda: 1)
    error = KeyError("callback bug")

    def raising(_: int) -> None:
        raise error

    worker.returned.connect(raising)
    assert worker.work() == 1
    assert [(e["exception"], e["worker"]) for e in loop_errors] == [(error, worker)]
    loop_errors.clear()


async def test_a_cancelled_queued_function_releases_its_thread_flag() -> None:
    from threadworker import configure

    configure(max_threads=1)
    gate = threading.Event()
    blocker = FunctionWorker(gate.wait, WAIT)
    queued = FunctionWorker(lambda: None)
    blocker.start()
    queued.start()
    queued.quit()
    assert queued._thread_done.is_set()  # it will never run: nothing to wait for
    gate.set()
    await asyncio.wait_for(blocker.finished, WAIT)
    await asyncio.wait_for(queued.finished, WAIT)


@pytest.mark.filterwarnings("always::UserWarning")
async def test_warned_callbacks_run_on_the_loop_thread() -> None:
    def warn() -> int:
        warnings.warn("careful", UserWarning, stacklevel=1)
        return 1

    worker = FunctionWorker(warn)
    threads: list[int] = []
    worker.warned.connect(lambda _: threads.append(threading.get_ident()))
    assert await asyncio.wait_for(worker, WAIT) == 1
    assert threads == [threading.get_ident()]
