"""Exceptions that cross between processes: sent as text and pickle, rebuilt at home.

A worker process sends an error as a :class:`PortableError`, which always
unpickles; the home rebuilds the exception with :func:`rebuild_error` and
sets its traceback from the other process as the ``__cause__``
(:class:`RemoteTraceback`), as ``concurrent.futures`` does. Standard library
only: a worker process loads it.
"""

from __future__ import annotations

import pickle
import traceback
from collections.abc import Callable
from typing import Any

__all__ = [
    "PortableError",
    "RemoteTraceback",
    "cannot_pickle_call",
    "describe_exception",
    "rebuild_error",
]


class PortableError:
    """An exception on its way to the parent, with its traceback as text.

    The exception is pickled separately: one whose class cannot be rebuilt
    in the parent (a required ``__init__`` argument, a class the parent
    cannot import) still arrives, as its type name and message.
    """

    __slots__ = ("message", "pickled", "traceback", "type_name")

    def __init__(self, exc: BaseException) -> None:
        # Each part on its own: an exception whose ``str()``, traceback or
        # pickling fails must still reach the parent, by its type name at least.
        self.type_name = f"{type(exc).__module__}.{type(exc).__qualname__}"
        try:
            self.message = str(exc)
        except Exception as failure:
            self.message = f"<str() failed: {describe_exception(failure)}>"
        try:
            self.traceback = "".join(traceback.format_exception(exc))
        except Exception as failure:
            self.traceback = (
                f"{self.type_name}: {self.message}\n"
                f"(its traceback could not be formatted: {describe_exception(failure)})"
            )
        try:
            self.pickled: bytes | None = pickle.dumps(exc, pickle.HIGHEST_PROTOCOL)
        except Exception:
            self.pickled = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_portable, (self.type_name, self.message, self.traceback, self.pickled))


def describe_exception(exc: BaseException) -> str:
    """``Type: message`` for an exception, even one whose ``str()`` fails."""
    try:
        return f"{type(exc).__qualname__}: {exc}"
    except Exception:
        return type(exc).__qualname__


def _rebuild_portable(
    type_name: str, message: str, text: str, pickled: bytes | None
) -> PortableError:
    error = PortableError.__new__(PortableError)
    error.type_name, error.message, error.traceback, error.pickled = (
        type_name,
        message,
        text,
        pickled,
    )
    return error


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text.

    Set as the ``__cause__`` of the exception the worker emits, as
    ``concurrent.futures`` does, so printing the exception shows where in the
    other process it was raised.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text.rstrip()}\n"""'


def rebuild_error(error: PortableError | BaseException) -> BaseException:
    """The exception a worker process sent, with its remote traceback attached."""
    if isinstance(error, BaseException):
        return error
    exc: BaseException | None = None
    if error.pickled is not None:
        try:
            exc = pickle.loads(error.pickled)
        except BaseException:  # even SystemExit from a broken __setstate__
            exc = None
    if not isinstance(exc, BaseException):
        # Its class cannot be rebuilt here: keep what it said.
        exc = RuntimeError(f"{error.type_name}: {error.message}")
    exc.__cause__ = RemoteTraceback(error.traceback)
    return exc


def cannot_pickle_call(func: Callable[..., Any], exc: BaseException) -> TypeError:
    """The error for a job whose function or arguments cannot be pickled."""
    name = getattr(func, "__qualname__", None) or repr(func)
    error = TypeError(
        f"cannot run {name} in a worker process: its function or arguments cannot be "
        f"pickled ({exc}). Everything sent to a process is pickled: use functions "
        "defined at module level (not lambdas or nested functions) and picklable "
        "arguments (not open files, locks, sockets or Qt objects)."
    )
    error.__cause__ = exc
    return error
