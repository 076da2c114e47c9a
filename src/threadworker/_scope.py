"""Where workers live: one scope per home (an asyncio loop or a Qt app).

A scope owns the function-worker pool and the set of running workers (which
keeps a started worker alive while nobody else holds it). It ends with its
home: when the loop closes, when the QApplication quits, or at interpreter
exit, it asks every running worker to quit, waits a bounded time, and warns
about any it had to abandon.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ._current import current_worker_var
from ._dispatch import AsyncioDispatcher, Dispatcher
from ._pool import ThreadPool
from ._sizes import DEFAULT_MAX_BYTES_IN_FLIGHT
from ._thread_loop import loop_set_for_this_thread

if TYPE_CHECKING:
    from ._process_pool import ProcessPool
    from ._worker import WorkerBase

__all__ = ["WorkerScope", "configure", "current_scope", "scopes_on_this_thread"]

DEFAULT_SHUTDOWN_TIMEOUT = 5.0
DEFAULT_TERMINATE_AFTER = 1.0
QT_BINDINGS = ("PyQt6", "PySide6", "PyQt5", "PySide2")

# Homes (loops, QApplications) to their scope. Weak keys: a scope never
# outlives its home, and nothing here is shared between homes.
_scopes: weakref.WeakKeyDictionary[object, WorkerScope] = weakref.WeakKeyDictionary()
_scopes_lock = threading.Lock()


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


def current_scope() -> WorkerScope:
    """The scope of the calling context's home, made on first use.

    Raises
    ------
    RuntimeError
        If the caller has no home: no running asyncio loop, not inside a
        worker, no QApplication, and no loop set for this thread.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return _scope_for(loop, _asyncio_scope)
    parent = current_worker_var.get()
    if parent is not None and parent._scope is not None and not parent._scope.closed:
        return parent._scope  # started inside a worker: deliver to its home
    waiting_loop = loop_set_for_this_thread()
    if waiting_loop is not None:  # started before the loop runs: delivered once it does
        return _scope_for(waiting_loop, _asyncio_scope)
    qt_scope = _qt_scope()
    if qt_scope is not None:
        return qt_scope
    raise RuntimeError(
        "cannot start a worker here: there is no running asyncio event loop and no "
        "QApplication. Start workers from a coroutine (asyncio.run / qasync.run), "
        "or create a QApplication first; or call worker.work() to run it in this thread."
    )


def _scope_for(home: Any, make: Callable[[Any], WorkerScope]) -> WorkerScope:
    with _scopes_lock:
        scope = _scopes.get(home)
        if scope is None or scope.closed:
            scope = make(home)
            _scopes[home] = scope
        return scope


def _asyncio_scope(loop: asyncio.AbstractEventLoop) -> WorkerScope:
    dispatcher = AsyncioDispatcher(loop)
    if _qt_imported():  # a Qt loop may run nested in this one (Jupyter's %gui qt)
        from . import _qt

        dispatcher.nested_qt = _qt.nested_qt_loop(loop)
    scope = WorkerScope(dispatcher)
    _end_with_loop(loop, scope)
    return scope


def _end_with_loop(loop: asyncio.AbstractEventLoop, scope: WorkerScope) -> None:
    """Make ``loop.close()`` end the scope's workers first.

    ``asyncio.run`` only cancels tasks: an infinite generator worker would
    otherwise outlive its loop. Wrapping ``close`` on this one instance is the
    hook every loop (asyncio's, uvloop's, qasync's, QtAsyncio's) goes through.
    """
    original_close = loop.close

    def close() -> None:
        if scope.closed or loop.is_closed():
            original_close()
        elif not loop.is_running() and not _closes_as_its_app_quits(loop):
            try:
                loop.run_until_complete(scope.aclose())
            finally:
                scope.closed = True
            original_close()
        else:
            # QtAsyncio's loop, closed as its application quits, runs nothing
            # more (other loops refuse to close while running): nothing can be
            # awaited. End the workers and make their last deliveries now, on
            # the home thread, as an ``app.exec()`` home does.
            scope.close_blocking(deliver=scope.dispatcher.in_home_thread())
            original_close()

    try:
        loop.close = close  # type: ignore[method-assign]
    except AttributeError:  # pragma: no cover - a loop that takes no new attributes
        pass


