"""A hypothesis state machine: random interleavings of everything a user can do.

Each example makes one worker (a generator running a random script, or a
function; in threadworker's threads or a thread executor), then applies random
rules: start (by ``start()``, or by awaiting the worker, ``started``,
``returned`` or ``finished``, or by ``async with``), pause, resume,
toggle_pause, send, quit — from the home thread or from other threads while
the home delivers —, awaiting signals on the home loop and on a loop in
another thread, (dis)connecting callbacks, callbacks that raise, letting the
loop run. Faults come from ``faults.py``: callbacks raising ``Exception`` or
``BaseException`` subclasses, worker code raising a ``BaseException``,
executors that refuse work, worker processes that die or produce values that
cannot cross.

After every step the signal order must hold; at teardown every send is
accounted for (received exactly once, in each sender's order, or reported
undelivered), every exception was delivered exactly once, every awaitable —
on whichever loop — resolved with what the outcome says, and no thread
outlived the worker. Runs on plain asyncio and on qasync, and with the worker
in a worker process (``executor="process"``). ``make stress`` runs the long
profile (``--hypothesis-profile=long``: thousands of examples).

Rules that expose bugs listed in issue #12 and not fixed yet are off by
default (``faults.KNOWN_BUGS``; ``THREADWORKER_MACHINE_ITEMS=4`` turns one on).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import faults
from threadworker import (
    FunctionWorker,
    GeneratorWorker,
    WorkerAborted,
    WorkerBase,
    WorkerFinishedError,
    WorkerProcessDied,
)
from threadworker._latch import Latch

BOUND = 10.0  # seconds: every await is bounded; reaching it fails the example
TERMINAL = ("returned", "errored", "aborted")
_WORK_STEPS = ["yield", "yield", "yield", "sleep", "raise", "raise_base", "return"]
STEPS = st.lists(st.sampled_from(_WORK_STEPS))
CONTROLS = ["pause", "resume", "toggle_pause", "send", "quit"]
ONE_SHOT = ["started", "returned", "errored", "aborted", "finished"]


class Planned(Exception):
    """An exception a worker raises on purpose."""


class OtherLoop:
    """An asyncio loop running in a thread of its own, to await from afar."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.set_debug(True)  # a non-thread-safe wake-up raises here
        self.reports: list[dict[str, Any]] = []
        self.loop.set_exception_handler(lambda loop, context: self.reports.append(context))
        self.thread = threading.Thread(target=self.loop.run_forever, name="machine-other-loop")
        self.thread.start()

    def submit(self, awaitable: Awaitable[Any]) -> concurrent.futures.Future[Any]:
        """Await *awaitable* there; return once it is suspended on it."""
        suspended = threading.Event()

        async def wait() -> Any:
            task = asyncio.ensure_future(_as_future(awaitable))
            await asyncio.sleep(0)  # the task has run up to its first suspension
            suspended.set()
            return await asyncio.wait_for(task, BOUND)

        future = asyncio.run_coroutine_threadsafe(wait(), self.loop)
        assert suspended.wait(BOUND), "the other loop did not run"
        return future

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(BOUND)
        assert not self.thread.is_alive()
        self.loop.close()


