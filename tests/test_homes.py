"""Every home a coroutine can run in gets the same behaviour tests.

The homes: ``asyncio.run``, ``qasync.run``, ``uvloop.run`` and PySide6's
``QtAsyncio.run`` (which needs the full PySide6 package, not
PySide6-Essentials: ``make test-qtasyncio`` installs it). In each, callbacks
and awaits run on the home thread, in the order the worker emitted them, and
the workers end when the home stops. (``app.exec()`` with no loop is tested in
``test_qt.py``; a Jupyter kernel in ``test_jupyter.py``.)
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Coroutine, Generator
from typing import Any, TypeVar

import pytest

from threadworker import GeneratorWorker, thread_worker

T = TypeVar("T")
WAIT = 20
HOMES = ["asyncio", "qasync", "uvloop", "qtasyncio"]


def run_in_home(
    home: str, main: Callable[[], Coroutine[Any, Any, T]], *, keep_running: bool = False
) -> T:
    """Run ``main()`` to completion the way a user of *home* would."""
    if home == "asyncio":
        return asyncio.run(main(), debug=True)
    if home == "uvloop":
        uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (not on Windows)")
        result: T = uvloop.run(main(), debug=True)
        return result
    if home == "qasync":
        import qasync
        from qtpy.QtWidgets import QApplication

        _ = QApplication.instance() or QApplication([])
        # Not in debug mode: qasync 0.28's debug path calls
        # asyncio.get_event_loop() in its timer handler, which raises on 3.12+
        # once asyncio.run has unset the loop, before it closes it (and the
        # close is where the workers are ended).
        result = qasync.run(main())
        return result
    assert home == "qtasyncio"
    import qtpy

    if qtpy.API_NAME != "PySide6":
        pytest.skip("QtAsyncio is PySide6's: `make test-qtasyncio` runs it")
    qt_asyncio = pytest.importorskip(
        "PySide6.QtAsyncio", reason="QtAsyncio needs the full PySide6 (make test-qtasyncio)"
    )
    from qtpy.QtWidgets import QApplication

    _ = QApplication.instance() or QApplication([])
    # keep_running=False: stop when main() returns (True: when the application
    # quits). Its stop quits the QApplication (with quit_qapp=False, PySide6
    # 6.11's run never returns); a quit application can run again.
    result = qt_asyncio.run(main(), keep_running=keep_running, debug=True)
    return result


@thread_worker
def count(n: int) -> Generator[int, None, str]:
    yield from range(n)
    return "counted"


@thread_worker
def forever(cleaned_up: threading.Event) -> Generator[int, None, None]:
    try:
        while True:
            yield 0
    finally:
        cleaned_up.set()


@thread_worker
def square(x: int) -> int:
    return x * x


@thread_worker
def fail() -> None:
    raise ValueError("from the worker thread")


@pytest.mark.parametrize("home", HOMES)
def test_callbacks_and_awaits_run_on_the_home_thread_in_order(home: str) -> None:
    n = 300

    async def main() -> tuple[int, list[tuple[object, int]], list[tuple[object, int]]]:
        here = threading.get_ident()
        seen: list[tuple[object, int]] = []
        worker = count(n)
        for name in ("started", "returned", "finished"):
            getattr(worker, name).connect(
                lambda *args, name=name: seen.append((name, threading.get_ident()))
            )
        worker.yielded.connect(lambda value: seen.append((value, threading.get_ident())))
        awaited: list[tuple[object, int]] = []
        async for value in worker:  # starts it
            awaited.append((value, threading.get_ident()))
        awaited.append((await worker.returned, threading.get_ident()))
        await asyncio.wait_for(worker.finished, WAIT)
        return here, seen, awaited

    here, seen, awaited = run_in_home(home, main)
    assert [event for event, _ in seen] == ["started", *range(n), "returned", "finished"]
    assert [value for value, _ in awaited] == [*range(n), "counted"]
    assert {thread for _, thread in seen + awaited} == {here}


@pytest.mark.parametrize("home", HOMES)
def test_workers_deliver_results_and_errors_where_awaited(home: str) -> None:
    async def main() -> tuple[list[int], str]:
        squares = await asyncio.wait_for(asyncio.gather(*(square(i) for i in range(8))), WAIT)
        with pytest.raises(ValueError, match="from the worker thread") as caught:
            await asyncio.wait_for(fail(), WAIT)
        return squares, str(caught.value)

    squares, error = run_in_home(home, main)
    assert squares == [i * i for i in range(8)]
    assert error == "from the worker thread"


@pytest.mark.parametrize("home", HOMES)
def test_the_home_stopping_ends_its_workers(home: str) -> None:
    cleaned_up = threading.Event()
    events: list[str] = []
    workers: list[GeneratorWorker[int, None, None]] = []

    async def main() -> None:
        worker = forever(cleaned_up)
        workers.append(worker)
        for name in ("aborted", "finished"):
            getattr(worker, name).connect(lambda name=name: events.append(name))
        worker.start()
        await asyncio.wait_for(worker.yielded, WAIT)
        # Return with the worker running: the home's end must end it.

    run_in_home(home, main)
    assert cleaned_up.is_set()  # the generator was closed, not abandoned
    assert events == ["aborted", "finished"]
    assert workers[0]._thread_done.wait(WAIT)


def test_qtasyncio_quitting_the_application_ends_its_workers() -> None:
    """QtAsyncio's default: the loop runs until the application quits."""
    cleaned_up = threading.Event()
    events: list[str] = []

    async def main() -> None:
        from qtpy.QtWidgets import QApplication

        worker = forever(cleaned_up)
        for name in ("aborted", "finished"):
            getattr(worker, name).connect(lambda name=name: events.append(name))
        worker.start()
        await asyncio.wait_for(worker.yielded, WAIT)
        app = QApplication.instance()
        assert app is not None
        app.quit()  # from outside the loop: QtAsyncio closes it while it runs

    run_in_home("qtasyncio", main, keep_running=True)
    assert cleaned_up.is_set()
    assert events == ["aborted", "finished"]  # delivered on the way out