def _closes_as_its_app_quits(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether *loop* is PySide6's QtAsyncio loop.

    It closes itself when its application quits from outside it
    (``app.quit()``, the last window closed) and runs nothing after that, not
    even ``run_until_complete``; whether it still reports running then depends
    on how far Qt got. Named by module: the core imports no Qt.
    """
    return type(loop).__module__.startswith("PySide6.QtAsyncio")


def _qt_imported() -> bool:
    # Qt is only consulted when the application already imported it: the core
    # never imports Qt itself.
    return any(f"{binding}.QtCore" in sys.modules for binding in QT_BINDINGS)


def _qt_scope() -> WorkerScope | None:
    if not _qt_imported():
        return None
    from . import _qt

    app = _qt.running_application()
    if app is None:
        return None
    return _scope_for(app, _qt.make_app_scope)


def scopes_on_this_thread() -> list[WorkerScope]:
    """Every open scope whose home thread is the calling thread."""
    with _scopes_lock:
        scopes = list(_scopes.values())
    return [s for s in scopes if not s.closed and s.dispatcher.in_home_thread()]


def configure(
    *,
    max_threads: int | None = None,
    shutdown_timeout: float | None = None,
    max_processes: int | None = None,
    terminate_after: float | None = None,
    max_bytes_in_flight: int | None = None,
    shared_memory: bool | None = None,
) -> None:
    """Configure the workers of the calling context's loop or application.

    Parameters
    ----------
    max_threads : int, optional
        How many function workers may run at once (default: the number of
        cores, at least 2, as Qt's pool); more are queued. Raise it for
        I/O-bound functions. Generator workers always
        get a thread each. Takes effect before the first function worker starts.
    shutdown_timeout : float, optional
        Seconds to wait, when the loop closes or the application quits, for
        running workers to finish after being asked to quit (default 5). Those
        still running then are abandoned with a ``RuntimeWarning`` naming them.
    max_processes : int, optional
        How many worker processes ``executor="process"`` runs at once
        (default: the number of cores, at least 2); more workers are queued.
        Takes effect before the first process worker starts.
    terminate_after : float, optional
        Seconds a process worker asked to quit gets to stop by itself (a
        generator at its next ``yield``, a function by returning) before its
        process is killed (default 1). It then ends ``aborted``.
    max_bytes_in_flight : int, optional
        How many bytes of yielded values may wait between a generator worker
        (thread or process) and the home, and in each ``async for`` over it,
        before the generator blocks at its next ``yield`` (default 32 MiB).
        Sizes are read cheaply: ``len()`` of ``bytes``/``bytearray``/``str``,
        ``.nbytes`` of arrays and memoryviews; other values count as a small
        constant (and the count of values is bounded too). One value larger
        than the budget still passes, alone. Takes effect for workers started
        afterwards. A worker process also waits while its own values in flight
        to the home (in its outbox, the pipe and shared memory) hold this many.
    shared_memory : bool, optional
        Whether big buffers (NumPy arrays, ``bytes``) of values crossing to and
        from worker processes go through shared memory (the default, where
        ``/dev/shm`` exists) rather than the pipe. ``False`` forces the pipe.
        Takes effect for values sent and workers started afterwards.

    Raises
    ------
    ValueError
        If a value is out of range.
    TypeError
        If ``max_bytes_in_flight`` is not an integer.
    RuntimeError
        If there is no running loop or QApplication to configure.
    """
    scope = current_scope()
    if max_threads is not None:
        scope.max_threads = _at_least("max_threads", max_threads, 1)
        if scope._pool is not None:
            scope._pool.max_threads = max_threads
    if max_processes is not None:
        scope.max_processes = _at_least("max_processes", max_processes, 1)
        if scope._process_pool is not None:
            scope._process_pool.max_processes = max_processes
    if terminate_after is not None:
        scope.terminate_after = _at_least("terminate_after", terminate_after, 0)
    if shutdown_timeout is not None:
        scope.shutdown_timeout = _at_least("shutdown_timeout", shutdown_timeout, 0)
    if max_bytes_in_flight is not None:
        if isinstance(max_bytes_in_flight, bool) or not isinstance(max_bytes_in_flight, int):
            raise TypeError(
                f"max_bytes_in_flight must be an int (bytes), not {max_bytes_in_flight!r}"
            )
        scope.max_bytes_in_flight = _at_least("max_bytes_in_flight", max_bytes_in_flight, 1)
    if shared_memory is not None:
        scope.shared_memory = bool(shared_memory)
    if scope._process_pool is not None:
        scope._process_pool.transport = scope.transport()


N = TypeVar("N", int, float)


def _at_least(name: str, value: N, minimum: int) -> N:
    if value < minimum:
        bound = "at least 1" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{name} must be {bound}, not {value}")
    return value


def _at_exit() -> None:
    """Before the interpreter joins threads: end every scope still open.

    ``atexit`` would be too late: it runs after non-daemon threads are joined.
    """
    with _scopes_lock:
        scopes = list(_scopes.values())
    for scope in scopes:
        if not scope.closed:
            scope.close_blocking(deliver=False)


def _forget_scopes_after_fork() -> None:
    """A forked child (``ProcessPoolExecutor``'s default on Linux) has no homes.

    Its copy of the parent's scopes holds workers whose threads were not
    copied; ending them at the child's exit would wait for nothing.
    """
    global _scopes_lock
    _scopes_lock = threading.Lock()  # it may have been held by another thread
    _scopes.clear()


os.register_at_fork(after_in_child=_forget_scopes_after_fork)

try:
    threading._register_atexit(_at_exit)  # type: ignore[attr-defined]
except RuntimeError:  # pragma: no cover - imported while the interpreter exits
    pass
