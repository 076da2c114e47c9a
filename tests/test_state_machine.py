"""A hypothesis state machine: random interleavings of everything a user can do.

Each example makes one worker (a generator running a random script, or a
function), then applies random rules: start, pause, resume, toggle_pause,
send, quit, awaiting signals, (dis)connecting callbacks, callbacks that raise,
letting the loop run. After every step the signal order must hold; at
teardown every send is accounted for, every exception was delivered exactly
once, every awaitable resolved within a bound, and no thread outlived the
worker. Runs on plain asyncio and on qasync, and with the worker in a worker
process (``executor="process"``). ``--hypothesis-profile=long`` runs thousands
of examples.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Generator
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

from threadworker import FunctionWorker, GeneratorWorker, WorkerBase, WorkerFinishedError

BOUND = 10.0  # seconds: every await is bounded; reaching it fails the example
TERMINAL = ("returned", "errored", "aborted")
STEPS = st.lists(st.sampled_from(["yield", "yield", "yield", "sleep", "raise", "return"]))


class Planned(Exception):
    """An exception a worker raises on purpose."""


class WorkerMachine(RuleBasedStateMachine):
    loop_kind = "asyncio"

    def __init__(self) -> None:
        super().__init__()
        self.loop = _make_loop(self.loop_kind)
        self.reports: list[dict[str, Any]] = []
        self.loop.set_exception_handler(lambda loop, context: self.reports.append(context))
        self.worker: WorkerBase[Any] | None = None
        self.events: list[str] = []
        self.sent: list[tuple[int, Any]] = []  # (value, confirmation)
        self.received: list[int] = []  # by the generator, in its thread
        self.raised = 0  # by worker code
        self.errored_seen: list[BaseException] = []
        self.callback_raises = 0
        self.started = False
        self.quit_before_start = False
        self.handles_errors = True

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

    # -- setup -------------------------------------------------------------------
    @initialize(
        kind=st.sampled_from(["generator", "function"]),
        script=STEPS,
        handles_errors=st.booleans(),
    )
    def make_worker(self, kind: str, script: list[str], handles_errors: bool) -> None:
        machine = self

        def planned_failure() -> None:
            machine.raised += 1
            raise Planned("planned")

        def gen() -> Generator[int, Any, None]:
            for i, step in enumerate(script):
                if step == "yield":
                    value = yield i
                    if value is not None:
                        machine.received.append(value)
                elif step == "sleep":
                    time.sleep(0.001)
                elif step == "raise":
                    planned_failure()
                else:
                    return

        def function() -> int:
            for step in script:
                if step == "sleep":
                    time.sleep(0.001)
                elif step == "raise":
                    planned_failure()
            return 1

        worker: WorkerBase[Any] = (
            GeneratorWorker(gen) if kind == "generator" else FunctionWorker(function)
        )
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
            self.run(start())
        self.started = True

    @precondition(lambda self: self.generator is not None)
    @rule(kind=st.sampled_from(["pause", "resume", "toggle_pause"]))
    def flow(self, kind: str) -> None:
        assert self.generator is not None
        getattr(self.generator, kind)()

    @precondition(lambda self: self.generator is not None and self.started)
    @rule(value=st.integers(min_value=0, max_value=1000))
    def send(self, value: int) -> None:
        assert self.generator is not None
        self.sent.append((value, self.generator.send(value)))

    @rule()
    def quit(self) -> None:
        assert self.worker is not None
        self.quit_before_start = self.quit_before_start or not self.started
        self.worker.quit()

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

    @precondition(lambda self: self.generator is not None)
    @rule()
    def connect_a_raising_callback(self) -> None:
        assert self.generator is not None

        def raising(_: int) -> None:
            self.callback_raises += 1
            raise KeyError("a callback bug")

        self.generator.yielded.connect(raising)

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
        _check_order(self.events, complete=False)

    def _collect(self) -> None:
        """Gather what the worker's code recorded elsewhere (a process variant)."""

    def teardown(self) -> None:
        try:
            worker = self.worker
            if worker is None:
                return
            self.run(worker.quit())  # finished, whatever state it was in
            self.run(worker.finished)
            self.spin()
            self._collect()
            _check_order(self.events, complete=True)
            assert self.events.count("finished") == 1
            # Every send received exactly once, in order — or reported undelivered.
            delivered = []
            for value, confirmation in self.sent:
                try:
                    self.run(confirmation)
                except WorkerFinishedError:
                    continue
                delivered.append(value)
            assert self.received == delivered
            # Every exception raised in the worker delivered exactly once.
            worker_reports = [r for r in self.reports if r.get("worker") is worker]
            callback_reports = [r for r in worker_reports if "callback" in r["message"]]
            unhandled = [r for r in worker_reports if "Unhandled exception" in r["message"]]
            if self.handles_errors:
                assert len(self.errored_seen) == self.raised
                assert unhandled == []
            else:
                assert len(unhandled) == self.raised
            assert self.raised <= 1
            assert len(callback_reports) == self.callback_raises
            # No thread outlives its worker.
            assert worker._thread_done.wait(BOUND)
        finally:
            self.loop.close()
            asyncio.set_event_loop(None)
        leftover = [t for t in threading.enumerate() if t.name.startswith("threadworker-")]
        for thread in leftover:
            thread.join(BOUND)
        assert not any(t.is_alive() for t in leftover)


def _check_order(events: list[str], *, complete: bool) -> None:
    terminal = [e for e in events if e in TERMINAL]
    assert len(terminal) <= 1, events
    assert events.count("started") <= 1, events
    if "started" in events:
        assert events[0] == "started", events
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


async def _as_future(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _make_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "asyncio":
        loop = asyncio.new_event_loop()
    else:
        import qasync
        from qtpy.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])
        loop = qasync.QEventLoop(app)
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
        script=STEPS,
        handles_errors=st.booleans(),
    )
    def make_worker(self, kind: str, script: list[str], handles_errors: bool) -> None:
        import tempfile

        import process_jobs as jobs
        from threadworker import configure, create_worker

        configure(terminate_after=BOUND)  # a quit lands at a yield: never a kill
        handle, self.log = tempfile.mkstemp(prefix="threadworker-machine-")
        os.close(handle)
        function = jobs.scripted if kind == "generator" else jobs.scripted_function
        worker: WorkerBase[Any] = create_worker(function, script, self.log, _executor="process")
        self._watch(worker, handles_errors)

    def _collect(self) -> None:
        with open(self.log) as log:
            lines = log.read().splitlines()
        os.unlink(self.log)
        self.received = [int(line.split()[1]) for line in lines if line.startswith("received")]
        self.raised = lines.count("raised")


TestWorkerMachineAsyncio = WorkerMachine.TestCase
TestWorkerMachineQasync = QasyncWorkerMachine.TestCase
# Each example starts a worker process: the long profile runs a tenth of its
# examples here (the ci profile's 40 take about two seconds).
TestWorkerMachineProcess = ProcessWorkerMachine.TestCase
_profile = settings.default
TestWorkerMachineProcess.settings = settings(
    max_examples=max(40, (_profile.max_examples if _profile is not None else 0) // 10)
)