class WorkerMachine(RuleBasedStateMachine):
    loop_kind = "asyncio"

    def __init__(self) -> None:
        super().__init__()
        self.loop = _make_loop(self.loop_kind)
        self.reports: list[dict[str, Any]] = []
        self.loop.set_exception_handler(lambda loop, context: self.reports.append(context))
        self.worker: WorkerBase[Any] | None = None
        self.events: list[str] = []
        self.lock = threading.Lock()  # for what control threads record
        self.next_value = 0
        self.sent: list[tuple[str, int, Latch[None]]] = []  # (sender, value, confirmation)
        self.received: list[int] = []  # by the generator, in its thread
        self.raised = 0  # by worker code
        self.errored_seen: list[BaseException] = []
        self.callback_raises = 0  # Exceptions raised by callbacks: each one reported
        # ... of those, raised with no loop running in their thread (a quit before
        # start from another thread emits there): reported to sys.excepthook.
        self.hook_raises = 0
        self.hook_reports: list[BaseException] = []
        self.excepthook = sys.excepthook
        sys.excepthook = lambda kind, exc, tb: self.hook_reports.append(exc)
        # BaseExceptions raised by callbacks, by emission (signal, events so far).
        self.base_raised: dict[tuple[str, int], list[BaseException]] = {}
        self.direct_base_raises: list[BaseException] = []  # propagated to a caller
        self.started = False  # by start(), or by awaiting what runs it
        self.quit_before_start = False
        self.handles_errors = True
        self.error_awaited = False  # an awaiter of returned/errored was pending
        self.errored_connected = False  # a raising callback listens to errored
        self.latches: list[Latch[None]] = []  # every control awaitable handed out
        self.other: OtherLoop | None = None
        self.remote: list[tuple[str, int, concurrent.futures.Future[Any]]] = []
        self.home_awaits: list[tuple[str, int, asyncio.Future[Any]]] = []
        self.executor: concurrent.futures.ThreadPoolExecutor | None = None
        self.may_quit = True  # False: only teardown quits, so the work must end by itself
        # A worker process died: a value it received just before may not be confirmed.
        self.confirmations_may_die = False

    # -- helpers -----------------------------------------------------------------
    def run(self, awaitable: Awaitable[Any], bound: float = BOUND) -> Any:
        async def bounded() -> Any:
            return await asyncio.wait_for(_as_future(awaitable), bound)

        return self.loop.run_until_complete(bounded())

    def spin(self) -> None:
        self.loop.run_until_complete(asyncio.sleep(0.001))

    @property
    def generator(self) -> GeneratorWorker[int, int, None] | None:
        return self.worker if isinstance(self.worker, GeneratorWorker) else None

    def _control(self, kind: str, sender: str) -> None:
        """Apply one control call (any thread), keeping the books."""
        assert self.worker is not None
        if kind == "quit":
            try:
                self.latches.append(self.worker.quit())
            except faults.CallbackBaseFault as exc:
                # Quit before start finishes right here: a callback's
                # BaseException propagates to the caller, as Python would.
                with self.lock:
                    self.direct_base_raises.append(exc)
            return
        generator = self.generator
        if generator is None:
            with pytest.raises(TypeError, match="needs a generator worker"):
                getattr(self.worker, kind)(*([0] if kind == "send" else []))
            return
        if kind == "send":
            with self.lock:  # the value and its place in the books, together
                value = self.next_value
                self.next_value += 1
                self.sent.append((sender, value, generator.send(value)))
            return
        self.latches.append(getattr(generator, kind)())

    # -- setup -------------------------------------------------------------------
    @initialize(
        kind=st.sampled_from(["generator", "function"]),
        script=STEPS,
        handles_errors=st.booleans(),
        executor=st.sampled_from(faults.executors()),
        may_quit=st.booleans(),
    )
    def make_worker(
        self, kind: str, script: list[str], handles_errors: bool, executor: str, may_quit: bool
    ) -> None:
        machine = self
        self.may_quit = may_quit

        def planned_failure(step: str) -> None:
            machine.raised += 1
            raise Planned("planned") if step == "raise" else faults.WorkBaseFault("planned")

        def gen() -> Generator[int, Any, None]:
            for i, step in enumerate(script):
                if step == "yield":
                    value = yield i
                    if value is not None:
                        machine.received.append(value)
                elif step == "sleep":
                    time.sleep(0.001)
                elif step.startswith("raise"):
                    planned_failure(step)
                else:
                    return

        def function() -> int:
            for step in script:
                if step == "sleep":
                    time.sleep(0.001)
                elif step.startswith("raise"):
                    planned_failure(step)
            return 1

        worker: WorkerBase[Any] = (
            GeneratorWorker(gen) if kind == "generator" else FunctionWorker(function)
        )
        self.executor = faults.make_executor(executor)
        if self.executor is not None:
            worker._use_executor(self.executor)
        self._watch(worker, handles_errors)

    def _watch(self, worker: WorkerBase[Any], handles_errors: bool) -> None:
        for name in ("started", "aborted", "returned"):
            getattr(worker, name).connect(lambda *_, n=name: self.events.append(n))
        if isinstance(worker, GeneratorWorker):
            for name in ("yielded", "paused", "resumed"):
                getattr(worker, name).connect(lambda *_, n=name: self.events.append(n))
        self.handles_errors = handles_errors
        if handles_errors:  # a connected callback is what handles an error
            worker.errored.connect(self.errored_seen.append)
            worker.errored.connect(lambda _: self.events.append("errored"))

        def finished() -> None:
            if not handles_errors and "errored" in worker._fired:
                self.events.append("errored")  # emitted with no callback to see it
            self.events.append("finished")

        worker.finished.connect(finished)
        self.worker = worker

    # -- rules ---------------------------------------------------------------------
    @precondition(lambda self: not self.started)
    @rule()
    def start(self) -> None:
        assert self.worker is not None
        worker = self.worker

        async def start() -> None:
            worker.start()

        if self.quit_before_start:  # it finished without running: once is all
            with pytest.raises(RuntimeError, match="a worker runs once"):
                self.run(start())
        else:
            # Never raises, also when the executor refuses the work: the
            # worker then ends errored (see _check_errors).
            self.run(start())
            with pytest.raises(RuntimeError, match="a worker runs once"):
                self.run(start())  # twice is a mistake, said at once
        self.started = True

    @precondition(lambda self: not self.started)
    @rule(how=st.sampled_from(["await", "started", "returned", "finished", "async with"]))
    def start_by_awaiting(self, how: str) -> None:
        """Awaiting the worker or what runs it starts it, unless it already finished."""
        assert self.worker is not None
        worker = self.worker
        if how == "async with" and not self.may_quit:
            how = "await"  # leaving the block quits the worker
        finished_before = worker._state == "finished"

        async def in_a_block() -> None:
            async with worker as same:
                assert same is worker
                await asyncio.sleep(0)

        async def suspended() -> asyncio.Future[Any]:
            awaitable: Awaitable[Any] = (
                worker
                if how == "await"
                else in_a_block()
                if how == "async with"
                else getattr(worker, how)
            )
            task = asyncio.ensure_future(_as_future(awaitable))
            await asyncio.sleep(0)  # the task has run up to its first suspension
            return task

        task = self.run(suspended())
        # It started now (even if it already finished: a quit before start).
        assert worker._state != "created"
        self.home_awaits.append((how, len(self.events), task))
        if how in ("await", "returned") and not finished_before:
            self.error_awaited = True  # an error now reaches that awaiter: handled
        self.started = True
        with pytest.raises(RuntimeError, match="a worker runs once"):
            worker.start()  # it was started (or has finished): start() refuses

    @precondition(lambda self: not self.started and self.may_quit and faults.allowed(10))
    @rule()
    def start_while_another_thread_quits(self) -> None:
        """Item 10: start() on the home thread racing quit() from another thread."""
        assert self.worker is not None
        worker = self.worker
        barrier = threading.Barrier(2)

        def quit_soon() -> None:
            barrier.wait(BOUND)
            self._control("quit", "thread-0")  # first: finished right there, in this thread

        async def start() -> None:
            barrier.wait(BOUND)
            try:
                worker.start()
            except RuntimeError:  # the quit came first: it finished without running
                self.quit_before_start = True

        self._in_threads([quit_soon], start())
        self.started = True

    def _at_home(self, kind: str) -> None:
        """A control call from a coroutine on the home loop, as an app makes it."""

        async def call() -> None:
            self._control(kind, "home")

        self.run(call())

    @precondition(lambda self: self.generator is not None)
    @rule(kind=st.sampled_from(["pause", "resume", "toggle_pause"]))
    def flow(self, kind: str) -> None:
        self._at_home(kind)

    @precondition(lambda self: self.generator is not None and self.started)
    @rule()
    def send(self) -> None:
        self._at_home("send")

    @precondition(lambda self: self.may_quit)
    @rule()
    def quit(self) -> None:
        assert self.worker is not None
        self.quit_before_start = self.quit_before_start or not self.started
        self._at_home("quit")

    @precondition(lambda self: self.started)
    @rule(
        calls=st.lists(st.sampled_from(CONTROLS), min_size=1, max_size=8),
        threads=st.integers(1, 3 if faults.allowed(11) else 1),
    )
    def control_from_threads(self, calls: list[str], threads: int) -> None:
        """Control calls from *threads* other threads at once, while the home delivers."""
        if not self.may_quit:
            calls = [kind for kind in calls if kind != "quit"]
        shares = [calls[i::threads] for i in range(threads)]

        def job(share: list[str], sender: str) -> Callable[[], None]:
            def calls_in_order() -> None:
                for kind in share:
                    self._control(kind, sender)

            return calls_in_order

        self._in_threads([job(share, f"thread-{i}") for i, share in enumerate(shares)])

    def _in_threads(
        self, jobs: list[Callable[[], None]], home: Awaitable[Any] | None = None
    ) -> None:
        """Run *jobs* in threads of their own, released together, while the loop runs."""
        loop = self.loop
        barrier = threading.Barrier(len(jobs))
        failures: list[BaseException] = []

        async def together() -> None:
            done = [loop.create_future() for _ in jobs]

            def body(job: Callable[[], None], future: asyncio.Future[None]) -> None:
                try:
                    barrier.wait(BOUND)
                    job()
                except BaseException as exc:
                    failures.append(exc)
                finally:
                    loop.call_soon_threadsafe(future.set_result, None)

            threads = [
                threading.Thread(target=body, args=pair, name="machine-control")
                for pair in zip(jobs, done, strict=True)
            ]
            for thread in threads:
                thread.start()
            if home is not None:
                await home
            await asyncio.gather(*done)
            for thread in threads:
                thread.join(BOUND)

        interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # switch threads often: races show
        try:
            self.run(together())
        finally:
            sys.setswitchinterval(interval)
        if failures:
            raise failures[0]

    @rule()
    def let_the_loop_run(self) -> None:
        self.spin()

    @precondition(lambda self: self.generator is not None and self.started)
    @rule()
    def await_next_value(self) -> None:
        assert self.generator is not None
        try:
            self.run(self.generator.yielded, bound=0.05)
        except (TimeoutError, WorkerFinishedError):
            pass  # it may be paused, or done: the wait was bounded either way

    @precondition(lambda self: self.worker is not None)
    @rule(data=st.data())
    def await_from_another_loop(self, data: st.DataObject) -> None:
        """Await a signal on a loop in another thread; checked at teardown."""
        assert self.worker is not None
        names = ONE_SHOT + (["yielded", "paused", "resumed"] if self.generator else [])
        if self.worker._state == "created":
            # Awaiting these would start it there, with that loop as its home:
            # starting by awaiting is start_by_awaiting's, on the home loop.
            names = [n for n in names if n not in ("started", "returned", "finished")]
        name = data.draw(st.sampled_from(names))
        signal = getattr(self.worker, name)  # made here, on the home thread
        if self.other is None:
            self.other = OtherLoop()
        pending = self.worker._state != "finished"
        self.remote.append((name, len(self.events), self.other.submit(signal)))
        if name in ("returned", "errored") and pending:
            self.error_awaited = True  # an error now reaches that awaiter: handled

    @precondition(lambda self: self.generator is not None and faults.allowed(4))
    @rule()
    def iterate_from_another_loop(self) -> None:
        """Item 4: ``async for`` over the worker's values from another loop."""
        assert self.generator is not None
        if self.other is None:
            self.other = OtherLoop()
        signal = self.generator.yielded

        async def first_values() -> list[int]:
            got: list[int] = []
            async for value in signal:
                got.append(value)
                if len(got) == 3:
                    break
            return got

        self.remote.append(("iterate", len(self.events), self.other.submit(first_values())))

    @precondition(lambda self: self.worker is not None)
    @rule(
        name=st.sampled_from(["yielded", "started", "errored", "finished", "aborted", "paused"]),
        fault=st.sampled_from(faults.callback_faults()),
    )
    def connect_a_raising_callback(self, name: str, fault: type[BaseException]) -> None:
        assert self.worker is not None
        if not hasattr(self.worker, name):
            name = "finished"  # a function worker has no yielded/paused

        def raising(*_: object) -> None:
            exc = fault("a callback bug")
            if isinstance(exc, Exception):
                with self.lock:
                    self.callback_raises += 1
                    self.hook_raises += not _loop_running()
            else:  # the emission's other callbacks still run; then the first propagates
                self.base_raised.setdefault((name, len(self.events)), []).append(exc)
            raise exc

        getattr(self.worker, name).connect(raising)
        if name == "errored" and self.worker._state != "finished":
            self.errored_connected = True  # a receiver: errors count as handled

    @precondition(lambda self: self.generator is not None)
    @rule()
    def connect_and_disconnect(self) -> None:
        assert self.generator is not None
        seen: list[int] = []
        self.generator.yielded.connect(seen.append)
        self.generator.yielded.disconnect(seen.append)

    # -- checks --------------------------------------------------------------------
    @invariant()
    def signal_order_holds(self) -> None:
        _check_order(self.events, complete=False, refused=bool(self._refused()))

    @invariant()
    def paused_between_paused_and_resumed(self) -> None:
        """``is_paused`` is true from the delivered ``paused`` until ``resumed``, only."""
        if self.generator is not None:
            flow = [e for e in self.events if e in ("paused", "resumed")]
            assert self.generator.is_paused == (flow[-1:] == ["paused"]), self.events

    def _collect(self) -> None:
        """Gather what the worker's code recorded elsewhere (a process variant)."""

    def teardown(self) -> None:
        try:
            worker = self.worker
            if worker is None:
                return
            if self.started and not worker.abort_requested:
                # Never quit: a finite script must end by itself, not by a quit.
                # Resumed even if not paused yet: a pause may be on its way.
                if self.generator is not None:
                    self._at_home("resume")
                self.run(worker.finished)
                assert "aborted" not in worker._fired
            self._at_home("quit")  # finished, whatever state it was in
            self.run(worker.finished)
            self.spin()
            self._collect()
            _check_order(self.events, complete=True, refused=bool(self._refused()))
            assert self.events.count("finished") == 1
            self._check_sends()
            self._check_errors(worker)
            assert all(latch.done() for latch in self.latches), "a control awaitable hangs"
            self._check_remote(worker)
            self._check_home_awaits(worker)
            # No thread outlives its worker.
            assert worker._thread_done.wait(BOUND)
        finally:
            if self.other is not None:
                self.other.close()
            if self.executor is not None:
                self.executor.shutdown(wait=False)
                for thread in list(self.executor._threads):
                    thread.join(BOUND)
                    assert not thread.is_alive(), "an executor thread outlived its worker"
            self.loop.close()
            asyncio.set_event_loop(None)
            sys.excepthook = self.excepthook
        leftover = [t for t in threading.enumerate() if t.name.startswith("threadworker-")]
        for thread in leftover:
            thread.join(BOUND)
        assert not any(t.is_alive() for t in leftover)

    def _check_sends(self) -> None:
        """Every send received exactly once, in its sender's order — or reported undelivered."""
        delivered: list[tuple[str, int]] = []
        for sender, value, confirmation in self.sent:
            try:
                self.run(confirmation)
            except WorkerFinishedError:
                continue
            delivered.append((sender, value))
        confirmed = sorted(value for _, value in delivered)
        if self.confirmations_may_die:  # received once each; every confirmed one among them
            assert len(set(self.received)) == len(self.received), self.received
            assert set(self.received) <= {value for _, value, _ in self.sent}
            assert set(confirmed) <= set(self.received)
        else:
            assert sorted(self.received) == confirmed
        for sender in {s for s, _ in delivered}:
            mine = [value for s, value in delivered if s == sender]
            assert [value for value in self.received if value in mine] == mine

    def _check_errors(self, worker: WorkerBase[Any]) -> None:
        """Every exception raised in the worker delivered exactly once."""
        worker_reports = [r for r in self.reports if r.get("worker") is worker]
        callback_reports = [r for r in worker_reports if "callback" in r["message"]]
        unhandled = [r for r in worker_reports if "Unhandled exception" in r["message"]]
        expected = self.raised + self._refused()
        if self.handles_errors:
            assert len(self.errored_seen) == expected
        if self._refused():
            error = worker._fired["errored"]
            assert isinstance(error, RuntimeError), error
            assert "could not start" in str(error)
            assert "its executor (ThreadPoolExecutor) refused the work" in str(error)
            assert isinstance(error.__cause__, RuntimeError)  # the executor's own
            assert "started" not in worker._fired
        if self.handles_errors or self.error_awaited or self.errored_connected:
            assert unhandled == []
        else:
            assert len(unhandled) == expected
        assert expected <= 1
        assert len(callback_reports) == self.callback_raises - self.hook_raises
        assert len(self.hook_reports) == self.hook_raises
        assert all(isinstance(exc, faults.CallbackFault) for exc in self.hook_reports)
        self._check_base_callback_raises()

    def _refused(self) -> int:
        """1 if an executor refused the work: it then ends errored, never started."""
        refusing = self.executor is not None and self.executor._shutdown
        return int(refusing and self.started and not self.quit_before_start)

    def _check_base_callback_raises(self) -> None:
        """A callback's BaseException propagates, as Python would, once per emission.

        It reaches the loop's handler (raised from a delivery the loop ran) or
        the caller (a quit before start emits right there); the first of an
        emission propagates, maybe as the context of a later one (``finished``
        is emitted from a ``finally``). None reaches the worker's own report.
        """
        propagated = [
            r["exception"]
            for r in self.reports
            if isinstance(r.get("exception"), faults.CallbackBaseFault)
            and r.get("worker") is not self.worker
        ] + self.direct_base_raises
        seen: list[BaseException] = []
        for exc in propagated:
            chained: BaseException | None = exc
            while chained is not None:
                seen.append(chained)
                chained = chained.__context__
        for emission, raised in self.base_raised.items():
            assert any(raised[0] is exc for exc in seen), (emission, propagated)
        everything = [exc for raised in self.base_raised.values() for exc in raised]
        assert all(any(exc is mine for mine in everything) for exc in propagated)

    def _check_remote(self, worker: WorkerBase[Any]) -> None:
        """What each await on the other loop got agrees with the outcome."""
        fired = worker._fired
        outcome = next(o for o in TERMINAL if o in fired)
        for name, seen, future in self.remote:
            try:
                value: Any = future.result(BOUND)
            except concurrent.futures.TimeoutError:
                raise AssertionError(f"an await of {name} on another loop hangs") from None
            except BaseException as exc:
                value = exc
            if name == "iterate":
                assert isinstance(value, list)
            elif name in ONE_SHOT and name in fired:
                expected = fired[name]
                assert value is expected or value == expected, (name, value)
            elif name == "returned":
                if outcome == "errored":
                    assert value is fired["errored"]
                else:
                    assert isinstance(value, WorkerAborted)
            elif name in ONE_SHOT or name not in self.events[seen:]:
                assert isinstance(value, WorkerFinishedError), (name, value)
            else:  # a repeating signal emitted after the await began
                assert not isinstance(value, BaseException), (name, value)
        if self.other is not None:
            assert self.other.reports == []

    def _check_home_awaits(self, worker: WorkerBase[Any]) -> None:
        """What each await that started the worker got agrees with the outcome."""
        fired = worker._fired
        for how, _, task in self.home_awaits:
            try:
                value: Any = self.run(task)
            except BaseException as exc:
                value = exc
            if how == "async with":
                assert value is None, value  # the block quit it and waited for it
            elif how in ("await", "returned"):
                if "returned" in fired:
                    assert value is fired["returned"] or value == fired["returned"]
                elif "errored" in fired:
                    assert value is fired["errored"]
                else:
                    assert isinstance(value, WorkerAborted), value
            elif how in fired:
                assert value is None, value
            else:  # ``started``, never emitted: refused, or quit before start
                assert isinstance(value, WorkerFinishedError), (how, value)


