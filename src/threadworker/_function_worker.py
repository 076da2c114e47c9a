"""The function worker: a plain function run once, in a thread or elsewhere.

It runs in threadworker's pool (as with ``loop.run_in_executor``), in a
thread executor, in a foreign executor, or in a worker process; its return
value arrives as ``returned`` (and ``await worker``) on the home thread.
"""

from __future__ import annotations

import contextvars
import threading
import warnings
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from ._callables import name_of, surely_makes_generator
from ._worker import WorkerBase

if TYPE_CHECKING:
    import concurrent.futures

__all__ = ["FunctionWorker"]

R = TypeVar("R")


class FunctionWorker(WorkerBase[R]):
    """Run a plain function in a pool thread.

    The function runs on threadworker's own executor (as with
    ``loop.run_in_executor``); its return value arrives as ``returned`` (and
    ``await worker``) on the home thread.

    Raises
    ------
    TypeError
        If *func* is a generator function (use :class:`GeneratorWorker` or
        :func:`create_worker`).
    """

    def __init__(self, func: Callable[..., R], *args: Any, **kwargs: Any) -> None:
        if surely_makes_generator(func):
            raise TypeError(
                f"{name_of(func)} is a generator function: use GeneratorWorker, or "
                "create_worker/@thread_worker which pick the right worker class"
            )
        super().__init__(func, *args, **kwargs)

    def _launch(self, context: contextvars.Context) -> None:
        self._runner.launch(self, context)

    def _request_abort(self) -> None:
        self._runner.abort(self)

    def _run_in_thread(self, own_thread: bool) -> R:
        self._began = True
        if own_thread:  # a thread of ours: named after its work
            threading.current_thread().name = f"threadworker-{self._name}"
        try:
            result = self._func(*self._args, **self._kwargs)
            if isinstance(result, Generator):  # a generator function in disguise
                warnings.warn(_returned_generator(self._name), RuntimeWarning, stacklevel=1)
            return result  # type: ignore[no-any-return]
        finally:
            self._thread_done.set()

    def _on_done(self, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            self._finish("aborted", None)
            return
        exc = future.exception()
        if exc is not None:
            self._finish("errored", exc)
        elif self._abort_requested:
            self._finish("aborted", None)
        else:
            self._finish("returned", future.result())

    def _work_here(self, context: contextvars.Context) -> None:
        self._began = True
        try:
            result = context.run(self._func, *self._args, **self._kwargs)
            if isinstance(result, Generator):  # a generator function in disguise
                context.run(
                    warnings.warn, _returned_generator(self._name), RuntimeWarning, stacklevel=1
                )
        except Exception as exc:
            self._finish("errored", exc)
        else:
            self._finish("aborted" if self._abort_requested else "returned", result)
        finally:
            self._thread_done.set()

    # Generator-only controls, present so misuse gets a message with the fix.
    def send(self, value: object) -> NoReturn:
        """Not available: only generator workers receive values.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(_generator_only("send", self._name))

    def pause(self) -> NoReturn:
        """Not available: only generator workers can pause.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(_generator_only("pause", self._name))

    def resume(self) -> NoReturn:
        """Not available: only generator workers can pause and resume.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(_generator_only("resume", self._name))

    def toggle_pause(self) -> NoReturn:
        """Not available: only generator workers can pause.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(_generator_only("toggle_pause", self._name))


def _generator_only(method: str, name: str) -> str:
    return (
        f"{method}() needs a generator worker, but {name} is a plain function: "
        "make it a generator (yield where it may pause or receive values)"
    )


def _returned_generator(name: str) -> str:
    return (
        f"{name} returned a generator, which a FunctionWorker does not step: "
        "'returned' carries it unstarted. To run it in the worker, make the "
        "function a generator function (e.g. `def run(): return (yield from make())`) "
        "and create the worker with create_worker or @thread_worker"
    )
