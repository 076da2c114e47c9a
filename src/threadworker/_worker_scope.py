"""One home's workers: its thread pool, its process pool, its running workers, its end.

A :class:`WorkerScope` keeps a started worker alive while nobody else holds
it, runs the calls worker code waits on at home (``run_in_main_thread``),
and ends with its home: it asks every running worker to quit, waits a
bounded time, and warns about any it had to abandon. Which scope serves the
calling code is ``_scope``'s business.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ._dispatch import Dispatcher
from ._pool import ThreadPool
from ._sizes import DEFAULT_MAX_BYTES_IN_FLIGHT

if TYPE_CHECKING:
    from ._process_pool import ProcessPool
    from ._worker import WorkerBase

__all__ = [
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "DEFAULT_TERMINATE_AFTER",
    "HomeCall",
    "WorkerScope",
    "default_max_threads",
]


DEFAULT_SHUTDOWN_TIMEOUT = 5.0


DEFAULT_TERMINATE_AFTER = 1.0


class HomeCall(Protocol):
    """A call worker code waits on (``run_in_main_thread``), to run at home."""

    def run(self, *, blocked: bool = False) -> None:
        """Run it (home thread); *blocked*: the home is waiting for workers."""

    def fail(self, exc: BaseException) -> None:
        """Give up on it: the waiting worker gets *exc* (any thread)."""


def default_max_threads() -> int:
    """How many function workers run at once by default: one per core.

    Like Qt's pool (``QThread.idealThreadCount()``) and unlike asyncio's
    (``cpu_count + 4``): pure-Python workers share the GIL, and every extra
    runnable thread lengthens the GUI thread's waits for it. I/O-bound
    workers can ask for more with :func:`configure`.
    """
    return max(2, os.cpu_count() or 1)


class WorkerScope:
    """The workers, pool and shutdown of one home."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.max_threads = default_max_threads()
        self.shutdown_timeout = DEFAULT_SHUTDOWN_TIMEOUT
        self.max_processes = default_max_threads()
        self.terminate_after = DEFAULT_TERMINATE_AFTER
        self.max_bytes_in_flight = DEFAULT_MAX_BYTES_IN_FLIGHT
        self.shared_memory = True  # big buffers to and from worker processes (issue 16)
        self.closed = False
        self._pool: ThreadPool | None = None
        self._process_pool: ProcessPool | None = None
        self._active: set[WorkerBase[Any]] = set()
        self._lock = threading.Lock()
        # Other things to end with the home (QThreads of new_worker_qthread):
        # key -> a callable that ends it within a timeout.
        self._extras: dict[object, Callable[[float], None]] = {}
        # Calls workers wait on (run_in_main_thread) that have not run yet: a
        # home blocked waiting for workers runs them, so neither waits for ever.
        self._home_calls: list[HomeCall] = []
        self._home_wake = threading.Condition(threading.Lock())

    @property
    def pool(self) -> ThreadPool:
        """The pool function workers run on, made on first use."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPool(self.max_threads)
            return self._pool

    @property
    def process_pool(self) -> ProcessPool:
        """The worker processes of ``executor="process"``, made on first use."""
        with self._lock:
            if self._process_pool is None:
                from ._process_pool import ProcessPool  # multiprocessing only when used

                self._process_pool = ProcessPool(self.max_processes)
                self._process_pool.transport = self.transport()
            return self._process_pool

    def transport(self) -> tuple[int, int | None, int]:
        """What process jobs are told: byte budget, shared memory threshold, owner pid."""
        from ._shared_memory import THRESHOLD

        threshold = THRESHOLD if self.shared_memory else None
        return self.max_bytes_in_flight, threshold, os.getpid()

    def add(self, worker: WorkerBase[Any]) -> None:
        """Track a started worker until it finishes."""
        with self._lock:
            if self.closed:
                raise RuntimeError(
                    "cannot start a worker: its event loop or application is shutting down"
                )
            self._active.add(worker)

    def discard(self, worker: WorkerBase[Any]) -> None:
        """Stop tracking a finished worker."""
        with self._lock:
            self._active.discard(worker)

    def end_with_home(self, key: object, end: Callable[[float], None] | None) -> None:
        """Call ``end(timeout)`` when the scope closes (None forgets *key*)."""
        with self._lock:
            if end is None:
                self._extras.pop(key, None)
            else:
                self._extras[key] = end

    def _end_extras(self) -> None:
        with self._lock:
            extras = list(self._extras.values())
            self._extras.clear()
        for end in extras:
            end(self.shutdown_timeout)

    def active_workers(self) -> list[WorkerBase[Any]]:
        """The workers started here that have not finished."""
        with self._lock:
            return list(self._active)

    def call_at_home(self, call: HomeCall) -> None:
        """Run *call* on the home thread, even while it waits for workers (any thread).

        Raises
        ------
        RuntimeError
            If the home has shut down: nothing would ever run it.
        """
        with self._home_wake:
            self._home_calls.append(call)
            self._home_wake.notify_all()
        self.dispatcher.post(call.run)
        if not self.dispatcher.is_alive():
            self.home_call_done(call)
            raise RuntimeError(
                "the worker's home (its event loop or application) has shut down: "
                "nothing runs on it any more"
            )

    def home_call_done(self, call: HomeCall) -> None:
        """Forget *call*: it ran, or was given up on."""
        with self._home_wake:
            if call in self._home_calls:
                self._home_calls.remove(call)

    def _take_home_calls(self) -> list[HomeCall]:
        with self._home_wake:
            calls, self._home_calls = self._home_calls, []
        return calls

    def _fail_home_calls(self) -> None:
        error = RuntimeError(
            "the worker's home (its event loop or application) shut down before the call ran"
        )
        for call in self._take_home_calls():
            call.fail(error)

    def quit_and_wait(self, timeout: float | None) -> list[WorkerBase[Any]]:
        """Ask every worker to quit; wait up to *timeout* s for their threads.

        Returns the workers whose thread is still running. Their ``finished``
        is delivered later, on the home thread. Called on the home thread, it
        runs the ``run_in_main_thread`` calls workers make meanwhile (a worker
        waiting for one would otherwise never end).
        """
        workers = self.active_workers()
        for worker in workers:
            worker.quit()
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.dispatcher.in_home_thread():
            for worker in workers:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                worker._thread_done.wait(remaining)
        else:
            self._wait_serving(workers, deadline)
        return [w for w in workers if not w._thread_done.is_set()]

    def _wait_serving(self, workers: list[WorkerBase[Any]], deadline: float | None) -> None:
        """Wait for the workers' threads, running their calls home meanwhile."""
        wake = self._home_wake

        def notify() -> None:
            with wake:
                wake.notify_all()

        for worker in workers:
            worker._thread_done.notify_on_set(notify)
        while True:
            for call in self._take_home_calls():
                call.run(blocked=True)
            with wake:
                if self._home_calls:
                    continue
                if all(w._thread_done.is_set() for w in workers):
                    return
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return
                wake.wait(remaining)

    async def aclose(self) -> None:
        """End every worker and the pool; runs on the home loop as it closes."""
        self.closed = True
        workers = self.active_workers()
        for worker in workers:
            worker.quit()
        if workers:
            # Awaiting ``finished`` (not a thread join) lets deliveries run.
            waits = [asyncio.ensure_future(_await_finished(w)) for w in workers]
            await asyncio.wait(waits, timeout=self.shutdown_timeout)
            for task in waits:
                task.cancel()
        self._end(self.active_workers(), finish=True)

    def close_blocking(self, *, deliver: bool) -> None:
        """End every worker and the pool without a running loop.

        With *deliver*, pending deliveries (``aborted``, ``finished``) run now,
        on this thread, which must be the home thread.
        """
        if self.closed:
            return
        self.closed = True
        still_running = self.quit_and_wait(self.shutdown_timeout)
        if deliver:
            self.dispatcher.run_by_hand()  # nothing else will run what is posted now
            # A flush runs what was posted; a channel drain that used up its time
            # slice re-posts itself, so flush until the ended workers reported.
            deadline = time.monotonic() + self.shutdown_timeout
            self.dispatcher.flush()
            while (
                self.dispatcher.has_pending()
                and len(self.active_workers()) > len(still_running)
                and time.monotonic() < deadline
            ):
                self.dispatcher.flush()
        self._end(still_running, finish=deliver)

    def _end(self, abandoned: list[WorkerBase[Any]], *, finish: bool) -> None:
        """End the scope; *finish*: end abandoned workers' signals here (home thread).

        An abandoned worker's outcome could never be delivered (its home is
        gone): it ends ``aborted`` now, so that awaiting it later raises
        ``WorkerAborted`` instead of waiting for ever.
        """
        if finish:
            for worker in abandoned:
                worker._abandon()
        self._fail_home_calls()
        self._end_extras()
        pool = self._pool
        if pool is not None:
            pool.stop(timeout=0.0 if abandoned else self.shutdown_timeout)
        process_pool = self._process_pool
        if process_pool is not None:
            # Processes, unlike threads, can be stopped: none is ever abandoned.
            process_pool.stop(timeout=self.terminate_after)
        if abandoned:
            warnings.warn(
                _abandoned_message(abandoned, self.shutdown_timeout), RuntimeWarning, stacklevel=2
            )


#: Why a worker can still be running after quit(), by what it is (see
#: ``WorkerBase._abandon_kind``), and what to do about it.
_ABANDONED_BECAUSE = {
    "function": (
        "functions cannot be interrupted: poll current_worker().abort_requested, "
        "or write them as generators that yield"
    ),
    "generator": (
        "generators stop at their next yield, and these did not reach one "
        "(blocked in a call, or computing between yields): yield more often, "
        "or poll current_worker().abort_requested"
    ),
    "unstarted": (
        "they never started running: their executor took them but neither ran "
        "nor cancelled them (it may be busy with other work)"
    ),
}


def _abandoned_message(abandoned: list[WorkerBase[Any]], timeout: float) -> str:
    """The shutdown warning naming abandoned workers, with the reason for each kind."""
    message = (
        f"threadworker abandoned {len(abandoned)} worker(s) still running "
        f"{timeout:g} s after they were asked to quit."
    )
    for kind, because in _ABANDONED_BECAUSE.items():
        these = sorted(w._signal_owner_name() for w in abandoned if w._abandon_kind() == kind)
        if these:  # each name once, with what applies to it
            message += f" {', '.join(these)}: {because}."
    return message


async def _await_finished(worker: WorkerBase[Any]) -> None:
    await worker.finished
