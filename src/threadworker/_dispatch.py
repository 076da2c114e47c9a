"""Handing calls to a worker's home thread, in order.

A worker's *home* is where its callbacks run: an asyncio event loop (plain
asyncio or qasync's), or, in a Qt app driven by ``app.exec()`` with no loop
running, the QApplication's main thread (see ``_qt.py``).

Every dispatcher keeps its own first-in, first-out queue of posted calls and
wakes the home once per batch. The order cannot be left to the loop: qasync
runs each ``call_soon`` as a separate zero-delay Qt timer, and those do not
fire in the order they were started.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["AsyncioDispatcher", "Dispatcher", "DoneCallback", "report_exception"]

#: Called on the home thread with the outcome of an executor call.
DoneCallback = Callable[["concurrent.futures.Future[Any]"], None]


class Dispatcher(ABC):
    """Runs posted calls on one home thread, in the order they were posted."""

    def __init__(self) -> None:
        self.home_thread_id = threading.get_ident()
        self._pending: deque[tuple[Callable[..., object], tuple[object, ...]]] = deque()
        self._scheduled = False  # a run of the queue is scheduled or under way
        self._closed = False

    def in_home_thread(self) -> bool:
        """Return whether the caller is on the home thread."""
        return threading.get_ident() == self.home_thread_id

    def post(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` on the home thread soon; callable from any thread.

        Calls run in the order they were posted. Calls posted after the home
        has shut down are dropped.
        """
        if self._closed:
            return
        self._pending.append((fn, args))  # deque.append is atomic: no lock
        if not self._scheduled:
            self._scheduled = True
            self._wake()

    def post_yielding(self, fn: Callable[[], object]) -> None:
        """Like :meth:`post`, but after the home's due timers and input (home thread).

        For work that gives up its time slice and continues later.
        """
        self.post(fn)

    def flush(self) -> None:
        """Run the calls posted so far (home thread).

        Calls posted while these run wait for the next wake-up, so a call
        that re-posts itself lets the home's timers and input run in between.

        Raises
        ------
        BaseException
            A ``KeyboardInterrupt`` or ``SystemExit`` raised by a call
            propagates, as it would from any callback; the calls after it
            stay queued and run at the next wake-up (one is requested here).
        """
        pending = self._pending
        try:
            for _ in range(len(pending)):
                fn, args = pending.popleft()
                try:
                    fn(*args)
                except Exception as exc:  # posted calls report their own; never into Qt
                    self.report_exception(exc, f"Exception in {fn!r}", {})
        finally:
            self._scheduled = False
            # Re-checked after clearing the flag: a call posted by a thread that
            # still saw it set would otherwise wait for an unrelated wake-up.
            if pending and not self._scheduled:
                self._scheduled = True
                self._wake()

    def has_pending(self) -> bool:
        """Whether posted calls are waiting to run."""
        return bool(self._pending)

    def close(self) -> None:
        """Drop calls posted from now on."""
        self._closed = True

    def run_in_executor(
        self,
        executor: concurrent.futures.Executor,
        fn: Callable[..., Any],
        on_done: DoneCallback,
        *args: Any,
    ) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args)`` on *executor*; call ``on_done(future)`` on the home thread.

        This is ``loop.run_in_executor`` without its asyncio future, whose
        callbacks run one loop iteration after it completes: the outcome is
        posted home directly, in order with everything else the worker posted,
        so a result reaches an awaiter as quickly as ``asyncio.to_thread``'s.
        """
        future = executor.submit(fn, *args)
        future.add_done_callback(lambda done: self.post(on_done, done))
        return future

    @abstractmethod
    def _wake(self) -> None:
        """Make the home thread call :meth:`flush` soon (any thread)."""

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

    def _wake(self) -> None:
        try:
            if self.in_home_thread() and self.loop.is_running():
                self.loop.call_soon(self.flush)  # no self-pipe write needed
            else:
                self.loop.call_soon_threadsafe(self.flush)
        except RuntimeError:  # the loop closed: its scope already ended every worker
            self._closed = True

    def post_yielding(self, fn: Callable[[], object]) -> None:
        # asyncio runs callbacks already queued before timers that fell due
        # meanwhile; a zero-delay timer queues behind those timers instead.
        self.loop.call_later(0, self.post, fn)

    def report_exception(self, exc: BaseException, message: str, context: dict[str, Any]) -> None:
        self.loop.call_exception_handler({"message": message, "exception": exc, **context})

    def is_alive(self) -> bool:
        return not self._closed and not self.loop.is_closed()


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
