"""Qt without a running asyncio loop (the napari style), and pytest-qt."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("qtpy")
from pytestqt.qtbot import QtBot
from qtpy import QtCore
from qtpy.QtCore import QObject, QTimer
from qtpy.QtWidgets import QLabel, QPushButton, QWidget

from script_runner import run_script
from threadworker import (
    FunctionWorker,
    GeneratorWorker,
    Signal,
    ensure_main_thread,
    ensure_object_thread,
    new_worker_qthread,
    thread_worker,
)

WAIT_MS = 10_000


def ticks() -> Generator[int, None, None]:
    i = 0
    while True:
        yield i
        i += 1
        threading.Event().wait(0.001)


def test_callbacks_arrive_on_the_gui_thread(qtbot: QtBot) -> None:
    seen: list[Any] = []
    worker = FunctionWorker(threading.get_ident)
    worker.returned.connect(lambda ident: seen.append((ident, threading.get_ident())))
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()
    [(worker_ident, callback_ident)] = seen
    assert callback_ident == threading.get_ident()  # the GUI thread
    assert worker_ident != callback_ident


def test_wait_signals_strict_order_accepts_worker_signals(qtbot: QtBot) -> None:
    worker = FunctionWorker(lambda: 3)
    with qtbot.waitSignals(
        [worker.started, worker.returned, worker.finished],
        order="strict",
        check_params_cbs=[None, lambda value: value == 3, None],  # type: ignore[list-item]
        timeout=WAIT_MS,
    ):
        worker.start()


def test_generator_signal_order_strict(qtbot: QtBot) -> None:
    def three() -> Generator[int, None, str]:
        yield 1
        yield 2
        return "end"

    worker = GeneratorWorker(three)
    with qtbot.waitSignals(
        [worker.started, worker.yielded, worker.yielded, worker.returned, worker.finished],
        order="strict",
        check_params_cbs=[None, lambda v: v == 1, lambda v: v == 2, lambda v: v == "end", None],  # type: ignore[list-item]
        timeout=WAIT_MS,
    ):
        worker.start()


def test_timeout_message_names_the_worker_signal(qtbot: QtBot) -> None:
    worker = FunctionWorker(lambda: 1)
    with (
        pytest.raises(qtbot.TimeoutError, match=r"FunctionWorker\[<lambda>\]\.errored"),
        qtbot.waitSignal(worker.errored, timeout=300),
    ):
        worker.start()
    qtbot.waitUntil(lambda: not worker.is_running, timeout=WAIT_MS)


def test_assert_not_emitted(qtbot: QtBot) -> None:
    worker = FunctionWorker(lambda: 1)
    with qtbot.assertNotEmitted(worker.errored), qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()


def test_button_clicked_quits_and_finished_disconnects_the_button(qtbot: QtBot) -> None:
    button = QPushButton("STOP!")
    qtbot.addWidget(button)
    worker = GeneratorWorker(ticks)
    button.clicked.connect(worker.quit)
    worker.finished.connect(button.clicked.disconnect)
    with qtbot.waitSignal(worker.yielded, timeout=WAIT_MS):
        worker.start()
    with qtbot.waitSignals([worker.aborted, worker.finished], order="strict", timeout=WAIT_MS):
        button.click()
    button.click()  # disconnected: nothing happens, nothing raises


def test_qtimer_single_shot_can_call_quit(qtbot: QtBot) -> None:
    worker = GeneratorWorker(ticks)
    with qtbot.waitSignal(worker.yielded, timeout=WAIT_MS):
        worker.start()
    with qtbot.waitSignal(worker.aborted, timeout=WAIT_MS):
        QTimer.singleShot(0, worker.quit)


def test_worker_signal_chains_into_a_qt_signal(qtbot: QtBot) -> None:
    class Model(QObject):
        value_changed = QtCore.Signal(object)  # type: ignore[attr-defined]

    model = Model()
    worker = FunctionWorker(lambda: "to Qt")
    worker.returned.connect(model.value_changed)
    with qtbot.waitSignal(model.value_changed, timeout=WAIT_MS) as blocker:
        worker.start()
    assert blocker.args == ["to Qt"]


def test_unhandled_error_goes_to_sys_excepthook(qtbot: QtBot) -> None:
    worker = FunctionWorker(lambda: 1 / 0)
    with qtbot.capture_exceptions() as exceptions:
        with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
            worker.start()
        qtbot.wait(1)
    assert [type(e[1]) for e in exceptions] == [ZeroDivisionError]


def test_pause_resume_send_from_the_gui_thread(qtbot: QtBot) -> None:
    received: list[Any] = []

    def echo() -> Generator[int, Any, None]:
        while True:
            value = yield 0
            if value is not None:
                received.append(value)

    worker = GeneratorWorker(echo)
    with qtbot.waitSignal(worker.yielded, timeout=WAIT_MS):
        worker.start()
    with qtbot.waitSignal(worker.paused, timeout=WAIT_MS):
        worker.toggle_pause()
    with qtbot.waitSignal(worker.resumed, timeout=WAIT_MS):
        worker.toggle_pause()
    worker.send("hello")
    qtbot.waitUntil(lambda: received == ["hello"], timeout=WAIT_MS)
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.quit()


def test_connect_decorator_option_in_qt(qtbot: QtBot) -> None:
    results: list[int] = []

    @thread_worker(connect={"returned": results.append})
    def compute() -> int:
        return 11

    worker = compute()
    qtbot.waitUntil(lambda: results == [11], timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not worker.is_running, timeout=WAIT_MS)


def test_worker_started_from_a_plain_thread_delivers_to_the_gui(qtbot: QtBot) -> None:
    delivered: list[int] = []
    worker = FunctionWorker(lambda: 1)
    worker.returned.connect(lambda _: delivered.append(threading.get_ident()))
    starter = threading.Thread(target=worker.start)
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        starter.start()
        starter.join(10)
    assert delivered == [threading.get_ident()]


def delete_cpp(obj: object) -> None:
    """Delete the C++ side of a Qt object, as deleteLater eventually does."""
    import importlib

    import qtpy

    helper: Any = importlib.import_module("qtpy.shiboken" if qtpy.PYSIDE6 else "qtpy.sip")
    helper.delete(obj)


def test_deleted_receivers_are_skipped_and_disconnected(qtbot: QtBot) -> None:
    from threadworker._qt import is_deleted

    class Receiver(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.got: list[str] = []

        def on_value(self, value: str) -> None:
            self.got.append(value)

    label = QLabel()
    receiver = Receiver()
    survivor = Receiver()
    worker = FunctionWorker(lambda: "value")
    worker.returned.connect(label.setText)
    worker.returned.connect(receiver.on_value)
    worker.returned.connect(survivor.on_value)
    delete_cpp(label)
    delete_cpp(receiver)
    assert is_deleted(label)
    assert is_deleted(receiver)
    # A call into a deleted object would raise RuntimeError, which would reach
    # sys.excepthook, which pytest-qt turns into a failure of this test.
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()
    assert survivor.got == ["value"]
    [remaining] = worker.returned._slots  # the deleted receivers were disconnected
    assert remaining.target() == survivor.on_value


def delete_later(obj: Any) -> None:
    """Delete a Qt object the way an application does: deleteLater, then events."""
    from qtpy.QtCore import QCoreApplication, QEvent

    obj.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


@pytest.mark.parametrize("how", ["deleteLater", "delete"])
def test_bound_signals_of_deleted_objects_are_skipped_and_dropped(qtbot: QtBot, how: str) -> None:
    from threadworker._qt import is_deleted

    panel = QWidget()
    button = QPushButton("STOP!", panel)
    survivor = QPushButton("other")
    qtbot.addWidget(survivor)
    clicks: list[bool] = []
    survivor.clicked.connect(lambda checked=False: clicks.append(checked))
    worker = FunctionWorker(lambda: None)
    worker.finished.connect(button.clicked.disconnect)  # the guide's graceful exit
    worker.finished.connect(button.clicked)  # chained: emits the Qt signal
    worker.finished.connect(button.clicked.emit)
    worker.finished.connect(survivor.clicked)
    if how == "delete":
        delete_cpp(panel)
    else:
        delete_later(panel)
    assert is_deleted(button)
    # Touching the deleted button's signal would crash PyQt (and make PySide
    # raise into sys.excepthook, which pytest-qt turns into a failure).
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()
    assert clicks == [False]  # the live button's signal was emitted
    [remaining] = worker.finished._slots  # the deleted button's three were dropped
    assert remaining.matches(survivor.clicked)


def test_a_qt_signal_method_is_found_again_by_disconnect(qtbot: QtBot) -> None:
    button = QPushButton()
    qtbot.addWidget(button)
    worker = FunctionWorker(lambda: None)
    # A new method object at each access: found by its signal and name.
    worker.finished.connect(button.clicked.disconnect)
    worker.finished.disconnect(button.clicked.disconnect)
    worker.finished.connect(button.clicked.emit)
    with pytest.raises(ValueError, match="not connected"):
        worker.finished.disconnect(button.pressed.emit)
    worker.finished.disconnect(button.clicked.emit)
    assert worker.finished._slots == []


GRACEFUL_EXIT = """
import sys, threading
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication, QLabel, QPushButton, QVBoxLayout, QWidget
from threadworker import thread_worker

