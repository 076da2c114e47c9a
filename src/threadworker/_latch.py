"""A one-shot result that any number of coroutines, on any loop, can await.

Workers resolve latches on their home thread; awaiters may sit on the same
loop (the common case, woken directly) or on a loop in another thread (woken
through that loop's ``call_soon_threadsafe``).  A latch is not an
``asyncio.Future``: it needs no loop to exist, and nobody awaiting it is not
an error, so control methods can return one without "never retrieved" or
"never awaited" warnings.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar, cast

__all__ = ["DoneFlag", "Latch"]

T = TypeVar("T")

_PENDING: Any = object()


class Latch(Generic[T]):
    """Hold one result or exception; ``await`` returns or raises it."""

    __slots__ = ("__weakref__", "_exception", "_lock", "_result", "_waiters")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._result: Any = _PENDING
        self._exception: BaseException | None = None
        self._waiters: list[asyncio.Future[None]] = []

    def done(self) -> bool:
        """Return whether the latch holds a result or an exception."""
        return self._result is not _PENDING or self._exception is not None

    def has_waiters(self) -> bool:
        """Return whether a coroutine is suspended on this latch."""
        return any(not w.done() for w in self._waiters)

    def set_result(self, value: T) -> None:
        """Resolve with *value*; later calls are ignored."""
        with self._lock:
            if self.done():
                return
            self._result = value
            waiters, self._waiters = self._waiters, []
        _wake_all(waiters)

    def set_exception(self, exc: BaseException) -> None:
        """Resolve with *exc*, raised to every awaiter; later calls are ignored."""
        with self._lock:
            if self.done():
                return
            self._exception = exc
            waiters, self._waiters = self._waiters, []
        _wake_all(waiters)

    def result(self) -> T:
        """Return the result, raise the exception, or raise if still pending."""
        if self._exception is not None:
            raise self._exception
        if self._result is _PENDING:
            raise asyncio.InvalidStateError("the result is not ready yet")
        return cast(T, self._result)

    def __await__(self, on_wait: Callable[[], None] | None = None) -> Generator[Any, None, T]:
        """Wait for the outcome; *on_wait* is called once the caller is listed as waiting."""
        if not self.done():
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            with self._lock:
                pending = not self.done()
                if pending:
                    self._waiters.append(fut)
            if pending:
                if on_wait is not None:
                    on_wait()
                try:
                    yield from fut
                finally:
                    # A cancelled awaiter must not stay listed.
                    with self._lock:
                        if fut in self._waiters:
                            self._waiters.remove(fut)
        return self.result()


def _wake_all(waiters: list[asyncio.Future[None]]) -> None:
    if not waiters:
        return
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    for fut in waiters:
        loop = fut.get_loop()
        if loop is running:
            _wake(fut)
        elif not loop.is_closed():
            try:
                loop.call_soon_threadsafe(_wake, fut)
            except RuntimeError:  # closed meanwhile: nobody is left to wake
                pass


def _wake(fut: asyncio.Future[None]) -> None:
    # The future only wakes its awaiter, which reads the outcome from the
    # latch: an exception never sits unretrieved in a future.
    if not fut.done():
        fut.set_result(None)


class DoneFlag:
    """A flag set once, that threads can wait for: a lighter ``threading.Event``.

    ``threading.Event`` builds a Condition (three locks) per instance; a worker
    needs just one lock, held until the work is done — as ``Thread.join`` does.
    """

    __slots__ = ("_listeners", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._listeners: list[Callable[[], None]] | None = None

    def set(self) -> None:
        """Mark done, waking every waiter; setting it again does nothing."""
        try:
            self._lock.release()
        except RuntimeError:  # already set (a cancelled executor future sets it twice)
            pass
        listeners = self._listeners
        if listeners:
            for listener in list(listeners):
                listener()

    def notify_on_set(self, listener: Callable[[], None]) -> None:
        """Call *listener* (from the setting thread) when set; at once if set already.

        It may be called twice: it should only wake someone.
        """
        if self._listeners is None:
            self._listeners = []
        self._listeners.append(listener)
        # Re-checked after publishing: a set() that read no listener is seen here.
        if self.is_set():
            listener()

    def is_set(self) -> bool:
        """Return whether :meth:`set` was called."""
        return not self._lock.locked()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until set, at most *timeout* seconds; return whether it is set."""
        if self._lock.acquire(timeout=-1 if timeout is None else timeout):
            self._lock.release()
            return True
        return False
