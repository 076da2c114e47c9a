"""The Qt bridge: workers in a Qt application driven by ``app.exec()``.

With qasync, a worker started inside a coroutine uses the asyncio loop, which
already runs on the Qt main thread: nothing here is involved. This module
serves the napari style — ``app.exec()`` with no asyncio loop running — by
delivering through a queued Qt signal to an object on the application's
thread. It is the only module that imports Qt, and only when the application
has imported a binding already.
"""

from __future__ import annotations

import concurrent.futures
import sys
import threading
from collections.abc import Callable
from typing import Any

try:
    from qtpy import QtCore
    from qtpy.QtCore import QCoreApplication, QObject, Qt, QThread
except ImportError as exc:  # pragma: no cover - only imported when Qt is loaded
    raise ImportError(
        "threadworker's Qt support needs qtpy and a Qt binding: pip install 'threadworker[qt]'"
    ) from exc

from ._dispatch import Dispatcher
from ._scope import WorkerScope

__all__ = [
    "QtDispatcher",
    "call_in_thread",
    "is_deleted",
    "main_thread",
    "make_app_scope",
    "object_thread",
    "running_application",
]


def running_application() -> QCoreApplication | None:
    """The QCoreApplication (or QApplication) instance, if one exists."""
    return QCoreApplication.instance()


class _Mailbox(QObject):
    """Lives on the application's thread; a queued signal wakes it there."""

    wake = QtCore.Signal()  # type: ignore[attr-defined]  # qtpy's stubs omit it

    def __init__(self, deliver: Callable[[], None]) -> None:
        super().__init__()
        self._deliver = deliver
        self.wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)

    # A declared slot runs in this object's thread; PyQt would run a plain
    # Python method through a proxy living in the thread that connected.
    @QtCore.Slot()  # type: ignore[attr-defined, untyped-decorator]
    def _on_wake(self) -> None:
        self._deliver()


class QtDispatcher(Dispatcher):
    """Home is the QApplication's thread, woken by a queued Qt signal.

    Nothing raised by a posted call escapes into Qt (PyQt aborts the
    application on an exception in a slot): it goes to ``sys.excepthook``.
    """

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__()
        self._app = app
        if QThread.currentThread() != app.thread():
            self.home_thread_id = threading.main_thread().ident or self.home_thread_id
        self._mailbox = _Mailbox(self.flush)
        self._mailbox.moveToThread(app.thread())

    def _wake(self) -> None:
        self._mailbox.wake.emit()

    def report_exception(self, exc: BaseException, message: str, context: dict[str, Any]) -> None:
        sys.stderr.write(f"{message}\n")
        sys.excepthook(type(exc), exc, exc.__traceback__)

    def is_alive(self) -> bool:
        return not self._closed and QCoreApplication.instance() is self._app


def make_app_scope(app: QCoreApplication) -> WorkerScope:
    """The scope of workers delivering to *app*; ends when it quits."""
    dispatcher = QtDispatcher(app)
    scope = WorkerScope(dispatcher)

    def end() -> None:
        scope.close_blocking(deliver=True)
        dispatcher.close()

    app.aboutToQuit.connect(end)
    return scope


def _deleted_checker() -> Callable[[object], bool]:
    import importlib

    import qtpy

    if qtpy.PYSIDE6 or qtpy.PYSIDE2:
        shiboken: Any = importlib.import_module("qtpy.shiboken")
        return lambda obj: not shiboken.isValid(obj)
    sip: Any = importlib.import_module("qtpy.sip")
    return lambda obj: bool(sip.isdeleted(obj))


#: Whether a Qt object's C++ side is gone (``deleteLater``, ``sip.delete``…).
is_deleted = _deleted_checker()


class _Invoker(QObject):
    """Runs callables in the thread it lives in; one per call."""

    invoke = QtCore.Signal(object)  # type: ignore[attr-defined]

    def __init__(self) -> None:
        super().__init__()
        # Nobody else holds it, and collecting it would delete the C++ object
        # with the queued call still pending: it lives until it has run.
        self._keep_alive: _Invoker | None = self
        self.invoke.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @QtCore.Slot(object)  # type: ignore[attr-defined, untyped-decorator]
    def _run(self, call: Callable[[], None]) -> None:
        try:
            call()
        finally:
            self.deleteLater()  # in its own thread, after its one call
            self._keep_alive = None


def call_in_thread(
    target: QThread, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> concurrent.futures.Future[Any]:
    """Run ``fn(*args, **kwargs)`` in Qt thread *target*; a future of its result.

    Runs at once when the caller is already in *target*. The future receives
    the exception if *fn* raises; nothing propagates into Qt.
    """
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def call() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)

    if QThread.currentThread() == target:
        call()
        return future
    invoker = _Invoker()
    invoker.moveToThread(target)
    invoker.invoke.emit(call)
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
