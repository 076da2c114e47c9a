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
from typing import Any, Protocol

__all__ = [
    "AsyncioDispatcher",
    "Dispatcher",
    "DoneCallback",
    "NestedQtLoop",
    "TimerHandle",
    "report_exception",
]


class TimerHandle(Protocol):
    """A call scheduled by :meth:`Dispatcher.call_later`; ``cancel()`` drops it."""

    def cancel(self) -> None:
        """Do not make the call (if it has not been made)."""


#: Called on the home thread with the outcome of an executor call.
DoneCallback = Callable[["concurrent.futures.Future[Any]"], None]


class Dispatcher(ABC):
    """Runs posted calls on one home thread, in the order they were posted."""

    def __init__(self) -> None:
        self.home_thread_id = threading.get_ident()
        self._pending: deque[tuple[Callable[..., object], tuple[object, ...]]] = deque()
        self._scheduled = False  # a run of the queue is scheduled or under way
        self._closed = False
        # The home is ending: its scope runs what is posted by hand (flush).
        self.ending = False

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
            # Also when a call raised KeyboardInterrupt (a Jupyter interrupt,
            # Ctrl-C) or SystemExit, which go on to the home: the calls after
            # it must still run at the next wake-up, not wait forever.
            self._scheduled = False
            # Re-checked after clearing the flag: a call posted by a thread that
            # still saw it set would otherwise wait for an unrelated wake-up.
            if pending and not self._scheduled:
                self._scheduled = True
                self._wake()

    def run_by_hand(self) -> None:
        """From now on the home's scope runs what is posted, by :meth:`flush`.

        For a home that is ending and will not run its loop again: calls
        handed to the loop for later come back to this queue.
        """
        self.ending = True

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

    def call_later(self, delay: float, fn: Callable[[], object]) -> TimerHandle:
        """Post ``fn()`` home after *delay* seconds (home thread; issue 15's timers).

        This fallback waits in a timer thread; the asyncio and Qt homes use
        their own timers, which need no thread.
        """
        timer = threading.Timer(delay, self.post, (fn,))
        timer.name = "threadworker-timer"
        timer.daemon = True
        timer.start()
        return timer

    @abstractmethod
    def _wake(self) -> None:
        """Make the home thread call :meth:`flush` soon (any thread)."""

    @abstractmethod
    def report_exception(self, exc: BaseException, message: str, context: dict[str, Any]) -> None:
        """Report an exception nobody handled; called on the home thread."""

    @abstractmethod
    def is_alive(self) -> bool:
        """Return whether posted calls will still run."""


class NestedQtLoop(Protocol):
    """A Qt event loop that may run nested inside an asyncio loop's callback.

    ipykernel's ``%gui qt`` does this: between cells, a callback of the
    kernel's asyncio loop runs Qt's loop until the next kernel message, and
    the asyncio loop waits meanwhile. The Qt bridge provides one.
    """

    def is_running(self) -> bool:
        """Whether Qt's loop runs in the home thread now (any thread may ask)."""

    def wake(self, dispatcher: Dispatcher) -> None:
        """Make Qt's loop call ``dispatcher.flush_from_qt()`` when it runs (any thread).

        At most one such call waits at a time: Qt's loop may never run.
        """


class AsyncioDispatcher(Dispatcher):
    """Home is an asyncio event loop (including qasync's ``QEventLoop``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        #: Set when the loop is not Qt's but a Qt loop may run nested in it.
        self.nested_qt: NestedQtLoop | None = None
        self._flushing = False
        # Calls that gave up their time slice, waiting for a loop timer; kept
        # here so a home that stops before the timer fires still runs them.
        self._yielded: deque[Callable[[], object]] = deque()

    def in_home_thread(self) -> bool:
        """Whether the caller is on the loop's thread.

        While the loop runs, that is the thread running it — which need not
        be the thread that made this dispatcher: a thread that set a running
        loop as its own (``asyncio.set_event_loop``) may start the first
        worker. Otherwise it is where the dispatcher was made, the loop set
        for that thread and not running yet (or no more).
        """
        try:
            running_here = asyncio.get_running_loop() is self.loop
        except RuntimeError:  # no loop runs in this thread
            running_here = False
        if running_here:
            self.home_thread_id = threading.get_ident()
            return True
        return not self.loop.is_running() and super().in_home_thread()

    def _wake(self) -> None:
        nested = self.nested_qt
        try:
            if self.in_home_thread() and self.loop.is_running():
                self.loop.call_soon(self.flush)  # no self-pipe write needed
            else:
                self.loop.call_soon_threadsafe(self.flush)
        except RuntimeError:  # the loop closed: its scope already ended every worker
            self._closed = True
            return
        if nested is not None:
            # Through Qt's loop too, running or not: the asyncio loop may be held
            # up under it now, or before it runs this wake-up (ipykernel enters
            # Qt's loop from a callback that may be queued ahead of it). Whichever
            # runs first finds the calls; the other, none.
            nested.wake(self)

    def flush(self) -> None:
        """Run the calls posted so far (home thread); see :meth:`Dispatcher.flush`."""
        self._flushing = True
        try:
            super().flush()
        finally:
            self._flushing = False

    def flush_from_qt(self) -> None:
        """Flush, called by a nested Qt loop; not from inside a flush."""
        if not self._flushing and self.is_alive():
            self.flush()

    def post_yielding(self, fn: Callable[[], object]) -> None:
        nested = self.nested_qt
        if self.ending or (nested is not None and nested.is_running()):
            # The loop runs no more timers (its scope flushes by hand), or it
            # waits under Qt's loop: queue here; the wake-up lets Qt's timers
            # and input run first.
            self.post(fn)
            return
        # asyncio runs callbacks already queued before timers that fell due
        # meanwhile; a zero-delay timer queues behind those timers instead.
        self._yielded.append(fn)
        self.loop.call_later(0, self._resume_yielded)

    def call_later(self, delay: float, fn: Callable[[], object]) -> TimerHandle:
        """Post ``fn()`` after *delay* seconds, by a loop timer (home thread)."""
        return self.loop.call_later(delay, self.post, fn)

    def _resume_yielded(self) -> None:
        if self._yielded:  # empty if the scope took them back (run_by_hand)
            self.post(self._yielded.popleft())

    def run_by_hand(self) -> None:
        super().run_by_hand()
        while self._yielded:
            self.post(self._yielded.popleft())

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
