"""Progress: napari's pbar rules, progress(), coalescing, the terminal view."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Generator, Iterable

import pytest

from threadworker import (
    FunctionWorker,
    GeneratorWorker,
    TerminalProgress,
    create_worker,
    progress,
    thread_worker,
)

WAIT = 10


def steps(n: int) -> Generator[int, None, None]:
    yield from range(n)


async def test_progress_true_is_indeterminate_and_counts_yields() -> None:
    worker = create_worker(steps, 5, _progress=True)
    assert worker.pbar is not None
    await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert (worker.pbar.n, worker.pbar.total) == (5, 0)
    assert worker.pbar.is_closed


async def test_total_counts_yields_and_more_yields_turn_it_indeterminate() -> None:
    @thread_worker(progress={"total": 5, "desc": "counting"})
    def exact() -> Generator[int, None, None]:
        yield from range(5)

    worker = exact()
    assert worker.pbar is not None
    assert (worker.pbar.total, worker.pbar.desc) == (5, "counting")
    await asyncio.wait_for(worker, WAIT)
    assert (worker.pbar.n, worker.pbar.total) == (5, 5)

    over = create_worker(steps, 7, _progress={"total": 3})
    await asyncio.wait_for(over, WAIT)
    assert over.pbar is not None
    assert (over.pbar.n, over.pbar.total) == (7, 0)


@pytest.mark.filterwarnings("always::RuntimeWarning")
async def test_total_on_a_plain_function_warns_and_stays_indeterminate() -> None:
    with pytest.warns(RuntimeWarning, match="cannot report steps"):
        worker = create_worker(lambda: 1, _progress={"total": 10})
    assert worker.pbar is not None
    assert worker.pbar.total == 0
    await asyncio.wait_for(worker, WAIT)


@pytest.mark.filterwarnings("always::RuntimeWarning")
def test_the_plain_function_warning_says_what_napari_says() -> None:
    # napari's own test matches these words.
    with pytest.warns(RuntimeWarning, match="worker is FunctionWorker and will not yield"):
        create_worker(lambda: 1, _progress={"total": 2})


async def test_yielded_callbacks_see_their_yield_counted() -> None:
    worker = create_worker(steps, 3, _progress={"total": 3})
    bar = worker.pbar
    assert bar is not None
    seen: list[int] = []
    worker.yielded.connect(lambda value: seen.append(bar.n))
    await asyncio.wait_for(worker, WAIT)
    assert seen == [1, 2, 3]


async def test_a_yielded_callback_sees_the_overflow_past_total() -> None:
    worker = create_worker(steps, 2, _progress={"total": 1})
    bar = worker.pbar
    assert bar is not None
    seen: list[tuple[int, int]] = []
    worker.yielded.connect(lambda value: seen.append((bar.n, bar.total)))
    await asyncio.wait_for(worker, WAIT)
    assert seen == [(1, 1), (2, 0)]  # the second yield turned it indeterminate


def pbar_of(worker: FunctionWorker[int]) -> object:
    return worker.pbar


def sum_with_progress(values: Iterable[int]) -> int:
    """Library code: reports progress without knowing about workers."""
    return sum(progress(values, desc="summing"))


async def test_progress_reports_to_the_current_worker() -> None:
    worker = FunctionWorker(sum_with_progress, list(range(50)))
    assert pbar_of(worker) is None  # made when the work first reports
    assert await asyncio.wait_for(worker, WAIT) == sum(range(50))
    await asyncio.wait_for(worker.finished, WAIT)
    assert worker.pbar is not None
    assert (worker.pbar.n, worker.pbar.total, worker.pbar.desc) == (50, 50, "summing")


def test_progress_outside_a_worker_just_iterates() -> None:
    assert sum_with_progress([1, 2, 3]) == 6


async def test_after_an_error_the_bar_closes_and_the_next_shows_normally() -> None:
    @thread_worker(progress={"total": 3}, ignore_errors=True)
    def fails() -> Generator[int, None, None]:
        yield 1
        raise ValueError("broken")

    first = fails()
    first.start()
    await asyncio.wait_for(first.finished, WAIT)
    assert first.pbar is not None
    assert first.pbar.is_closed
    second = create_worker(steps, 3, _progress={"total": 3})
    assert second.pbar is not None
    assert not second.pbar.is_closed
    await asyncio.wait_for(second, WAIT)
    assert (second.pbar.n, second.pbar.total) == (3, 3)


async def test_changed_is_coalesced() -> None:
    worker = create_worker(steps, 20_000, _progress=True)
    assert worker.pbar is not None
    changes: list[int] = []
    worker.pbar.changed.connect(lambda: changes.append(1))
    worker.start()
    await asyncio.wait_for(worker.pbar.closed, WAIT)
    assert worker.pbar.n == 20_000
    assert 1 <= len(changes) < 20_000 // 10


async def test_terminal_progress_draws_the_model() -> None:
    out = io.StringIO()
    worker = create_worker(steps, 4, _progress={"total": 4, "desc": "demo"})
    view = TerminalProgress(worker, file=out)
    await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.pbar.closed, WAIT)  # type: ignore[union-attr]
    lines = out.getvalue().splitlines()
    assert lines[-1] == "demo: [" + "#" * 30 + "] 4/4"
    assert view.render() == lines[-1]


@pytest.mark.parametrize("spec", [5, "yes", {"totl": 3}])
def test_bad_progress_specs_are_rejected(spec: object) -> None:
    with pytest.raises(TypeError, match="progress"):
        create_worker(steps, 1, _progress=spec)  # type: ignore[call-overload]


def test_work_updates_progress_directly() -> None:
    worker: GeneratorWorker[int, None, None] = create_worker(steps, 3, _progress=True)
    worker.work()
    assert worker.pbar is not None
    assert worker.pbar.n == 3
    assert worker.pbar.is_closed