app = QApplication(sys.argv)
app.setQuitOnLastWindowClosed(False)  # quit below, once the dock is gone

@thread_worker
def ticks():
    i = 0
    while True:  # ends only when quit
        yield i
        i += 1
        threading.Event().wait(0.001)

dock = QWidget()
layout = QVBoxLayout(dock)
button = QPushButton("STOP!")
label = QLabel()
layout.addWidget(button)
layout.addWidget(label)
dock.show()
worker = ticks()
button.clicked.connect(worker.quit)
worker.finished.connect(button.clicked.disconnect)  # the guide's graceful exit
worker.yielded.connect(label.setNum)  # pending values reach a deleted label too
# Quit once the dock and its button are deleted, as napari deletes its docks.
button.destroyed.connect(lambda: QTimer.singleShot(0, app.quit))

def close_dock():
    dock.close()
    dock.deleteLater()

worker.yielded.connect(lambda value: value == 3 and QTimer.singleShot(0, close_dock))
worker.start()
app.exec()
print("clean exit", worker.is_running)
"""


def run_child(tmp_path: Any, code: str) -> subprocess.CompletedProcess[str]:
    """Run *code* in a fresh interpreter (a crash there must not end this one)."""
    script = tmp_path / "child.py"
    script.write_text(code)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_graceful_exit_without_pressing_stop_exits_cleanly(tmp_path: Any) -> None:
    result = run_child(tmp_path, GRACEFUL_EXIT)
    assert result.returncode == 0, result.stderr[-3000:]  # was 139 (SIGSEGV) on PyQt
    assert "clean exit False" in result.stdout
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


ABANDONING_QUIT = """
import sys, threading, warnings
warnings.simplefilter("error")  # the abandoned-worker warning becomes an exception
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication
import threadworker

