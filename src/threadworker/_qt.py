"""The Qt bridge: workers in a Qt application driven by ``app.exec()``.

With qasync, a worker started inside a coroutine uses the asyncio loop, which
already runs on the Qt main thread: nothing here is involved. This module
serves the napari style — ``app.exec()`` with no asyncio loop running — by
delivering through a queued Qt signal to an object on the application's
thread. It is the only module that imports Qt, and only when the application
has imported a binding already.
"""

from __future__ import annotations

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