# Not on uvloop: its create_task does not take the eager_start the factory passes.
@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.eager_task_factory is new in 3.12")
@pytest.mark.parametrize("home", ["asyncio", "qasync"])
def test_eager_tasks_start_await_and_iterate_workers(home: str) -> None:
    async def use_workers() -> tuple[list[int], int]:
        # An eager task runs up to its first suspension inside create_task:
        # the worker starts, and is awaited, before the task is scheduled.
        values = [value async for value in count(5)]
        return values, await square(9)

    async def main() -> tuple[list[int], int, bool]:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined,unused-ignore]
        started = threading.Event()

        async def starts_at_once() -> None:
            count(1).start()  # in the eager step, before create_task returns
            started.set()

        task = loop.create_task(starts_at_once())
        ran_eagerly = started.is_set()
        await task
        values, squared = await asyncio.wait_for(loop.create_task(use_workers()), WAIT)
        return values, squared, ran_eagerly

    values, squared, ran_eagerly = run_in_home(home, main)
    assert ran_eagerly
    assert values == [0, 1, 2, 3, 4]
    assert squared == 81


def test_after_a_callback_raises_keyboard_interrupt_workers_still_deliver() -> None:
    """As in a Jupyter kernel the user interrupts: the loop stops, then runs again."""
    from threadworker import FunctionWorker

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # workers started before it runs deliver to it
    try:
        interrupted = FunctionWorker(lambda: "interrupted")
        events: list[str] = []

        def on_returned(_: object) -> None:
            raise KeyboardInterrupt

        interrupted.returned.connect(on_returned)
        interrupted.finished.connect(lambda: events.append("finished"))
        interrupted.start()
        with pytest.raises(KeyboardInterrupt):  # it goes on to whoever runs the loop
            loop.run_forever()
        assert events == ["finished"]  # emitted from a finally all the same
        later = FunctionWorker(lambda: "delivered")
        later.start()
        assert loop.run_until_complete(asyncio.wait_for(later.returned, WAIT)) == "delivered"
    finally:
        loop.close()
        asyncio.set_event_loop(None)
