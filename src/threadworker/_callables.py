"""What calling a callable makes: a value, a generator, or a coroutine.

Workers are chosen by it (``create_worker`` picks a generator worker for
whatever makes a generator) and checked with it (asyncio code is refused with
the fix). Generator functions are recognised by their code flags, and also
behind the usual wrappers: ``functools.partial``, ``staticmethod`` and
``classmethod``, bound methods, objects with a ``__call__``, and
``functools.wraps`` pass-throughs.
"""

from __future__ import annotations

import functools
import inspect
import types
from typing import Literal

__all__ = [
    "WRAPPED_ATTRIBUTE",
    "FunctionKind",
    "check_callable",
    "function_kind",
    "makes_generator",
    "name_of",
    "surely_makes_generator",
]

#: Set on the functions ``@thread_worker`` returns: the function they wrap.
WRAPPED_ATTRIBUTE = "_threadworker_function"


def name_of(func: object) -> str:
    """Name *func* in messages: its qualified name, else its repr."""
    return getattr(func, "__qualname__", None) or repr(func)


FunctionKind = Literal["function", "generator", "coroutine", "async generator"]


def function_kind(func: object) -> FunctionKind:
    """Say what calling *func* makes, from its code flags when it has code.

    One flag read instead of several ``inspect`` calls per worker; ``inspect``
    (which unwraps partials) is the fallback for other callables.
    """
    if isinstance(func, types.BuiltinFunctionType):
        return "function"  # no code to read, and inspect would look for some
    code = getattr(func, "__code__", None)
    if isinstance(code, types.CodeType):
        flags = code.co_flags
        if flags & inspect.CO_GENERATOR:
            return "generator"
        if flags & inspect.CO_COROUTINE:
            return "coroutine"
        if flags & inspect.CO_ASYNC_GENERATOR:
            return "async generator"
        return "function"
    if inspect.isgeneratorfunction(func):
        return "generator"
    if inspect.iscoroutinefunction(func):
        return "coroutine"
    if inspect.isasyncgenfunction(func):
        return "async generator"
    return "function"


def makes_generator(func: object) -> bool:
    """Whether calling *func* gives a generator to step, looking through wrappers.

    Besides generator functions (and partials and methods of them) this sees
    callable objects whose ``__call__`` is one, ``staticmethod`` and
    ``classmethod`` objects, and ``functools.wraps`` pass-throughs
    (``__wrapped__``).
    """
    return _generator_function_under(func, through_wrapped=True) is not None


def surely_makes_generator(func: object) -> bool:
    """Whether calling *func* only makes a generator, running none of its code.

    As :func:`makes_generator`, minus ``__wrapped__``: a wrapper runs code of
    its own, and may return something else than the generator it wraps.
    """
    return _generator_function_under(func, through_wrapped=False) is not None


def _generator_function_under(func: object, *, through_wrapped: bool) -> object | None:
    """The generator function *func* calls, or None if it is not one of the kinds known."""
    for _ in range(32):  # bounded: a wrapper chain may loop
        if function_kind(func) == "generator":
            return func
        inner = _called_by(func, through_wrapped=through_wrapped)
        if inner is None:
            return None
        func = inner
    return None


def _called_by(func: object, *, through_wrapped: bool) -> object | None:
    """The callable that *func* hands its call to, if it is a known kind of wrapper."""
    if isinstance(func, types.FunctionType):  # the common case: answered at once
        # @thread_worker's wrapper returns a worker, not the generator it wraps.
        attributes = func.__dict__
        if through_wrapped and WRAPPED_ATTRIBUTE not in attributes:
            wrapped: object = attributes.get("__wrapped__")
            return wrapped
        return None
    if isinstance(func, types.BuiltinFunctionType):
        return None
    if isinstance(func, functools.partial):
        partial_func: object = func.func
        return partial_func
    inner: object = getattr(func, "__func__", None)  # staticmethod, classmethod, method
    if inner is not None:
        return inner
    if through_wrapped:  # a callable object that is itself a wrapper
        outer: object = getattr(func, "__wrapped__", None)
        if outer is not None:
            return outer
    if not isinstance(func, type):
        call = inspect.getattr_static(type(func), "__call__", None)  # an instance's
        if isinstance(call, types.FunctionType):
            return call
    return None


def check_callable(func: object, worker_kind: str) -> None:
    """Refuse what a worker cannot run, with the fix in the message.

    Raises
    ------
    TypeError
        For something not callable, a class, or asyncio code (a coroutine or
        async generator function).
    """
    if func is None or not callable(func):
        raise TypeError(f"{worker_kind} needs a callable to run, not {func!r}")
    if isinstance(func, type):
        raise TypeError(
            f"{worker_kind} needs a function, not the class {func.__qualname__}; "
            "to build one in a thread pass a function: "
            f"create_worker(lambda: {func.__qualname__}(...))"
        )
    kind = function_kind(func)
    if kind in ("coroutine", "async generator"):
        raise TypeError(
            f"{name_of(func)} is a{'n' if kind[0] == 'a' else ''} {kind} function: "
            "asyncio code does not need a thread. "
            "Await it (or asyncio.create_task it) on the event loop instead; "
            "threadworker runs blocking, synchronous code"
        )
