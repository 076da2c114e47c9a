"""Warnings raised in a worker go to that worker's ``warned`` signal."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Generator
from typing import Any

import pytest

import process_jobs as jobs
from threadworker import FunctionWorker, GeneratorWorker, WorkerBase, create_worker

WAIT = 10


def warn_with(text: str) -> str:
    warnings.warn(text, UserWarning, stacklevel=1)
    return text


@pytest.mark.filterwarnings("always::UserWarning")
async def test_warning_reaches_its_own_worker_only() -> None:
    first, second = FunctionWorker(warn_with, "first"), FunctionWorker(warn_with, "second")
    got: dict[str, list[Any]] = {"first": [], "second": []}
    first.warned.connect(lambda w: got["first"].append(str(w[0])))
    second.warned.connect(lambda w: got["second"].append(str(w[0])))
    first.start()
    second.start()
    await asyncio.wait_for(first.finished, WAIT)
    await asyncio.wait_for(second.finished, WAIT)
    assert got == {"first": ["first"], "second": ["second"]}


@pytest.mark.filterwarnings("always::UserWarning")
async def test_warned_carries_showwarning_arguments_and_comes_before_finished() -> None:
    def gen() -> Generator[int, None, None]:
        yield 1
        warnings.warn("from a generator", UserWarning, stacklevel=1)
        yield 2

    worker = GeneratorWorker(gen)
    order: list[Any] = []
    worker.yielded.connect(order.append)
    worker.warned.connect(lambda w: order.append(w))
    worker.finished.connect(lambda: order.append("finished"))
    worker.start()
    await asyncio.wait_for(worker.finished, WAIT)
    message, category, filename, lineno, _file, _line = order[1]
    assert (str(message), category) == ("from a generator", UserWarning)
    assert filename.endswith("test_warnings.py")
    assert isinstance(lineno, int)
    assert [order[0], order[2], order[3]] == [1, 2, "finished"]


async def test_main_thread_warnings_are_unaffected() -> None:
    worker = FunctionWorker(lambda: 1)
    worker.start()
    with pytest.warns(UserWarning, match="main thread"):
        warnings.warn("main thread", UserWarning, stacklevel=1)
    await asyncio.wait_for(worker.finished, WAIT)


async def test_error_filter_turns_a_worker_warning_into_errored() -> None:
    # The suite runs with filterwarnings=error: the worker's warning raises.
    worker = FunctionWorker(warn_with, "strict")
    errors: list[BaseException] = []
    worker.errored.connect(errors.append)
    worker.start()
    await asyncio.wait_for(worker.finished, WAIT)
    assert [type(e) for e in errors] == [UserWarning]


@pytest.mark.filterwarnings("always::UserWarning")
async def test_unobserved_worker_warning_is_shown_on_the_home_thread() -> None:
    worker = FunctionWorker(warn_with, "nobody listens")
    with pytest.warns(UserWarning, match="nobody listens"):  # noqa: PT031 - shown when delivered
        worker.start()
        await asyncio.wait_for(worker.finished, WAIT)


@pytest.mark.filterwarnings("always::UserWarning")
def test_work_routes_warnings_too() -> None:
    worker = FunctionWorker(warn_with, "direct")
    got: list[str] = []
    worker.warned.connect(lambda w: got.append(str(w[0])))
    worker.work()
    assert got == ["direct"]


# -- Python's own warnings semantics inside workers (issue 12, item 14) ------------------------


def record_in_generator(text: str) -> Generator[None, None, list[str]]:
    yield
    return jobs.record_warnings(text)


async def _outcome_and_warned(worker: Any) -> tuple[Any, list[Any]]:
    warned: list[Any] = []
    worker.warned.connect(warned.append)
    result = await asyncio.wait_for(worker, WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    return result, warned


RECORDING: dict[str, Callable[[], WorkerBase[Any]]] = {
    "thread function": lambda: FunctionWorker(jobs.record_warnings, "recorded"),
    "thread generator": lambda: GeneratorWorker(record_in_generator, "recorded"),
    "process function": lambda: create_worker(
        jobs.record_warnings, "recorded", _executor="process"
    ),
}


@pytest.mark.parametrize("kind", list(RECORDING))
async def test_catch_warnings_record_inside_a_worker_records(kind: str) -> None:
    result, warned = await _outcome_and_warned(RECORDING[kind]())
    assert result == ["recorded"]  # the worker's own recorder got it
    assert warned == []  # and it went nowhere else


IGNORING: dict[str, Callable[[], WorkerBase[Any]]] = {
    "thread function": lambda: FunctionWorker(jobs.warn_under_ignore, "ignored"),
    "process function": lambda: create_worker(
        jobs.warn_under_ignore, "ignored", _executor="process"
    ),
}


@pytest.mark.parametrize("kind", list(IGNORING))
async def test_a_filter_set_inside_a_worker_applies(kind: str) -> None:
    # The suite turns warnings into errors: only the worker's own filter saves it.
    result, warned = await _outcome_and_warned(IGNORING[kind]())
    assert result == 1
    assert warned == []


@pytest.mark.filterwarnings("always::UserWarning")
async def test_warned_still_gets_warnings_after_a_recorder_inside_the_worker() -> None:
    def record_then_warn() -> list[str]:
        recorded = jobs.record_warnings("recorded")
        warnings.warn("after", UserWarning, stacklevel=1)
        return recorded

    result, warned = await _outcome_and_warned(FunctionWorker(record_then_warn))
    assert result == ["recorded"]
    assert [str(w[0]) for w in warned] == ["after"]
