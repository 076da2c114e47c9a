"""run_in_main_thread: worker code calling back into the loop thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import sys
import threading
from typing import TYPE_CHECKING, Any

import pytest

from threadworker import FunctionWorker, run_in_main_thread

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

WAIT = 10


async def test_runs_on_the_loop_thread_and_returns() -> None:
    home = threading.get_ident()

    def worker_code() -> tuple[int, int]:
        return threading.get_ident(), run_in_main_thread(threading.get_ident)

    worker_thread, ran_on = await asyncio.wait_for(FunctionWorker(worker_code), WAIT)
    assert ran_on == home
    assert worker_thread != home


async def test_reraises_in_the_worker() -> None:
    def fail() -> None:
        raise LookupError("in the main thread")

    def worker_code() -> str:
        try:
            run_in_main_thread(fail)
        except LookupError as exc:
            return f"caught {exc}"
        return "not raised"

    assert await asyncio.wait_for(FunctionWorker(worker_code), WAIT) == "caught in the main thread"


async def test_async_functions_run_as_tasks_on_the_loop() -> None:
    loop = asyncio.get_running_loop()

    async def on_loop(x: int) -> bool:
        await asyncio.sleep(0)
        return asyncio.get_running_loop() is loop and x == 3

    assert await asyncio.wait_for(FunctionWorker(run_in_main_thread, on_loop, 3), WAIT)


async def test_on_the_home_thread_it_runs_directly_and_refuses_coroutines() -> None:
    assert run_in_main_thread(threading.get_ident) == threading.get_ident()

    async def nothing() -> None:
        pass

    with pytest.raises(RuntimeError, match="await the coroutine there instead"):
        run_in_main_thread(nothing)


# -- ensure_main_thread / ensure_object_thread (superqt's decorators, Qt) ------------
WAIT_MS = 10_000


def _qt_emitter() -> Any:
    from qtpy import QtCore

    class Emitter(QtCore.QObject):
        sig = QtCore.Signal(int, int, int)  # type: ignore[attr-defined]

    return Emitter()


def test_every_queued_call_runs_even_with_the_garbage_collector_running(qtbot: QtBot) -> None:
    from threadworker import ensure_main_thread

    ran: list[int] = []

    @ensure_main_thread
    def record(i: int) -> int:
        ran.append(i)
        return i

    futures: list[concurrent.futures.Future[int]] = []

    def caller() -> None:
        for i in range(2000):
            futures.append(record(i))
            if i % 100 == 0:
                gc.collect()  # frees whatever only a reference cycle holds

    thread = threading.Thread(target=caller)
    thread.start()
    thread.join(WAIT)
    gc.collect()
    qtbot.waitUntil(lambda: len(ran) == 2000, timeout=WAIT_MS)
    assert ran == list(range(2000))
    assert [f.result(0) for f in futures] == list(range(2000))


def test_ensure_object_thread_call_survives_a_collection_before_delivery(qtbot: QtBot) -> None:
    from qtpy.QtCore import QObject, QThread

    from threadworker import ensure_object_thread

    class Model(QObject):
        @ensure_object_thread
        def where(self) -> int:
            return threading.get_ident()

    thread = QThread()
    model = Model()
    model.moveToThread(thread)
    futures = [model.where() for _ in range(50)]  # queued before the thread runs
    gc.collect()
    thread.start()
    try:
        idents = {f.result(WAIT) for f in futures}
    finally:
        thread.quit()
        thread.wait(WAIT_MS)
    assert len(idents) == 1
    assert threading.get_ident() not in idents


@pytest.mark.parametrize("decorator", ["ensure_main_thread", "ensure_object_thread"])
def test_extra_signal_arguments_are_dropped_as_qt_does(qtbot: QtBot, decorator: str) -> None:
    from qtpy.QtCore import QObject

    import threadworker

    deco: Any = getattr(threadworker, decorator)
    calls: list[tuple[int, int]] = []

    class Receiver(QObject):
        @deco  # type: ignore[untyped-decorator]
        def take_two(self, a: int, b: int) -> None:
            calls.append((a, b))

    receiver = Receiver()
    emitter = _qt_emitter()
    emitter.sig.connect(receiver.take_two)
    emitter.sig.emit(1, 2, 3)
    thread = threading.Thread(target=emitter.sig.emit, args=(4, 5, 6))
    thread.start()
    thread.join(WAIT)
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=WAIT_MS)
    assert calls == [(1, 2), (4, 5)]


def test_an_exception_nobody_reads_reaches_sys_excepthook(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from threadworker import ensure_main_thread

    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda t, e, tb: reported.append(e))

    @ensure_main_thread
    def fail(tag: str) -> None:
        raise LookupError(tag)

    read: list[concurrent.futures.Future[None]] = []

    def caller() -> None:
        fail("dropped")  # fire and forget: nobody will read it
        read.append(fail("read"))

    thread = threading.Thread(target=caller)
    thread.start()
    thread.join(WAIT)
    qtbot.waitUntil(lambda: len(reported) == 1 and read[0].done(), timeout=WAIT_MS)
    assert isinstance(read[0].exception(0), LookupError)
    del read[:]  # read, then dropped: not reported
    gc.collect()
    assert [str(e) for e in reported] == ["dropped"]
    # Connected to a Qt signal (which drops the returned future) from a thread.
    emitter = _qt_emitter()
    emitter.sig.connect(fail)
    thread = threading.Thread(target=emitter.sig.emit, args=(7, 8, 9))
    thread.start()
    thread.join(WAIT)
    qtbot.waitUntil(lambda: len(reported) == 2, timeout=WAIT_MS)
    assert str(reported[1]) == "7"


async def test_a_home_waiting_for_workers_still_runs_their_calls() -> None:
    # The worker waits for its call to run at home; the home waits for the
    # worker (await_workers): it must run the call meanwhile.
    from threadworker import WorkerAborted, WorkerBase

    home = threading.get_ident()
    gate = threading.Event()
    ran_on: list[int] = []

    def at_home() -> None:
        ran_on.append(threading.get_ident())

    def worker_code() -> None:
        gate.wait(WAIT)
        run_in_main_thread(at_home)

    worker = FunctionWorker(worker_code)
    worker.start()
    await asyncio.wait_for(worker.started, WAIT)
    gate.set()  # the call is made while the loop is blocked below: no flush runs it
    WorkerBase.await_workers(WAIT * 1000)
    assert worker._thread_done.is_set()  # the call was served: the function ended
    with pytest.raises(WorkerAborted):  # await_workers quit it
        await asyncio.wait_for(worker, WAIT)
    await asyncio.sleep(0.01)  # the queued copy runs now, and finds it done
    assert ran_on == [home]


async def test_an_async_call_fails_clearly_while_the_home_waits_for_workers() -> None:
    from threadworker import WorkerBase

    gate = threading.Event()
    errors: list[BaseException] = []

    async def on_loop() -> int:
        return 1

    def worker_code() -> None:
        gate.wait(WAIT)
        try:
            run_in_main_thread(on_loop)
        except RuntimeError as exc:
            errors.append(exc)

    worker = FunctionWorker(worker_code)
    worker.start()
    await asyncio.wait_for(worker.started, WAIT)
    gate.set()
    WorkerBase.await_workers(WAIT * 1000)
    assert worker._thread_done.is_set()
    assert len(errors) == 1
    assert "blocked waiting for workers" in str(errors[0])


@pytest.mark.qt
def test_quitting_app_exec_serves_a_worker_waiting_in_run_in_main_thread() -> None:
    import os
    import subprocess
    import sys
    import textwrap

    code = """
    import sys, threading
    from qtpy.QtWidgets import QApplication
    from qtpy.QtCore import QTimer
    from threadworker import FunctionWorker, configure, run_in_main_thread

    app = QApplication(sys.argv)
    main = threading.get_ident()
    gate = threading.Event()

    def worker_code():
        gate.wait()
        return run_in_main_thread(lambda: threading.get_ident() == main)

    def begin():
        # A stuck call would sit out this whole timeout, then warn "abandoned".
        configure(shutdown_timeout=60)
        worker = FunctionWorker(worker_code)
        worker.aborted.connect(lambda: print("aborted", flush=True))
        worker.start()
        gate.set()
        app.quit()  # the home now waits for the worker, which waits for the home

    QTimer.singleShot(0, begin)
    app.exec()
    print("app.exec returned", flush=True)
    """
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONWARNINGS": "default"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["aborted", "app.exec returned"]
    assert "abandoned" not in result.stderr