def _check_order(events: list[str], *, complete: bool, refused: bool = False) -> None:
    terminal = [e for e in events if e in TERMINAL]
    assert len(terminal) <= 1, events
    assert events.count("started") <= 1, events
    if "started" in events:
        assert events[0] == "started", events
    elif refused:  # its executor refused the work: errored, and nothing else
        assert set(events) <= {"errored", "finished"}, events
    else:  # only a worker quit before it started emits nothing else
        assert set(events) <= {"aborted", "finished"}, events
    if terminal:
        after = events[events.index(terminal[0]) + 1 :]
        assert after in ([], ["finished"]), events
    if "finished" in events:
        assert events[-1] == "finished", events
        assert len(terminal) == 1, events
    if complete:
        assert events[-1:] == ["finished"], events


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _as_future(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _make_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "asyncio":
        loop = asyncio.new_event_loop()
    else:
        from qt_loops import new_qasync_loop

        loop = new_qasync_loop()
    asyncio.set_event_loop(loop)
    return loop


class QasyncWorkerMachine(WorkerMachine):
    loop_kind = "qasync"


class ProcessWorkerMachine(WorkerMachine):
    """The same rules with the worker in a worker process.

    Its code cannot append to the machine's lists from there: it logs what it
    received and raised to a file, read once the worker has finished.
    """

    @initialize(
        kind=st.sampled_from(["generator", "function"]),
        script=st.lists(st.sampled_from([*_WORK_STEPS[:-2], *faults.PROCESS_STEPS, "return"])),
        handles_errors=st.booleans(),
        executor=st.just("process"),
        may_quit=st.booleans(),
    )
    def make_worker(
        self, kind: str, script: list[str], handles_errors: bool, executor: str, may_quit: bool
    ) -> None:
        import tempfile

        self.may_quit = may_quit
        if "unpicklable" in script:
            # The generator runs on past a value that cannot cross (see
            # test_a_process_generator_stops_at_a_value_that_cannot_be_sent): end there.
            script = script[: script.index("unpicklable") + 1]
        import process_jobs as jobs
        from threadworker import configure, create_worker

        configure(terminate_after=BOUND)  # a quit lands at a yield: never a kill
        handle, self.log = tempfile.mkstemp(prefix="threadworker-machine-")
        os.close(handle)
        function: Callable[..., Any] = (
            jobs.scripted if kind == "generator" else jobs.scripted_function
        )
        assert executor == "process"
        worker: WorkerBase[Any] = create_worker(function, script, self.log, _executor="process")
        self._watch(worker, handles_errors)

    def _collect(self) -> None:
        import process_jobs as jobs

        assert self.worker is not None
        with open(self.log) as log:
            lines = log.read().splitlines()
        os.unlink(self.log)
        self.received = [int(line.split()[1]) for line in lines if line.startswith("received")]
        fired = self.worker._fired
        reached = set(lines) & set(faults.PROCESS_STEPS)
        # The process dies right after it received a value: its confirmation
        # is lost with it (the send is reported undelivered).
        self.confirmations_may_die = "die" in reached
        # One error ends the work. The generator steps ahead of what is sent
        # home: it may yield a value that cannot cross, then raise or die, so
        # several may be logged; the outcome is one of them, unless a quit
        # got there first.
        causes = tuple(
            {"die": WorkerProcessDied, "unpicklable": TypeError}.get(fault, Exception)
            for fault in reached
        ) + ((jobs.Planned,) if "raised" in lines else ())
        if "errored" in fired:
            assert isinstance(fired["errored"], causes), (lines, fired["errored"])
            self.raised = 1
        else:
            assert not causes or "aborted" in fired, (lines, fired)
            assert not causes or self.worker.abort_requested
            self.raised = 0


TestWorkerMachineAsyncio = WorkerMachine.TestCase
TestWorkerMachineQasync = QasyncWorkerMachine.TestCase
# Each example starts a worker process: the long profile runs a tenth of its
# examples here (the ci profile's 40 take about two seconds).
TestWorkerMachineProcess = ProcessWorkerMachine.TestCase
_profile = settings.default
TestWorkerMachineProcess.settings = settings(
    max_examples=max(40, (_profile.max_examples if _profile is not None else 0) // 10)
)


# -- what the machine found, reduced to deterministic tests --------------------------


async def test_posted_calls_survive_a_base_exception_raised_by_an_earlier_one(
    loop_errors: list[dict[str, Any]],
) -> None:
    from threadworker._dispatch import AsyncioDispatcher

    dispatcher = AsyncioDispatcher(asyncio.get_running_loop())
    ran = asyncio.Event()

    def raising() -> None:
        raise faults.CallbackBaseFault("a callback bug")

    dispatcher.post(raising)
    dispatcher.post(ran.set)  # queued behind it, in the same batch
    await asyncio.wait_for(ran.wait(), 2)
    later = asyncio.Event()
    dispatcher.post(later.set)  # a later batch
    await asyncio.wait_for(later.wait(), 2)
    assert any(isinstance(e.get("exception"), faults.CallbackBaseFault) for e in loop_errors)
    loop_errors.clear()


async def test_a_process_generator_stops_at_a_value_that_cannot_be_sent(tmp_path: Any) -> None:
    import process_jobs as jobs
    from threadworker import create_worker

    log = tmp_path / "log"
    worker = create_worker(jobs.scripted, ["unpicklable", "raise"], str(log), _executor="process")
    with pytest.raises(TypeError, match="could not send a yielded value"):
        await asyncio.wait_for(worker, BOUND)
    assert log.read_text().split() == ["unpicklable"]  # the raise step never ran
