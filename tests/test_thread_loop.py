"""A worker started before its loop runs finds the loop set for its thread.

Without ever creating a loop nobody would run (asyncio.get_event_loop() does,
in the main thread, on Python 3.11-3.13), and with no policy call on 3.14+.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Generator

from threadworker import FunctionWorker, GeneratorWorker
from threadworker._thread_loop import loop_set_for_this_thread

WAIT = 10


def test_nothing_set_in_the_main_thread_creates_no_loop() -> None:
    # A fresh interpreter: pytest has already set and unset loops in this one.
    code = """
import asyncio
from threadworker import FunctionWorker
from threadworker._thread_loop import loop_set_for_this_thread

assert loop_set_for_this_thread() is None
assert loop_set_for_this_thread() is None  # the first look created nothing
try:
    FunctionWorker(lambda: None).start()
except RuntimeError as exc:
    print("refused:", exc)
asyncio.set_event_loop(asyncio.new_event_loop())
print("found a set loop:", loop_set_for_this_thread() is not None)
"""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "refused: cannot start a worker here: there is no running asyncio event loop and no "
        "QApplication. Start workers from a coroutine (asyncio.run / qasync.run), or create "
        "a QApplication first; or call worker.work() to run it in this thread.",
        "found a set loop: True",
    ]


def test_a_loop_set_in_another_thread_gets_the_workers_started_there() -> None:
    got: list[object] = []
    errors: list[BaseException] = []

    def home() -> None:
        try:
            assert loop_set_for_this_thread() is None
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                assert loop_set_for_this_thread() is loop
                worker = FunctionWorker(threading.get_ident)
                worker.returned.connect(got.append)
                worker.start()  # before the loop runs
                got.append(loop.run_until_complete(asyncio.wait_for(worker.finished, WAIT)))
                got.append(threading.get_ident())
            finally:
                loop.close()
                asyncio.set_event_loop(None)
            assert loop_set_for_this_thread() is None  # closed and unset
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=home)
    thread.start()
    thread.join(WAIT * 2)
    assert not errors, errors
    worker_thread, finished, home_thread = got
    assert finished is None
    assert worker_thread != home_thread
    assert home_thread == thread.ident


def test_a_closed_loop_is_not_a_home() -> None:
    loop = asyncio.new_event_loop()
    loop.close()
    asyncio.set_event_loop(loop)
    try:
        assert loop_set_for_this_thread() is None
    finally:
        asyncio.set_event_loop(None)


def test_a_running_loop_set_in_another_thread_is_home_to_what_starts_there() -> None:
    """The loop runs in this thread; another thread sets it as its own and starts a worker.

    The home is the thread running the loop, not the one that happened to
    start the first worker: the starter's own posts once went through the
    non-thread-safe ``call_soon``, which debug mode refuses — after which
    every delivery was dropped and the worker could not even be quit.
    """

    def count() -> Generator[int, None, str]:
        yield from range(3)
        return "done"

    async def main() -> tuple[list[int], str]:
        loop = asyncio.get_running_loop()
        got: list[int] = []

        def start_here() -> GeneratorWorker[int, None, str]:
            asyncio.set_event_loop(loop)
            try:
                worker = GeneratorWorker(count)
                worker.yielded.connect(got.append)
                worker.start()
                return worker
            finally:
                asyncio.set_event_loop(None)

        worker = await asyncio.to_thread(start_here)
        returned = await asyncio.wait_for(worker.returned, WAIT)
        return got, returned

    assert asyncio.run(asyncio.wait_for(main(), WAIT), debug=True) == ([0, 1, 2], "done")
