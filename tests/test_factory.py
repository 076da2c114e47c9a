"""create_worker, @thread_worker and as_generator_function."""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import pytest

from threadworker import (
    FunctionWorker,
    GeneratorWorker,
    WorkerBase,
    as_generator_function,
    create_worker,
    thread_worker,
)

WAIT = 10


def add(a: int, b: int = 0) -> int:
    """Add two numbers."""
    return a + b


def gen(n: int) -> Generator[int, None, int]:
    yield from range(n)
    return n


async def coro() -> None:
    pass


async def agen() -> AsyncGenerator[int, None]:
    yield 1


def test_create_worker_picks_the_worker_class() -> None:
    assert type(create_worker(add, 1)) is FunctionWorker
    assert type(create_worker(gen, 1)) is GeneratorWorker


async def test_the_three_equivalent_ways() -> None:
    @thread_worker
    def my_function(arg1: str, arg2: int | None = None) -> tuple[str, int | None]:
        return arg1, arg2

    by_decorator = my_function("hello", arg2=42)
    by_factory = create_worker(my_function.__wrapped__, "hello", arg2=42)  # type: ignore[attr-defined]
    by_class = FunctionWorker(my_function.__wrapped__, "hello", arg2=42)  # type: ignore[attr-defined]
    for worker in (by_decorator, by_factory, by_class):
        assert await asyncio.wait_for(worker, WAIT) == ("hello", 42)


async def test_decorator_keeps_name_doc_and_signature() -> None:
    decorated = thread_worker(add)
    assert decorated.__name__ == "add"
    assert decorated.__doc__ == "Add two numbers."
    assert str(inspect.signature(decorated)) == str(inspect.signature(add))


async def test_connect_implies_start_and_connects() -> None:
    got: list[int] = []
    done = asyncio.Event()

    @thread_worker(connect={"returned": got.append, "finished": [done.set]})
    def compute() -> int:
        return 5

    worker = compute()
    assert worker.is_running
    await asyncio.wait_for(done.wait(), WAIT)
    assert got == [5]


async def test_start_thread_false_overrides_connect() -> None:
    @thread_worker(connect={"returned": print}, start_thread=False)
    def compute() -> int:
        return 5

    worker = compute()
    assert not worker.is_running
    await asyncio.wait_for(worker.quit(), WAIT)


async def test_per_call_overrides() -> None:
    @thread_worker(start_thread=False)
    def compute() -> int:
        return 6

    worker = compute(_start_thread=True)  # type: ignore[call-arg]
    assert worker.is_running
    assert await asyncio.wait_for(worker, WAIT) == 6

    class Custom(FunctionWorker[Any]):
        pass

    custom = compute(_worker_class=Custom)  # type: ignore[call-arg]
    assert type(custom) is Custom
    await asyncio.wait_for(custom.quit(), WAIT)


async def test_ignore_errors_option(loop_errors: list[dict[str, Any]]) -> None:
    @thread_worker(ignore_errors=True, start_thread=True)
    def fails() -> None:
        raise ValueError("ignored")

    worker = fails()
    await asyncio.wait_for(worker.finished, WAIT)
    assert loop_errors == []


async def test_as_generator_function_gives_a_generator_worker() -> None:
    wrapped = as_generator_function(add)
    assert inspect.isgeneratorfunction(wrapped)
    worker = create_worker(wrapped, 2, b=3)
    assert isinstance(worker, GeneratorWorker)
    assert await asyncio.wait_for(worker, WAIT) == 5


class NotAWorker:
    pass


# Deliberately ill-typed calls go through Any, as untyped user code would.
CW: Any = create_worker
TW: Any = thread_worker
FW: Any = FunctionWorker
GW: Any = GeneratorWorker

BAD_INPUT: list[tuple[str, Callable[[], object], type[Exception], str]] = [
    ("None", lambda: CW(None), TypeError, "needs a callable"),
    ("int", lambda: CW(3), TypeError, "needs a callable"),
    ("class", lambda: CW(NotAWorker), TypeError, "not the class NotAWorker"),
    ("coroutine fn", lambda: CW(coro), TypeError, "does not need a thread"),
    ("async gen fn", lambda: CW(agen), TypeError, "async generator function"),
    ("decorate coroutine", lambda: TW(coro), TypeError, "Await it"),
    ("decorate None", lambda: TW(connect={})(None), TypeError, "needs a callable"),
    ("gen to FunctionWorker", lambda: FW(gen, 1), TypeError, "use GeneratorWorker"),
    ("fn to GeneratorWorker", lambda: GW(add, 1), TypeError, "use FunctionWorker"),
    ("connect not a dict", lambda: CW(add, 1, _connect=[print]), TypeError, "must be a dict"),
    ("decorator connect list", lambda: TW(connect=[print])(add), TypeError, "must be a dict"),
    (
        "unknown signal",
        lambda: CW(add, 1, _connect={"retruned": print}),
        TypeError,
        "'retruned', which is not a signal of FunctionWorker; valid names: aborted",
    ),
    (
        "yielded on function",
        lambda: CW(add, 1, _connect={"yielded": print}),
        TypeError,
        "not a signal of FunctionWorker",
    ),
    (
        "non-callable callback",
        lambda: CW(add, 1, _connect={"returned": 5}),
        TypeError,
        "must be a callable or a list",
    ),
    (
        "non-callable in list",
        lambda: CW(add, 1, _connect={"returned": [print, "x"]}),
        TypeError,
        "'x', which is not callable",
    ),
    (
        "worker_class not a WorkerBase",
        lambda: CW(add, 1, _worker_class=NotAWorker),
        TypeError,
        "must be a subclass of WorkerBase",
    ),
    (
        "worker_class an instance",
        lambda: CW(add, 1, _worker_class=FunctionWorker(add, 1)),
        TypeError,
        "must be a subclass of WorkerBase",
    ),
]


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_gets_a_clear_error(
    make: Callable[[], object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        make()


def test_worker_base_is_abstract_about_running() -> None:
    worker: WorkerBase[Any] = WorkerBase(add, 1)
    with pytest.raises(NotImplementedError):
        worker.work()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_threads": 0}, "max_threads must be at least 1"),
        ({"shutdown_timeout": -1.0}, "shutdown_timeout must be a number of seconds from 0"),
    ],
)
async def test_configure_rejects_bad_values(options: dict[str, Any], match: str) -> None:
    from threadworker import configure

    with pytest.raises(ValueError, match=match):
        configure(**options)


