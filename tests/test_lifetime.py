"""Finished workers and their callbacks can be collected; running ones are kept."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Generator

from threadworker import FunctionWorker, GeneratorWorker

WAIT = 10


class View:
    def __init__(self) -> None:
        self.shown: list[object] = []

    def show(self, value: object) -> None:
        self.shown.append(value)


async def test_finished_worker_and_callbacks_are_collectable() -> None:
    view = View()
    worker = FunctionWorker(lambda: "x")
    worker.returned.connect(view.show)
    shown = view.shown
    worker.finished.connect(lambda: shown.append("done"))
    await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert view.shown == ["x", "done"]
    worker_ref = weakref.ref(worker)
    view_ref = weakref.ref(view)
    del worker, view
    gc.collect()
    assert worker_ref() is None
    assert view_ref() is None


async def test_generator_worker_is_collectable_after_iteration() -> None:
    def gen() -> Generator[int, None, None]:
        yield from range(10)

    worker = GeneratorWorker(gen)
    assert [v async for v in worker] == list(range(10))
    await asyncio.wait_for(worker.finished, WAIT)
    ref = weakref.ref(worker)
    del worker
    gc.collect()
    assert ref() is None


async def test_a_started_worker_nobody_holds_still_runs_to_the_end() -> None:
    done = asyncio.Event()
    results: list[int] = []

    def start_and_forget() -> None:
        worker = FunctionWorker(lambda: 99)
        worker.returned.connect(results.append)
        worker.finished.connect(done.set)
        worker.start()

    start_and_forget()
    gc.collect()
    await asyncio.wait_for(done.wait(), WAIT)
    assert results == [99]
