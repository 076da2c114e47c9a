"""Handing calls to a worker's home thread.

A worker's *home* is where its callbacks run: an asyncio event loop (plain
asyncio or qasync's), or, in a Qt app driven by ``app.exec()`` with no loop
running, the QApplication's main thread (see ``_qt.py``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

__all__ = ["AsyncioDispatcher", "Dispatcher", "DoneCallback", "report_exception"]

#: Called on the home thread with the outcome of an executor call.
DoneCallback = Callable[["concurrent.futures.Future[Any] | asyncio.Future[Any]"], None]


class Dispatcher(ABC):
    """Runs calls on one home thread, in the order they were posted."""

    def __init__(self) -> None:
        self.home_thread_id = threading.get_ident()

    def in_home_thread(self) -> bool:
        """Return whether the caller is on the home thread."""
        return threading.get_ident() == self.home_thread_id

    @abstractmethod
    def post(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` on the home thread soon; callable from any thread.

        Calls posted after the home has shut down are dropped.
        """

    @abstractmethod
    def run_in_executor(
        self, executor: concurrent.futures.Executor, fn: Callable[[], Any], on_done: DoneCallback
    ) -> None:
        """Run *fn* on *executor*; call ``on_done(future)`` on the home thread."""

    @abstractmethod
    def report_exception(self, exc: BaseException, message: str, context: dict[str, Any]) -> None:
        """Report an exception nobody handled; called on the home thread."""

    @abstractmethod
    def is_alive(self) -> bool:
        """Return whether posted calls will still run."""


class AsyncioDispatcher(Dispatcher):
    """Home is an asyncio event loop (including qasync's ``QEventLoop``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop

    def post(self, fn: Callable[..., object], *args: object) -> None:
        if self.in_home_thread() and self.loop.is_running():
            self.loop.call_soon(fn, *args)
            return
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop closed: its scope already ended every worker
            pass

    def run_in_executor(
        self, executor: concurrent.futures.Executor, fn: Callable[[], Any], on_done: DoneCallback
    ) -> None:
        if not self.in_home_thread():
            # loop.run_in_executor is not thread-safe (qasync's even fails
            # outright off its thread): submit from the loop's own thread.
            self.post(self.run_in_executor, executor, fn, on_done)
            return
        self.loop.run_in_executor(executor, fn).add_done_callback(on_done)

    def report_exception(self, exc: BaseException, message: str, context: dict[str, Any]) -> None:
        self.loop.call_exception_handler({"message": message, "exception": exc, **context})

    def is_alive(self) -> bool:
        return not self.loop.is_closed()


def report_exception(exc: BaseException, message: str, context: dict[str, Any]) -> None:
    """Report to the running loop's exception handler, else ``sys.excepthook``.

    For code that runs outside any home (``work()`` called directly).
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        sys.stderr.write(f"{message}\n")
        sys.excepthook(type(exc), exc, exc.__traceback__)
    else:
        loop.call_exception_handler({"message": message, "exception": exc, **context})
