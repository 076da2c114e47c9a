"""``async for`` over a signal: a bounded buffer per reader, with back-pressure.

An iterator holding :data:`ITERATOR_HIGH_WATER` unread values (or unread
bytes past its signal's byte budget) makes its signal report congestion,
which stops the worker's delivery and so, through its bounded channel, the
generator. Delivery resumes when the reader has taken it down to half.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from ._sizes import BARE_TYPES, DEFAULT_MAX_BYTES_IN_FLIGHT, payload_size

if TYPE_CHECKING:
    from typing import Self

    from ._signal_instance import SignalInstance

__all__ = ["ITERATOR_HIGH_WATER"]

T = TypeVar("T")


#: An async iterator of a signal holding this many unread values (or unread
#: bytes past its signal's byte budget) stops the worker's delivery, and so,
#: through its bounded channel, the generator. Delivery resumes when the
#: reader has taken it down to half of both.
ITERATOR_HIGH_WATER = 256


_SignalIteratorT = TypeVar("_SignalIteratorT", bound="_SignalIterator[Any]")


class _SignalIterator(AsyncIterator[T]):
    """Buffers one subscriber's emissions; ends when the signal closes.

    Values are pushed on the owner's home thread; the reader may run on any
    loop, in any thread, and is woken on its own loop.
    """

    __slots__ = (
        "__weakref__",
        "_buffer",
        "_bytes_pushed",
        "_bytes_read",
        "_holding",
        "_signal_ref",
        "_wakeup",
    )

    def __init__(self, signal: SignalInstance[T]) -> None:
        self._buffer: deque[Any] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        # Weak, so an iterator abandoned by ``break`` is collected and dropped.
        self._signal_ref = weakref.ref(signal)
        # Bytes of the values pushed (home thread) and read (reader): one
        # writer each, so no lock; the difference is what waits here.
        self._bytes_pushed = 0
        self._bytes_read = 0
        self._holding = False  # delivery was stopped for this iterator

    def _push(self, value: object) -> None:
        self._bytes_pushed += payload_size(value)
        self._buffer.append(value)
        self._wake()

    def _end(self) -> None:
        self._buffer.append(_END)
        self._wake()

    def _wake(self) -> None:
        """Wake the reader, on its own loop (called after appending)."""
        waiter = self._wakeup
        if waiter is None or waiter.done():
            return
        loop = waiter.get_loop()
        if asyncio._get_running_loop() is loop:
            waiter.set_result(None)
            return
        try:
            loop.call_soon_threadsafe(_wake_future, waiter)
        except RuntimeError:  # the reader's loop closed: nobody to wake
            pass

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        buffer = self._buffer
        while not buffer:
            wakeup = asyncio.get_running_loop().create_future()
            self._wakeup = wakeup
            # Re-checked after publishing the future: a value pushed (in the
            # home thread) before it saw the future would otherwise wait
            # for the next one.
            if buffer:
                self._wakeup = None
                break
            try:
                await wakeup
            finally:
                self._wakeup = None
        value = buffer.popleft()
        if value is _END:
            buffer.appendleft(_END)
            self._ended()
        if type(value) not in BARE_TYPES:
            self._bytes_read += payload_size(value)
        if self._holding and self._below_low_water():
            self._holding = False
            self._make_space()
        return value  # type: ignore[no-any-return]

    def _below_low_water(self) -> bool:
        signal = self._signal_ref()
        budget = DEFAULT_MAX_BYTES_IN_FLIGHT if signal is None else signal._byte_budget
        return (
            len(self._buffer) <= ITERATOR_HIGH_WATER // 2
            and self._bytes_pushed - self._bytes_read <= budget // 2
        )

    def _ended(self) -> NoReturn:
        """Finish the iteration (subclasses may raise something else)."""
        raise StopAsyncIteration

    def _make_space(self) -> None:
        signal = self._signal_ref()
        if signal is not None and signal._on_space is not None:
            signal._on_space()

    def __del__(self) -> None:
        # Abandoned (``break``), maybe while delivery waited for room in it.
        self._make_space()


def _wake_future(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


_END: Any = object()