def test_configure_without_a_loop_or_app_says_so() -> None:
    import subprocess
    import sys

    code = "from threadworker import configure\ntry:\n    configure(max_threads=2)\n"
    code += "except RuntimeError as exc:\n    print(exc)\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "configure() sets the options of a home, and there is none here" in out


async def test_as_generator_function_yields_once_then_returns_the_value() -> None:
    wrapped = as_generator_function(add)
    assert list(wrapped(1, 2)) == [None]  # superqt's shape: one yield
    calls: list[str] = []

    def record() -> str:
        calls.append("called")
        return "done"

    generator = as_generator_function(record)()
    assert next(generator) is None
    assert calls == []  # the function runs after the yield
    with pytest.raises(StopIteration) as stop:
        next(generator)
    assert stop.value.value == "done"
    worker = create_worker(as_generator_function(add), 2, b=3)
    seen: list[object] = []
    worker.yielded.connect(seen.append)
    assert await asyncio.wait_for(worker, WAIT) == 5
    await asyncio.wait_for(worker.finished, WAIT)
    assert seen == [None]


# -- callables that make generators without being generator functions (issue 12, item 15) ---


class Counter:
    """An object whose ``__call__`` is a generator function."""

    def __call__(self, n: int) -> Generator[int, None, int]:
        yield from range(n)
        return n


def passthrough(func: Callable[..., Any]) -> Callable[..., Any]:
    """A decorator in the usual style: functools.wraps around the call."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wrapper.calls.append(threading.get_ident())  # type: ignore[attr-defined]
        return func(*args, **kwargs)

    wrapper.calls = []  # type: ignore[attr-defined]
    return wrapper


class Holder:
    static = staticmethod(gen)


GENERATOR_MAKERS: dict[str, Callable[[], Callable[..., Any]]] = {
    "__call__": Counter,
    "wraps pass-through": lambda: passthrough(gen),
    "staticmethod": lambda: Holder.__dict__["static"],
    "partial of __call__": lambda: functools.partial(Counter()),
    "partial of a pass-through": lambda: functools.partial(passthrough(gen)),
    "pass-through of __call__": lambda: passthrough(Counter()),
}


@pytest.mark.parametrize("maker", list(GENERATOR_MAKERS))
@pytest.mark.parametrize("how", ["create_worker", "thread_worker"])
async def test_callables_that_make_generators_get_a_generator_worker(maker: str, how: str) -> None:
    func = GENERATOR_MAKERS[maker]()
    worker: WorkerBase[Any]
    if how == "create_worker":
        worker = create_worker(func, 3)
    else:
        make: Callable[[int], WorkerBase[Any]] = thread_worker(func)
        worker = make(3)
    assert isinstance(worker, GeneratorWorker)
    assert [value async for value in worker] == [0, 1, 2]  # it ran: not returned unstarted
    assert await asyncio.wait_for(worker, WAIT) == 3


async def test_a_wrapper_of_a_generator_function_is_called_in_the_worker_thread() -> None:
    func = passthrough(gen)
    worker = create_worker(func, 2)
    assert func.calls == []  # type: ignore[attr-defined]  # not on the home thread
    values = [value async for value in worker]
    assert values == [0, 1]
    assert func.calls != [threading.get_ident()]  # type: ignore[attr-defined]
    assert len(func.calls) == 1  # type: ignore[attr-defined]


async def test_a_wrapper_that_consumes_its_generator_returns_what_it_returns() -> None:
    def collect(func: Callable[..., Generator[int, None, Any]]) -> Callable[..., list[int]]:
        @functools.wraps(func)
        def wrapper(*args: Any) -> list[int]:
            return list(func(*args))

        return wrapper

    worker = create_worker(collect(gen), 3)
    assert await asyncio.wait_for(worker, WAIT) == [0, 1, 2]


async def test_a_function_worker_can_still_be_asked_for_with_a_wrapper() -> None:
    worker = create_worker(passthrough(gen), 2, _worker_class=FunctionWorker)
    with pytest.warns(RuntimeWarning, match="returned a generator"):  # noqa: PT031
        worker.start()
        result = await asyncio.wait_for(worker, WAIT)
    assert isinstance(result, Generator)
