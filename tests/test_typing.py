"""Static types: checked by ``mypy --strict`` over this file (no runtime effect).

``assert_type`` fails type checking, not the test run, if a signature stops
flowing through ``@thread_worker`` or a signal loses its payload type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any, assert_type

from threadworker import FunctionWorker, GeneratorWorker, create_worker, thread_worker

WAIT = 10


@thread_worker
def compute(x: int, *, scale: float = 1.0) -> float:
    return x * scale


@thread_worker
def stream(n: int) -> Generator[int, str, bool]:
    yield from range(n)
    return True


@thread_worker(start_thread=False)
def configured(name: str) -> str:
    return name


def produce() -> Generator[bytes, None, None]:
    yield b""


async def test_decorated_functions_keep_signatures_and_pick_worker_types() -> None:
    worker = compute(2, scale=2.0)
    assert_type(worker, FunctionWorker[float])
    assert_type(await asyncio.wait_for(worker, WAIT), float)

    gen_worker = stream(3)
    assert_type(gen_worker, GeneratorWorker[int, str, bool])
    values = [v async for v in gen_worker]
    assert_type(values, list[int])
    assert_type(await asyncio.wait_for(gen_worker.returned, WAIT), bool)

    named = configured("x")
    assert_type(named, FunctionWorker[str])
    await asyncio.wait_for(named.quit(), WAIT)


async def test_create_worker_infers_the_worker_type() -> None:
    assert_type(create_worker(produce), GeneratorWorker[bytes, None, None])
    function_worker = create_worker(len, "abc")
    assert_type(function_worker, FunctionWorker[int])
    assert await asyncio.wait_for(function_worker, WAIT) == 3
    await asyncio.wait_for(create_worker(produce).quit(), WAIT)


def test_signal_payload_types() -> None:
    worker = compute(1)
    assert_type(worker.returned.__await__(), Generator[Any, None, float])
    assert_type(worker.errored.__await__(), Generator[Any, None, BaseException])
    worker.quit()


def test_the_executor_option_keeps_the_types() -> None:
    import process_jobs as jobs

    assert_type(jobs.decorated_square(3), FunctionWorker[int])
    assert_type(jobs.decorated_count(2), GeneratorWorker[int, None, None])
    worker = create_worker(jobs.add, 1, 2, _executor="process")
    assert_type(worker, FunctionWorker[int])
    worker.quit()


def test_the_policy_options_and_the_future_keep_the_types() -> None:
    import concurrent.futures

    @thread_worker(timeout=1.0, exclusive="typing", debounce=0.1)
    def limited(x: int) -> str:
        return str(x)

    worker = limited(1)
    assert_type(worker, FunctionWorker[str])
    assert_type(worker.future, concurrent.futures.Future[str])
    generator_worker = create_worker(produce, _timeout=1.0, _exclusive=True)
    assert_type(generator_worker.future, concurrent.futures.Future[None])
    worker.quit()
    generator_worker.quit()
    assert worker.future.cancelled()
