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
from collections import deque
from collections.abc import Callable
from typing import Any

try:
    from qtpy import QtCore
    from qtpy.QtCore import QCoreApplication, QObject, Qt, QThread
except ImportError as exc:  # pragma: no cover - only imported when Qt is loaded
    raise ImportError(
        "threadworker's Qt support needs qtpy and a Qt binding: pip install 'threadworker[qt]'"
    ) from exc

from ._dispatch import Dispatcher, DoneCallback
from ._scope import WorkerScope

__all__ = ["QtDispatcher", "make_app_scope", "running_application"]


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
    """Home is the QApplication's thread, reached through queued Qt signals.

    Posted calls collect in a queue; one queued signal per batch wakes the
    GUI thread, which runs them all. Nothing raised by a posted call escapes
    into Qt (PyQt aborts the application on an exception in a slot): it goes
    to ``sys.excepthook``.
    """

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__()
        self._app = app
        if QThread.currentThread() != app.thread():
            self.home_thread_id = threading.main_thread().ident or self.home_thread_id
        self._lock = threading.Lock()
        self._pending: deque[tuple[Callable[..., object], tuple[object, ...]]] = deque()
        self._scheduled = False
        self._closed = False
        self._mailbox = _Mailbox(self.flush)
        self._mailbox.moveToThread(app.thread())

    def post(self, fn: Callable[..., object], *args: object) -> None:
        with self._lock:
            if self._closed:
                return
            self._pending.append((fn, args))
            if self._scheduled:
                return
            self._scheduled = True
        self._mailbox.wake.emit()

    def flush(self) -> None:
        """Run every posted call now (home thread)."""
        while True:
            with self._lock:
                self._scheduled = False
                if not self._pending:
                    return
                batch, self._pending = self._pending, deque()
            for fn, args in batch:
                try:
                    fn(*args)
                except Exception as exc:  # never into Qt
                    self.report_exception(exc, f"Exception in {fn!r}", {})

    def close(self) -> None:
        """Drop calls posted from now on."""
        with self._lock:
            self._closed = True

    def run_in_executor(
        self, executor: concurrent.futures.Executor, fn: Callable[[], Any], on_done: DoneCallback
    ) -> None:
        future = executor.submit(fn)
        future.add_done_callback(lambda done: self.post(on_done, done))

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
