"""Calls run in a given Qt thread: what ``ensure_main_thread`` and ``ensure_object_thread`` use.

A call is posted to a short-lived QObject moved to the target thread and
runs there through a queued signal; its future reports an exception that
nobody retrieved (:class:`ReportingFuture`). Imported by the Qt bridge only.
"""

from __future__ import annotations

import concurrent.futures
import sys
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from qtpy import QtCore
from qtpy.QtCore import QCoreApplication, QObject, Qt, QThread

__all__ = ["ReportingFuture", "call_in_thread", "main_thread", "object_thread"]


class _Invoker(QObject):
    """Runs one callable in the thread it lives in, then deletes itself."""

    invoke = QtCore.Signal(object)  # type: ignore[attr-defined]

    #: Invokers whose call is queued. Nothing else refers to one, and a
    #: self-reference is a cycle the garbage collector frees (deleting the C++
    #: object with its call still queued): this set holds each until it ran.
    _pending: ClassVar[set[_Invoker]] = set()
    _pending_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        super().__init__()
        self.invoke.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def post(self, call: Callable[[], object]) -> None:
        """Queue *call* to run in this object's thread."""
        with _Invoker._pending_lock:
            _Invoker._pending.add(self)
        self.invoke.emit(call)

    @QtCore.Slot(object)  # type: ignore[attr-defined, untyped-decorator]
    def _run(self, call: Callable[[], object]) -> None:
        try:
            call()
        finally:
            self.deleteLater()  # in its own thread, after its one call
            with _Invoker._pending_lock:
                _Invoker._pending.discard(self)


class ReportingFuture(concurrent.futures.Future[Any]):
    """A future that reports an exception nobody retrieved when it is dropped.

    ``ensure_main_thread`` hands its caller a future; a caller that ignores
    it (a fire-and-forget call, a Qt signal connected to the decorated
    function) would never learn that the call raised. "Never read" is decided
    when the future is freed: if it holds an exception that
    :meth:`result` and :meth:`exception` never returned, the exception goes to
    ``sys.excepthook`` then (asyncio reports unretrieved task exceptions the
    same way). A caller holding the future has until it lets go of it.
    """

    _retrieved = False

    def result(self, timeout: float | None = None) -> Any:
        """Return the call's result (waiting at most *timeout* seconds).

        Raises
        ------
        Exception
            The call's exception (it then counts as retrieved).
        concurrent.futures.TimeoutError
            If the call has not finished in time.
        concurrent.futures.CancelledError
            If the future was cancelled.
        """
        try:
            return super().result(timeout)
        finally:
            self._retrieved = self._retrieved or self.done()

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Return the call's exception, or None (waiting at most *timeout* seconds).

        Raises
        ------
        concurrent.futures.TimeoutError
            If the call has not finished in time.
        concurrent.futures.CancelledError
            If the future was cancelled.
        """
        try:
            return super().exception(timeout)
        finally:
            self._retrieved = self._retrieved or self.done()

    def __del__(self) -> None:
        if self._retrieved or not self.done() or self.cancelled():
            return
        exc = super().exception(0)
        if exc is not None:
            sys.excepthook(type(exc), exc, exc.__traceback__)


def _capture(
    fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[bool, Any]:
    """Call *fn*; (True, result) or (False, exception).

    A separate frame, so the exception's traceback does not reach the future
    (a cycle would delay its report until the garbage collector runs).
    """
    try:
        return True, fn(*args, **kwargs)
    except BaseException as exc:
        return False, exc


def call_in_thread(
    target: QThread, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> ReportingFuture:
    """Run ``fn(*args, **kwargs)`` in Qt thread *target*; a future of its result.

    Runs at once when the caller is already in *target*. The future receives
    the exception if *fn* raises; nothing propagates into Qt, and an
    exception nobody retrieves from the future reaches ``sys.excepthook``
    (see :class:`ReportingFuture`).
    """
    # No frame keeps the future in a variable: a traceback keeps its frames
    # and their callers' alive, and a frame holding the future would tie it
    # into a cycle with its own exception, delaying the report of an unread
    # exception to the next garbage collection. It travels in a box instead.
    box = [ReportingFuture()]

    def call() -> ReportingFuture:
        ok, outcome = (True, None)
        if box[0].set_running_or_notify_cancel():
            ok, outcome = _capture(fn, args, kwargs)
        if not box[0].done():
            if ok:
                box[0].set_result(outcome)
            else:
                box[0].set_exception(outcome)
        del outcome
        return box.pop()

    if QThread.currentThread() == target:
        return call()
    future = box[0]  # a local is fine here: the call runs on another stack
    invoker = _Invoker()
    invoker.moveToThread(target)
    invoker.post(call)
    return future


def main_thread() -> QThread:
    """The QApplication's thread.

    Raises
    ------
    RuntimeError
        If there is no QApplication.
    """
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("ensure_main_thread needs a QApplication: create one first")
    thread = app.thread()
    assert thread is not None
    return thread


def object_thread(obj: object) -> QThread:
    """The thread a QObject lives in.

    Raises
    ------
    TypeError
        If *obj* is not a QObject.
    """
    if not isinstance(obj, QObject):
        raise TypeError(
            f"ensure_object_thread decorates methods of QObjects, not of {type(obj).__name__}"
        )
    thread = obj.thread()
    assert thread is not None
    return thread
