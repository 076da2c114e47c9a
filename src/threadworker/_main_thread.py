"""Calling back into the GUI (or loop) thread from worker code.

:func:`run_in_main_thread` is the asyncio-native way: from a worker, run a
function (or coroutine function) on the worker's home thread and wait for it.
:func:`ensure_main_thread` and :func:`ensure_object_thread` are superqt's
decorators, for Qt code; they import Qt only when the decorated function is
called, so declaring them costs nothing in a program without Qt.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Awaitable, Callable
from typing import Any, Literal, ParamSpec, TypeVar, overload

from ._current import current_worker_var
from ._scope import WorkerScope, current_scope
from ._signal import positional_limit
from ._upper_layers import qt_bridge

__all__ = ["ensure_main_thread", "ensure_object_thread", "run_in_main_thread"]

P = ParamSpec("P")
R = TypeVar("R")


@overload
def run_in_main_thread(fn: Callable[P, Awaitable[R]], /, *args: Any, **kwargs: Any) -> R: ...
@overload
def run_in_main_thread(fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R: ...
def run_in_main_thread(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Run ``fn(*args, **kwargs)`` on the home thread, wait, and return its result.

    Call it from worker code to touch the GUI or loop-owned state. The home is
    the current worker's (the loop or application it was started from). An
    ``async def`` function runs as a task on the home loop. Called on the home
    thread itself, a plain function runs directly (waiting for yourself would
    deadlock). A home blocked waiting for workers (``await_workers``, an
    application quitting) still runs these calls, so the worker can end.

    Raises
    ------
    Exception
        Whatever *fn* raised, re-raised here.
    RuntimeError
        If there is no home to run on, or it has shut down (or shuts down
        before running the call); if an ``async def`` is called from the home
        thread (await it instead), or the home has no asyncio loop, or is
        blocked waiting for workers.
    """
    worker = current_worker_var.get()
    scope = worker._scope if worker is not None and worker._scope is not None else None
    scope = scope or current_scope()
    dispatcher = scope.dispatcher
    is_coroutine = asyncio.iscoroutinefunction(fn)
    if dispatcher.in_home_thread():
        if is_coroutine:
            raise RuntimeError(
                f"run_in_main_thread({getattr(fn, '__name__', fn)!r}) was called on the home "
                "thread: await the coroutine there instead"
            )
        return fn(*args, **kwargs)
    if is_coroutine and getattr(dispatcher, "loop", None) is None:
        raise RuntimeError(
            "this worker's home is a Qt application without an asyncio loop: "
            "async functions need qasync (or asyncio) to run on it"
        )
    call = _HomeCall(scope, functools.partial(fn, *args, **kwargs), is_coroutine)
    scope.call_at_home(call)
    return call.future.result()


class _HomeCall:
    """One ``run_in_main_thread`` call: run once at home, its outcome in a future.

    The home runs it from its queue, or earlier, while it is blocked waiting
    for workers (``await_workers``, an application quitting): whichever
    comes first; the other finds it done.
    """

    def __init__(self, scope: WorkerScope, call: Callable[[], Any], is_coroutine: bool) -> None:
        self._scope = scope
        self._call = call
        self._is_coroutine = is_coroutine
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run(self, *, blocked: bool = False) -> None:
        """Run the call here, the home thread (see ``HomeCall``)."""
        self._scope.home_call_done(self)
        future = self.future
        if future.done() or not future.set_running_or_notify_cancel():
            return
        if self._is_coroutine and blocked:
            future.set_exception(
                RuntimeError(
                    "run_in_main_thread: the home thread is blocked waiting for workers "
                    "to finish (await_workers, or the application quitting): an async "
                    "function cannot run there now"
                )
            )
            return
        try:
            result = self._call()
        except BaseException as exc:
            future.set_exception(exc)
            return
        if not self._is_coroutine:
            future.set_result(result)
            return
        task = asyncio.ensure_future(result)

        def transfer(done: asyncio.Future[Any]) -> None:
            if done.cancelled():
                future.set_exception(concurrent.futures.CancelledError())
            elif done.exception() is not None:
                future.set_exception(done.exception())
            else:
                future.set_result(done.result())

        task.add_done_callback(transfer)

    def fail(self, exc: BaseException) -> None:
        """Give up: the waiting worker gets *exc* (any thread)."""
        try:
            self.future.set_exception(exc)
        except concurrent.futures.InvalidStateError:  # it ran meanwhile
            pass


