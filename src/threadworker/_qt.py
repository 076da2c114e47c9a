"""The Qt bridge: workers in a Qt application driven by ``app.exec()``.

With qasync, a worker started inside a coroutine uses the asyncio loop, which
already runs on the Qt main thread: nothing here is involved. This module
serves the napari style — ``app.exec()`` with no asyncio loop running — by
delivering through a queued Qt signal to an object on the application's
thread. It is the only module that imports Qt, and only when the application
has imported a binding already.
"""

from __future__ import annotations

import ctypes
import re
import sys
import threading
import warnings
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

from ._dispatch import AsyncioDispatcher, Dispatcher, NestedQtLoop, TimerHandle
from ._qt_calls import ReportingFuture as ReportingFuture
from ._qt_calls import call_in_thread as call_in_thread
from ._qt_calls import main_thread as main_thread
from ._qt_calls import object_thread as object_thread
from ._scope import WorkerScope

__all__ = [
    "QtDispatcher",
    "ReportingFuture",
    "binding_defect",
    "bound_signal_owner",
    "call_in_thread",
    "delete_closed_loop_qobjects",
    "is_bound_signal",
    "is_deleted",
    "is_deleted_source_error",
    "main_thread",
    "make_app_scope",
    "nested_qt_loop",
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

    def call_later(self, delay: float, fn: Callable[[], object]) -> TimerHandle:
        """Post ``fn()`` after *delay* seconds, by a Qt timer (home thread; issue 15)."""
        from ._qt_timer import QtTimer

        return QtTimer(delay, lambda: self.post(fn))

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


#: Packages whose asyncio loops are Qt's own loop (nothing runs nested in them).
_QT_DRIVEN_LOOPS = frozenset({"qasync", "PySide6", "PyQt6", "PySide2", "PyQt5"})


class _NestedQtLoop(QObject):
    """Qt's loop as it runs nested in a plain asyncio loop's callback.

    ipykernel's ``%gui qt`` runs Qt's loop between cells from a callback of the
    kernel's asyncio loop, until the next kernel message: a worker's wake-up of
    the asyncio loop would wait for that message. This object, on the
    application's thread, delivers from Qt's loop instead (see
    ``AsyncioDispatcher.nested_qt``).
    """

    wake_signal = QtCore.Signal(object)  # type: ignore[attr-defined]

    def __init__(self) -> None:
        super().__init__()
        thread = self.thread()
        assert thread is not None
        self._thread = thread
        # A wake-up is queued in Qt and has not run: no second one is needed
        # (its flush runs every call posted before it), and without %gui qt
        # Qt's loop never runs, so they would pile up.
        self._wake_queued = False
        self.wake_signal.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)

    def is_running(self) -> bool:
        return self._thread.loopLevel() > 0

    def wake(self, dispatcher: Dispatcher) -> None:
        if self._wake_queued:
            return
        self._wake_queued = True
        self.wake_signal.emit(dispatcher)

    @QtCore.Slot(object)  # type: ignore[attr-defined, untyped-decorator]
    def _on_wake(self, dispatcher: AsyncioDispatcher) -> None:
        self._wake_queued = False  # before the flush: a call posted from now on wakes again
        dispatcher.flush_from_qt()  # never raises into Qt: flush reports


def nested_qt_loop(loop: object) -> NestedQtLoop | None:
    """Qt's loop if it may run nested in *loop* (called in the loop's thread).

    None when there is no application, when it lives in another thread, or
    when *loop* is Qt's own (qasync, QtAsyncio).
    """
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() != app.thread():
        return None
    if type(loop).__module__.partition(".")[0] in _QT_DRIVEN_LOOPS:
        return None
    return _NestedQtLoop()


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
        # A Qt slot: an exception escaping it aborts a PyQt application (a
        # warning turned into an error by the filters, a raising callback).
        try:
            scope.close_blocking(deliver=True)
        except Exception as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        finally:
            dispatcher.close()

    app.aboutToQuit.connect(end)
    return scope


