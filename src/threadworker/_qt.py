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
import weakref
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

    def __init__(
        self, deliver: Callable[[], None], interrupted: Callable[[BaseException], None]
    ) -> None:
        super().__init__()
        self._deliver = deliver
        self._interrupted = interrupted
        self.wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)

    # A declared slot runs in this object's thread; PyQt would run a plain
    # Python method through a proxy living in the thread that connected.
    @QtCore.Slot()  # type: ignore[attr-defined, untyped-decorator]
    def _on_wake(self) -> None:
        try:
            self._deliver()
        except BaseException as exc:  # never into Qt: PyQt6 aborts the process on it
            self._interrupted(exc)


class QtDispatcher(Dispatcher):
    """Home is the QApplication's thread, woken by a queued Qt signal.

    Nothing raised by a posted call escapes into Qt (PyQt aborts the
    application on an exception in a slot): it goes to ``sys.excepthook``.
    A ``KeyboardInterrupt`` or ``SystemExit`` from a callback ends the
    application as it would end a script: ``sys.excepthook`` shows the
    interrupt, then ``app.exec()`` returns (130 for an interrupt, the exit
    status for ``SystemExit``); the deliveries after it still run, at quit
    or at the next wake-up.
    """

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__()
        self._app = app
        if QThread.currentThread() != app.thread():
            self.home_thread_id = threading.main_thread().ident or self.home_thread_id
        self._mailbox = _Mailbox(self.flush, self._interrupted)
        self._mailbox.moveToThread(app.thread())

    def _wake(self) -> None:
        self._mailbox.wake.emit()

    def _interrupted(self, exc: BaseException) -> None:
        """A callback raised a ``BaseException`` (home thread): end ``app.exec()``."""
        if isinstance(exc, Exception):  # pragma: no cover - flush reports these itself
            self.report_exception(exc, "Exception in a delivery", {})
            return
        self._app.exit(_exit_status(exc))

    def report_exception(self, exc: BaseException, message: str, context: dict[str, Any]) -> None:
        sys.stderr.write(f"{message}\n")
        sys.excepthook(type(exc), exc, exc.__traceback__)

    def is_alive(self) -> bool:
        return not self._closed and QCoreApplication.instance() is self._app


def _exit_status(exc: BaseException) -> int:
    """The status Python would exit with, showing what Python would show."""
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None or isinstance(code, int):
            return code or 0
        sys.stderr.write(f"{code}\n")
        return 1
    sys.excepthook(type(exc), exc, exc.__traceback__)
    return 130 if isinstance(exc, KeyboardInterrupt) else 1


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


def start_worker_qthread(
    worker_class: Callable[..., QObject],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    start: bool,
    connect: dict[str, Any] | None,
) -> tuple[QObject, QThread]:
    """Create *worker_class* in a new QThread; see ``new_worker_qthread``."""
    from ._scope import _scope_for

    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("new_worker_qthread needs a QApplication: create one first")
    scope = _scope_for(app, make_app_scope)
    thread = QThread()
    worker = worker_class(*args, **kwargs)
    for name, callback in (connect or {}).items():
        signal = getattr(worker, name, None)
        if signal is None or not callable(getattr(signal, "connect", None)):
            raise TypeError(f"_connect names {name!r}, which is not a signal of {worker!r}")
        signal.connect(callback)
    worker.moveToThread(thread)
    thread.started.connect(worker.work)  # type: ignore[attr-defined]
    worker.finished.connect(thread.quit)  # type: ignore[attr-defined]
    # superqt also deleteLater()s the worker and the thread here, deleting the
    # C++ objects under the caller's own references. Instead the scope keeps
    # both alive until the thread has finished, then Python owns them; the
    # thread is quit and waited for if the application ends first.
    key = id(thread)

    def end(timeout: float) -> None:
        thread.quit()
        thread.wait(int(timeout * 1000))

    scope.end_with_home(key, end)
    thread_ref = weakref.ref(thread)

    def release() -> None:
        # ``finished`` arrives while the thread still tears down its Python
        # state, which needs the GIL: destroying the QThread now would
        # deadlock. Wait for it (releasing the GIL), then let go.
        finished_thread = thread_ref()
        if finished_thread is not None:
            finished_thread.wait()
        scope.end_with_home(key, None)

    thread.finished.connect(release)
    if start:
        thread.start()
    return worker, thread
