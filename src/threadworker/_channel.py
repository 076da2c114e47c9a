"""An ordered, bounded hand-off from one worker thread to the home thread.

One wake-up of the home thread carries every item queued since the last one,
so a fast generator costs a handful of loop iterations, not one per value.
The producer blocks when the channel is full: a slow consumer slows the
generator down instead of growing memory. The home side drains in slices of
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

__all__ = ["Channel"]

SLICE_SECONDS = 0.0005
DEFAULT_CAPACITY = 1024
_CHECK_EVERY = 64  # items between clock and backpressure checks


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
    """

    def __init__(
        self,
        post: Callable[[Callable[[], None]], None],
        post_yielding: Callable[[Callable[[], None]], None],
        handle: Callable[[Any], object],
        blocked: Callable[[], bool],
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self._post = post
        self._post_yielding = post_yielding
        self._handle = handle
        self._blocked = blocked
        self._capacity = capacity
        self._items: deque[Any] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._scheduled = False  # a drain is posted or running
        self._producer_waiting = False
        self._stalled = False
        self._unbounded = False

    def put(self, item: Any) -> None:
        """Queue *item*; block while the channel is full (producer thread)."""
        items = self._items
        if len(items) >= self._capacity and not self._unbounded:
            with self._cond:
                self._producer_waiting = True
                # Re-checked after publishing the flag: a drain that emptied
                # the channel before seeing the flag is caught here.
                while len(items) >= self._capacity and not self._unbounded:
                    self._cond.wait()
                self._producer_waiting = False
        items.append(item)
        if not self._scheduled:
            self._scheduled = True
            self._post(self.drain)

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
        """Handle queued items, for one time slice (home thread)."""
        items = self._items
        handle = self._handle
        popleft = items.popleft
        deadline = time.perf_counter() + SLICE_SECONDS
        count = 0
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
            try:
                handle(item)
            except BaseException:
                # KeyboardInterrupt or SystemExit from a callback goes on to
                # the home; the items after it wait for the next drain, which
                # is posted now (``_scheduled`` stays set for it).
                self._post(self.drain)
                raise
            count += 1
            if count % _CHECK_EVERY == 0:
                self._wake_producer()
                if self._blocked() and self._stall():
                    return
                if time.perf_counter() > deadline:
                    self._post_yielding(self.drain)  # let timers and input run first
                    return
