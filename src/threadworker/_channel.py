"""An ordered, bounded hand-off from one worker thread to the home thread.

One wake-up of the home thread carries every item queued since the last one,
so a fast generator costs a handful of loop iterations, not one per value.
The producer blocks when the channel is full — too many items, or too many
bytes (see :mod:`._sizes`) — so a slow consumer slows the generator down
instead of growing memory. The home side drains in slices of
at most :data:`SLICE_SECONDS`, so a flood of values never freezes the GUI.

The common path takes no lock: ``deque.append`` and ``deque.popleft`` are
atomic, and each side re-checks after publishing its flag, so neither a
wake-up nor a waiting producer can be missed (see :meth:`Channel.put` and
:meth:`Channel.drain`). The lock is only for sleeping and waking.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ._sizes import BARE_TYPES, DEFAULT_MAX_BYTES_IN_FLIGHT, payload_size

__all__ = ["Channel"]

SLICE_SECONDS = 0.0005
DEFAULT_CAPACITY = 1024
_CHECK_EVERY = 64  # items between clock and backpressure checks
#: Values smaller than this travel bare and count as :data:`SMALL_ITEM_BYTES`.
SIZED_MIN = 1024
SMALL_ITEM_BYTES = 64


class _Sized:
    """A large value on its way, with the size it was counted at."""

    __slots__ = ("size", "value")

    def __init__(self, value: Any, size: int) -> None:
        self.value = value
        self.size = size


class Channel:
    """Items put by one producer thread, handled in order on the home thread.

    Parameters
    ----------
    post : callable
        Runs a callable on the home thread (thread-safe).
    post_yielding : callable
        Runs a callable on the home thread after its due timers and input
        (called on the home thread, when a drain's time slice is up).
    handle : callable
        Called on the home thread with each item.
    blocked : callable
        Asked on the home thread every few items; while it returns True,
        draining stops until :meth:`resume` is called.
    capacity : int
        How many undelivered items make :meth:`put` block.
    max_bytes : int
        How many undelivered bytes make :meth:`put` block (values of at
        least :data:`SIZED_MIN` bytes count their size, others
        :data:`SMALL_ITEM_BYTES`). An empty channel always takes one value,
        however large: at most ``max_bytes`` plus one value are in flight.
    """

    def __init__(
        self,
        post: Callable[[Callable[[], None]], None],
        post_yielding: Callable[[Callable[[], None]], None],
        handle: Callable[[Any], object],
        blocked: Callable[[], bool],
        capacity: int = DEFAULT_CAPACITY,
        max_bytes: int = DEFAULT_MAX_BYTES_IN_FLIGHT,
    ) -> None:
        self._post = post
        self._post_yielding = post_yielding
        self._handle = handle
        self._blocked = blocked
        self._capacity = capacity
        self.max_bytes = max_bytes
        # What large values may hold before the exact check (_full) is needed.
        self._room_bytes = max_bytes - SMALL_ITEM_BYTES * capacity
        self._items: deque[Any] = deque()
        # Bytes of large values put and taken: each written by one side only,
        # so neither needs a lock; their difference is what is in flight.
        self._bytes_put = 0
        self._bytes_taken = 0
        # Items handled since the last backpressure check, across drains: a
        # home that drains a few at a time must still be checked.
        self._unchecked = 0
        self._cond = threading.Condition(threading.Lock())
        self._scheduled = False  # a drain is posted or running
        self._producer_waiting = False
        self._stalled = False
        self._unbounded = False

    def put(self, item: Any) -> None:
        """Queue *item*; block while the channel is full (producer thread)."""
        items = self._items
        count = len(items)
        if (
            (
                count >= self._capacity
                or (count and self._bytes_put - self._bytes_taken >= self._room_bytes)
            )
            and not self._unbounded
            and self._full()
        ):
            with self._cond:
                self._producer_waiting = True
                # Re-checked after publishing the flag: a drain that emptied
                # the channel before seeing the flag is caught here.
                while self._full() and not self._unbounded:
                    self._cond.wait()
                self._producer_waiting = False
        if type(item) not in BARE_TYPES:  # numbers and the like: no call to measure them
            size = payload_size(item)
            if size >= SIZED_MIN:
                self._bytes_put += size
                item = _Sized(item, size)
        items.append(item)
        if not self._scheduled:
            self._scheduled = True
            self._post(self.drain)

    def _full(self) -> bool:
        count = len(self._items)
        return count >= self._capacity or (count > 0 and self.bytes_in_flight() >= self.max_bytes)

    def bytes_in_flight(self) -> int:
        """The bytes put and not yet handed to ``handle`` (an estimate, any thread)."""
        return self._bytes_put - self._bytes_taken + SMALL_ITEM_BYTES * len(self._items)

    def stop_blocking(self) -> None:
        """Never block the producer again (it is being asked to quit)."""
        with self._cond:
            self._unbounded = True
            self._cond.notify_all()

    def resume(self) -> None:
        """Continue draining if ``blocked`` stopped it (any thread)."""
        with self._cond:
            if not self._stalled:
                return
            self._stalled = False
        self._post(self.drain)

    def _stall(self) -> bool:
        """Stop draining if still blocked; racing :meth:`resume` is safe."""
        with self._cond:
            self._stalled = True
        if self._blocked():
            return True
        with self._cond:  # unblocked meanwhile
            if not self._stalled:
                return True  # a resume already re-posted the drain
            self._stalled = False
        return False

    def _wake_producer(self) -> None:
        if self._producer_waiting:
            with self._cond:
                self._cond.notify()

    def drain(self) -> None:
        """Handle queued items, for one time slice (home thread).

        An exception from ``handle`` (a ``KeyboardInterrupt`` from a callback)
        propagates, and the drain goes on later with the next item.
        """
        items = self._items
        handle = self._handle
        popleft = items.popleft
        deadline = time.perf_counter() + SLICE_SECONDS
        unchecked = self._unchecked
        try:
            while True:
                try:
                    item = popleft()
                except IndexError:
                    self._scheduled = False
                    # Re-checked after clearing the flag: an item put while the
                    # producer still saw the flag set would otherwise sit here.
                    if not items:
                        self._wake_producer()
                        return
                    self._scheduled = True
                    continue
                if type(item) is _Sized:
                    self._bytes_taken += item.size
                    item = item.value
                    # A big value: whether an iterator is full is asked now, not
                    # 64 values later (64 frames may be far over the byte budget).
                    unchecked = _CHECK_EVERY - 1
                try:
                    handle(item)
                except BaseException:
                    self._post(self.drain)  # still scheduled: the rest comes later
                    raise
                unchecked += 1
                if unchecked >= _CHECK_EVERY:
                    unchecked = 0
                    self._wake_producer()
                    if self._blocked() and self._stall():
                        return
                    if time.perf_counter() > deadline:
                        self._post_yielding(self.drain)  # let timers and input run first
                        return
        finally:
            self._unchecked = unchecked
