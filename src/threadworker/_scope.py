"""Where workers live: one scope per home (an asyncio loop or a Qt app).

This module finds the calling code's home and its scope (a
:class:`~threadworker._worker_scope.WorkerScope`, which owns the pools and
the running workers), ties the scope's end to its home's — when the loop
closes, when the QApplication quits, or at interpreter exit — and holds
``configure``.
"""

from __future__ import annotations

import asyncio
import numbers
import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ._current import current_worker_var
from ._dispatch import AsyncioDispatcher
from ._thread_loop import loop_set_for_this_thread
from ._upper_layers import qt_bridge, qt_imported
from ._worker_scope import DEFAULT_SHUTDOWN_TIMEOUT as DEFAULT_SHUTDOWN_TIMEOUT
from ._worker_scope import DEFAULT_TERMINATE_AFTER as DEFAULT_TERMINATE_AFTER
from ._worker_scope import HomeCall as HomeCall
from ._worker_scope import WorkerScope as WorkerScope
from ._worker_scope import default_max_threads as default_max_threads

if TYPE_CHECKING:
    pass

__all__ = ["WorkerScope", "configure", "current_scope", "scopes_on_this_thread"]


# Homes (loops, QApplications) to their scope. Weak keys: a scope never
# outlives its home, and nothing here is shared between homes.
_scopes: weakref.WeakKeyDictionary[object, WorkerScope] = weakref.WeakKeyDictionary()
_scopes_lock = threading.Lock()


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
    if qt_imported():  # a Qt loop may run nested in this one (Jupyter's %gui qt)
        dispatcher.nested_qt = qt_bridge().nested_qt_loop(loop)
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
        try:
            _close_ending_workers()
        finally:
            if loop.is_closed():
                _forget_closed_loop(loop, scope)

    def _close_ending_workers() -> None:
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


def _forget_closed_loop(loop: asyncio.AbstractEventLoop, scope: WorkerScope) -> None:
    """Let a closed loop go, its Qt objects first (home thread, just closed).

    The scope (a value of the weak-keyed table) holds its loop, and the
    ``close`` wrapper closes over it: both would keep every closed loop alive
    for ever. A closed qasync loop is then freed by Python's cyclic collector,
    in whichever thread runs it; its QObjects are destroyed here first, on
    their own thread (see the Qt bridge's ``delete_closed_loop_qobjects``).
    """
    with _scopes_lock:
        if _scopes.get(loop) is scope:
            del _scopes[loop]
    vars(loop).pop("close", None)
    if qt_imported():
        qt_bridge().delete_closed_loop_qobjects(loop)


def _closes_as_its_app_quits(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether *loop* is PySide6's QtAsyncio loop.

    It closes itself when its application quits from outside it
    (``app.quit()``, the last window closed) and runs nothing after that, not
    even ``run_until_complete``; whether it still reports running then depends
    on how far Qt got. Named by module: the core imports no Qt.
    """
    return type(loop).__module__.startswith("PySide6.QtAsyncio")


def _qt_scope() -> WorkerScope | None:
    # Qt is only consulted when the application already imported it: the
    # runtime never imports Qt itself.
    if not qt_imported():
        return None
    qt = qt_bridge()
    app = qt.running_application()
    if app is None:
        return None
    return _scope_for(app, qt.make_app_scope)


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
        If ``max_bytes_in_flight`` is not an integer, ``shared_memory`` not a
        bool, or a time not a number.
    RuntimeError
        If there is no running loop or QApplication to configure.
    """
    try:
        scope = current_scope()
    except RuntimeError:
        raise RuntimeError(
            "configure() sets the options of a home, and there is none here: call it "
            "from a coroutine on the running loop (asyncio.run / qasync.run), or after "
            "creating the QApplication"
        ) from None
    if max_threads is not None:
        scope.max_threads = _at_least("max_threads", max_threads, 1)
        if scope._pool is not None:
            scope._pool.max_threads = max_threads
    if max_processes is not None:
        scope.max_processes = _at_least("max_processes", max_processes, 1)
        if scope._process_pool is not None:
            scope._process_pool.max_processes = max_processes
    if terminate_after is not None:
        scope.terminate_after = _seconds("terminate_after", terminate_after)
    if shutdown_timeout is not None:
        scope.shutdown_timeout = _seconds("shutdown_timeout", shutdown_timeout)
    if max_bytes_in_flight is not None:
        if isinstance(max_bytes_in_flight, bool) or not isinstance(max_bytes_in_flight, int):
            raise TypeError(
                f"max_bytes_in_flight must be an int (bytes), not {max_bytes_in_flight!r}"
            )
        scope.max_bytes_in_flight = _at_least("max_bytes_in_flight", max_bytes_in_flight, 1)
    if shared_memory is not None:
        if not isinstance(shared_memory, bool):
            raise TypeError(f"shared_memory must be True or False, not {shared_memory!r}")
        scope.shared_memory = shared_memory
    if scope._process_pool is not None:
        scope._process_pool.transport = scope.transport()


N = TypeVar("N", int, float)


def _at_least(name: str, value: N, minimum: int) -> N:
    if value < minimum:
        bound = "at least 1" if minimum == 1 else f">= {minimum}"
        raise ValueError(f"{name} must be {bound}, not {value}")
    return value


def _seconds(name: str, value: object) -> float:
    """A wait in seconds: a finite number from 0 up to what threads can wait."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    seconds = float(value)
    if not 0 <= seconds <= threading.TIMEOUT_MAX:  # also refuses nan
        raise ValueError(
            f"{name} must be a number of seconds from 0 to {threading.TIMEOUT_MAX:.0f}, "
            f"not {value!r}"
        )
    return seconds


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