app = QApplication(sys.argv)
threadworker.configure(shutdown_timeout=0.2)
gate = threading.Event()
worker = threadworker.create_worker(lambda: gate.wait(30))
worker.started.connect(lambda: QTimer.singleShot(0, app.quit))
worker.start()
app.exec()
gate.set()
print("clean exit")
"""


def test_an_error_while_the_app_quits_is_reported_not_fatal(tmp_path: Any) -> None:
    result = run_child(tmp_path, ABANDONING_QUIT)
    assert result.returncode == 0, result.stderr[-3000:]  # was 134 (abort) on PyQt
    assert "clean exit" in result.stdout
    assert "RuntimeWarning: threadworker abandoned 1 worker" in result.stderr


def test_connected_widget_is_not_kept_alive(qtbot: QtBot) -> None:
    import gc
    import weakref

    class View(QWidget):
        def show_value(self, value: object) -> None:
            pass

    view = View()
    worker = FunctionWorker(lambda: 1)
    worker.returned.connect(view.show_value)
    ref = weakref.ref(view)
    del view
    gc.collect()
    assert ref() is None
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()


def test_ensure_main_thread_from_a_worker(qtbot: QtBot) -> None:
    main = threading.get_ident()

    @ensure_main_thread(await_return=True)
    def where(tag: str) -> tuple[str, int]:
        """Say where this runs."""
        return tag, threading.get_ident()

    @ensure_main_thread
    def later() -> int:
        return threading.get_ident()

    assert where.__name__ == "where"
    assert where.__doc__ == "Say where this runs."

    def plain(tag: str) -> tuple[str, int]:
        return tag, 0

    assert inspect.signature(where) == inspect.signature(plain)

    def worker_code() -> tuple[tuple[str, int], int]:
        return where("x"), later().result(10)

    results: list[object] = []
    worker = FunctionWorker(worker_code)
    worker.returned.connect(results.append)
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()
    assert results == [(("x", main), main)]
    # On the main thread it runs directly.
    assert where("here") == ("here", main)
    assert later().result(0) == main


def test_ensure_main_thread_times_out_when_the_main_thread_is_busy(qtbot: QtBot) -> None:
    import concurrent.futures

    @ensure_main_thread(await_return=True, timeout=50)
    def never_runs_in_time() -> None:
        pass

    outcome: list[BaseException] = []

    def call() -> None:
        try:
            never_runs_in_time()
        except concurrent.futures.TimeoutError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    caller.join(10)  # the main thread is blocked here: no event runs
    assert len(outcome) == 1
    qtbot.wait(10)  # let the queued call run before the test ends


def test_ensure_object_thread_runs_in_the_objects_thread(qtbot: QtBot) -> None:
    from qtpy.QtCore import QThread

    class Model(QObject):
        @ensure_object_thread(await_return=True)
        def thread_id(self) -> int:
            return threading.get_ident()

    thread = QThread()
    model = Model()
    model.moveToThread(thread)
    thread.start()
    try:
        seen: list[int] = []
        caller = threading.Thread(target=lambda: seen.append(model.thread_id()))
        caller.start()
        caller.join(10)
        assert len(seen) == 1
        assert seen[0] not in (threading.get_ident(), caller.ident)
    finally:
        thread.quit()
        thread.wait(WAIT_MS)
    with pytest.raises(TypeError, match="methods of QObjects"):
        ensure_object_thread(lambda self: None)(object())


def test_the_binding_under_test_is_the_one_asked_for() -> None:
    import os

    import qtpy

    assert os.environ.get("QT_API", "pyqt6") == qtpy.API


class CountingWorker(QObject):
    """A superqt-style QObject worker: ``work()`` slot, ``finished`` signal."""

    finished = QtCore.Signal()  # type: ignore[attr-defined]
    counted = QtCore.Signal(int)  # type: ignore[attr-defined]

    def __init__(self, upto: int) -> None:
        super().__init__()
        self.upto = upto
        self.thread_ids: list[int] = []

    @QtCore.Slot()  # type: ignore[attr-defined, untyped-decorator]
    def work(self) -> None:
        for i in range(self.upto):
            self.thread_ids.append(threading.get_ident())
            self.counted.emit(i)
        self.finished.emit()


def test_new_worker_qthread_runs_work_and_the_worker_stays_usable(qtbot: QtBot) -> None:
    counted: list[int] = []
    worker, thread = new_worker_qthread(
        CountingWorker, 3, _start_thread=True, _connect={"counted": counted.append}
    )
    with qtbot.waitSignal(thread.finished, timeout=WAIT_MS):
        pass
    qtbot.waitUntil(lambda: counted == [0, 1, 2], timeout=WAIT_MS)
    assert set(worker.thread_ids) != {threading.get_ident()}
    # superqt deleteLater()s the worker here; ours is still a live object.
    qtbot.wait(10)
    from threadworker._qt import is_deleted

    assert not is_deleted(worker)
    assert worker.upto == 3
    assert thread.isFinished()


def test_new_worker_qthread_waits_to_be_started_and_checks_connect(qtbot: QtBot) -> None:
    _worker, thread = new_worker_qthread(CountingWorker, 1)
    assert not thread.isRunning()
    with qtbot.waitSignal(thread.finished, timeout=WAIT_MS):
        thread.start()
    with pytest.raises(TypeError, match="must be a dict"):
        new_worker_qthread(CountingWorker, 1, _connect=[print])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a signal"):
        new_worker_qthread(CountingWorker, 1, _connect={"upto": print})


def test_worker_signals_are_callables_qt_can_call(qtbot: QtBot) -> None:
    class Owner:
        poked: Signal[None] = Signal()
        value: Signal[int] = Signal(nargs=1)

        def _post_to_home(self, fn: object, *args: object) -> bool:
            return False

        def _report_exception(self, exc: BaseException, message: str) -> None:
            raise exc

        def _signal_owner_name(self) -> str:
            return "Owner"

        def _signal_created(self, signal: object) -> None:
            pass

    owner = Owner()
    seen: list[object] = []
    owner.poked.connect(lambda: seen.append("poked"))
    owner.value.connect(seen.append)
    button = QPushButton()
    qtbot.addWidget(button)
    button.clicked.connect(owner.poked)  # PyQt/PySide pass `checked`: dropped
    button.click()
    QTimer.singleShot(0, owner.poked)
    qtbot.waitUntil(lambda: seen.count("poked") == 2, timeout=WAIT_MS)

    class Model(QObject):
        changed = QtCore.Signal(int)  # type: ignore[attr-defined]

    model = Model()
    model.changed.connect(owner.value)  # a Qt signal chaining into ours
    model.changed.emit(7)
    assert seen[-1] == 7


def test_emitting_a_qt_signal_keeps_every_reference() -> None:
    """The installed binding does not drop a reference on emit (PySide6 6.12.0 drops True's)."""

    class Emitter(QObject):
        fired = QtCore.Signal()  # type: ignore[attr-defined]

    emitter = Emitter()
    emitter.fired.connect(lambda: None)
    before = sys.getrefcount(True)
    for _ in range(100):
        emitter.fired.emit()
    assert sys.getrefcount(True) >= before


def test_a_binding_release_that_aborts_python_is_named_with_the_fix() -> None:
    from threadworker._qt import binding_defect

    defect = binding_defect("PySide6", "6.12.0", (3, 11))
    assert defect is not None
    assert "bool_dealloc" in defect
    assert "PySide6-Essentials!=6.12.0" in defect
    assert binding_defect("PySide6", "6.12.0", (3, 12)) is None  # True is immortal there
    assert binding_defect("PySide6", "6.11.2", (3, 11)) is None
    assert binding_defect("PyQt6", "6.12.0", (3, 11)) is None


def test_a_closed_qasync_loop_freed_by_another_thread_does_not_crash_qt(tmp_path: Path) -> None:
    """A closed qasync loop is freed by the cyclic collector in any thread.

    Freed in a worker thread, PySide6 destroyed its timer object there; Qt
    cannot unregister timers from another thread, and the next timer to fire
    (here a finished ``wait_for``'s) was delivered to freed memory: rc -11.
    """
    result = run_script(
        """
import asyncio, gc, threading, time
from qtpy.QtWidgets import QApplication
import qasync
from threadworker import FunctionWorker

app = QApplication([])
for _ in range(5):
    loop = qasync.QEventLoop(app)
    async def main():
        await asyncio.wait_for(FunctionWorker(lambda: 1), 0.3)  # leaves a 0.3 s Qt timer
    loop.run_until_complete(main())
    loop.close()
    held = [loop]
    del loop, main
    def drop():
        held.clear()
        gc.collect()
    dropper = threading.Thread(target=drop)
    dropper.start()
    dropper.join()
end = time.monotonic() + 1
while time.monotonic() < end:  # the timers come due
    app.processEvents()
print("clean")
""",
        tmp_path,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "clean"), result.stderr[-2000:]
