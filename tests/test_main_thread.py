"""run_in_main_thread: worker code calling back into the loop thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from threadworker import FunctionWorker, run_in_main_thread

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
