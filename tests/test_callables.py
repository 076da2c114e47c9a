"""What calling a callable makes: generator functions seen through wrappers."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from threadworker import thread_worker
from threadworker._callables import function_kind, makes_generator, surely_makes_generator


def numbers() -> Generator[int, None, None]:
    yield 1


def plain() -> int:
    return 1


async def coroutine() -> None:
    pass


def passthrough(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


class GeneratorCall:
    def __call__(self) -> Generator[int, None, None]:
        yield 1


class InheritedGeneratorCall(GeneratorCall):
    pass


class PlainCall:
    def __call__(self) -> int:
        return 1


class Methods:
    def generate(self) -> Generator[int, None, None]:
        yield 1

    @classmethod
    def generate_from_class(cls) -> Generator[int, None, None]:
        yield 1

    static = staticmethod(numbers)


#: name -> (callable, makes a generator, surely: calling it runs no code of its own)
CASES: dict[str, tuple[object, bool, bool]] = {
    "generator function": (numbers, True, True),
    "partial": (functools.partial(numbers), True, True),
    "bound method": (Methods().generate, True, True),
    "classmethod, bound": (Methods.generate_from_class, True, True),
    "staticmethod object": (Methods.__dict__["static"], True, True),
    "__call__": (GeneratorCall(), True, True),
    "inherited __call__": (InheritedGeneratorCall(), True, True),
    "partial of __call__": (functools.partial(GeneratorCall()), True, True),
    "wraps pass-through": (passthrough(numbers), True, False),
    "pass-through of a pass-through": (passthrough(passthrough(numbers)), True, False),
    "partial of a pass-through": (functools.partial(passthrough(numbers)), True, False),
    "plain function": (plain, False, False),
    "builtin": (len, False, False),
    "plain __call__": (PlainCall(), False, False),
    "pass-through of a plain function": (passthrough(plain), False, False),
    "a class": (GeneratorCall, False, False),
    # @thread_worker's wrapper makes a worker, whatever it wraps.
    "@thread_worker wrapper": (thread_worker(numbers), False, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_generator_makers_are_recognised(case: str) -> None:
    func, makes, surely = CASES[case]
    assert makes_generator(func) is makes
    assert surely_makes_generator(func) is surely


def test_a_wrapper_chain_that_loops_ends() -> None:
    def looped() -> None:
        pass

    looped.__wrapped__ = looped  # type: ignore[attr-defined]
    assert not makes_generator(looped)


def test_function_kind_answers_builtins_without_inspect() -> None:
    assert function_kind(len) == "function"
    assert function_kind(coroutine) == "coroutine"


def test_a_context_manager_function_is_treated_as_a_generator_wrapper() -> None:
    # contextmanager wraps a generator function with functools.wraps: it is
    # seen as one, and a worker of it returns the context manager it makes.
    @contextlib.contextmanager
    def managed() -> Iterator[int]:
        yield 1

    assert makes_generator(managed)
    assert not surely_makes_generator(managed)