@overload
def ensure_main_thread(
    func: Callable[P, R], *, await_return: Literal[True], timeout: int = 1000
) -> Callable[P, R]: ...
@overload
def ensure_main_thread(
    func: Callable[P, R], *, await_return: Literal[False] = False, timeout: int = 1000
) -> Callable[P, concurrent.futures.Future[R]]: ...
@overload
def ensure_main_thread(
    func: None = None, *, await_return: bool = False, timeout: int = 1000
) -> Callable[[Callable[P, R]], Callable[P, Any]]: ...
def ensure_main_thread(
    func: Callable[..., Any] | None = None, *, await_return: bool = False, timeout: int = 1000
) -> Any:
    """Make calls of *func* run in the QApplication's (main) thread.

    Called from another thread, the call is queued to the main thread. With
    ``await_return=True`` the caller waits for the result (at most *timeout*
    milliseconds); otherwise it gets a ``concurrent.futures.Future``. Called on
    the main thread, *func* runs directly. The decorated function keeps its
    name, docstring and signature. (superqt's signature.)

    Positional arguments beyond those *func* takes are dropped, as Qt does for
    slots: connected to a signal that carries more, it still works. If *func*
    raises and nobody reads the exception from the future before letting go
    of it, the exception goes to ``sys.excepthook``.

    Raises
    ------
    concurrent.futures.TimeoutError
        With ``await_return=True``, if the main thread did not run it in time.
    RuntimeError
        If there is no QApplication when the function is called.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        limit = positional_limit(fn)

        @functools.wraps(fn)
        def in_main_thread(*args: Any, **kwargs: Any) -> Any:
            qt = qt_bridge()
            if limit is not None:
                args = args[:limit]  # a Qt signal may carry more, as for any slot
            # Not bound to a variable: see _qt.call_in_thread.
            if await_return:
                return qt.call_in_thread(qt.main_thread(), fn, args, kwargs).result(timeout / 1000)
            return qt.call_in_thread(qt.main_thread(), fn, args, kwargs)

        return in_main_thread

    return decorate if func is None else decorate(func)


@overload
def ensure_object_thread(
    func: Callable[P, R], *, await_return: Literal[True], timeout: int = 1000
) -> Callable[P, R]: ...
@overload
def ensure_object_thread(
    func: Callable[P, R], *, await_return: Literal[False] = False, timeout: int = 1000
) -> Callable[P, concurrent.futures.Future[R]]: ...
@overload
def ensure_object_thread(
    func: None = None, *, await_return: bool = False, timeout: int = 1000
) -> Callable[[Callable[P, R]], Callable[P, Any]]: ...
def ensure_object_thread(
    func: Callable[..., Any] | None = None, *, await_return: bool = False, timeout: int = 1000
) -> Any:
    """Make calls of a QObject method run in the thread that object lives in.

    Like :func:`ensure_main_thread`, for methods: the target thread is
    ``self.thread()``. Extra positional arguments are dropped and unread
    exceptions reported, as there.

    Raises
    ------
    concurrent.futures.TimeoutError
        With ``await_return=True``, if the object's thread did not run it in time.
    TypeError
        If the decorated function is called on something that is not a QObject.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        limit = positional_limit(fn)

        @functools.wraps(fn)
        def in_object_thread(self: Any, *args: Any, **kwargs: Any) -> Any:
            qt = qt_bridge()
            if limit is not None:
                args = args[: max(limit - 1, 0)]  # beyond ``self``: as for any slot
            thread = qt.object_thread(self)
            if await_return:  # not bound to a variable: see _qt.call_in_thread
                return qt.call_in_thread(thread, fn, (self, *args), kwargs).result(timeout / 1000)
            return qt.call_in_thread(thread, fn, (self, *args), kwargs)

        return in_object_thread

    return decorate if func is None else decorate(func)