def binding_defect(api_name: str, version: str, python: tuple[int, int]) -> str | None:
    """Why this Qt binding release cannot run threadworker here, or None.

    PySide6 6.12.0 drops a reference to ``True`` on every ``Signal.emit``.
    From Python 3.12 ``True`` is immortal and nothing happens; on 3.11 its
    count reaches zero after a few hundred emits and the interpreter aborts
    (``Fatal Python error: bool_dealloc``). qasync's ``call_soon_threadsafe``
    and this bridge's wake-ups both emit, so any worker program hits it.
    """
    if api_name.lower() == "pyside6" and version == "6.12.0" and python < (3, 12):
        return (
            "PySide6 6.12.0 drops a reference to True on every Signal.emit; on Python "
            f"{python[0]}.{python[1]} the process aborts after a few hundred emits "
            "(Fatal Python error: bool_dealloc). Install another release "
            "(pip install 'PySide6-Essentials!=6.12.0') or use Python 3.12 or newer."
        )
    return None


def _warn_of_binding_defect() -> None:
    import qtpy

    version = qtpy.PYSIDE_VERSION or qtpy.PYQT_VERSION or ""
    defect = binding_defect(qtpy.API_NAME, version, (sys.version_info[0], sys.version_info[1]))
    if defect is not None:
        warnings.warn(defect, RuntimeWarning, stacklevel=3)


_warn_of_binding_defect()


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


def _deleter() -> Callable[[QObject], None]:
    import importlib

    import qtpy

    if qtpy.PYSIDE6 or qtpy.PYSIDE2:
        shiboken: Any = importlib.import_module("qtpy.shiboken")
        return lambda obj: shiboken.delete(obj)
    sip: Any = importlib.import_module("qtpy.sip")
    return lambda obj: sip.delete(obj)


_delete_now = _deleter()


def delete_closed_loop_qobjects(loop: object) -> None:
    """Destroy a closed loop's own QObjects now, on their thread.

    A closed qasync loop sits in a reference cycle, so Python's cyclic
    collector frees it in whichever thread triggers a collection — often a
    worker's. PySide6 then destroys its timer object in that thread; Qt
    cannot unregister timers from another thread, and the next one due is
    delivered to freed memory: a segfault. A closed loop never uses them
    again, and a thread posting to it after this gets ``RuntimeError`` as
    from a closed asyncio loop. Call it on the loop's thread, after ``close``.

    PySide only: PyQt survives the foreign-thread collection, but emitting a
    signal of an object it deleted crashes it (a late ``call_soon_threadsafe``).
    """
    import qtpy

    if not (qtpy.PYSIDE6 or qtpy.PYSIDE2):
        return
    here = QThread.currentThread()
    for value in list(vars(loop).values()):
        if (
            isinstance(value, QObject)
            and not isinstance(value, (QCoreApplication, QThread))
            and not is_deleted(value)
            and value.thread() == here
        ):
            _delete_now(value)


#: PyQt's bound signals name their object only in their repr (by address):
#: ``<bound PYQT_SIGNAL clicked of QPushButton object at 0x7f...>``.
_PYQT_BOUND_SIGNAL = re.compile(r"^<bound PYQT_SIGNAL (\w+) of (\w+) object at (0x[0-9a-fA-F]+)>$")


def is_bound_signal(obj: object) -> bool:
    """Whether *obj* is a Qt bound signal (``pyqtBoundSignal``, PySide's ``SignalInstance``)."""
    name = type(obj).__name__
    return name in ("pyqtBoundSignal", "SignalInstance") and type(obj).__module__.startswith(
        ("PyQt", "PySide")
    )


def bound_signal_owner(signal: object) -> QObject | None:
    """The QObject a Qt bound signal belongs to, or None if it cannot be told.

    Neither binding exposes it. A PyQt bound signal names its object's Python
    wrapper by address in its repr, and does not keep it alive: the address is
    read while the caller still holds the signal (just taken from a live
    object) and checked against the object found there — its class name, and
    its signal of that name giving the same repr. PySide's ``SignalInstance``
    checks its source itself (see :func:`is_deleted_source_error`).
    """
    match = _PYQT_BOUND_SIGNAL.match(repr(signal))
    if match is None:
        return None
    signal_name, class_name, address = match.groups()
    candidate = ctypes.cast(int(address, 16), ctypes.py_object).value
    if not isinstance(candidate, QObject) or type(candidate).__name__ != class_name:
        return None
    if is_deleted(candidate):
        return candidate  # already gone: its signals are never touched
    if repr(getattr(candidate, signal_name, None)) != repr(signal):
        return None
    return candidate


def is_deleted_source_error(exc: BaseException) -> bool:
    """Whether *exc* is PySide's refusal to use a signal of a deleted object."""
    return isinstance(exc, RuntimeError) and "source has been deleted" in str(exc)


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
