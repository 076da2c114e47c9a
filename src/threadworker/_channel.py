"""An ordered, bounded hand-off from one worker thread to the home thread.

One wake-up of the home thread carries every item queued since the last one,
so a fast generator costs a handful of loop iterations, not one per value.
The producer blocks when the channel is full: a slow consumer slows the
generator down instead of growing memory. The home side drains in slices of
at most :data:`SLICE_SECONDS`, so a flood of values never freezes the GUI.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["Channel"]

SLICE_SECONDS = 0.001
DEFAULT_CAPACITY = 1024


class Channel:
    """Items put by one producer thread, handled in order on the home thread.

    Parameters
    ----------
    post : callable
        Runs a callable on the home thread (thread-safe).
    handle : callable
        Called on the home thread with each item.
    blocked : callable
        Asked on the home thread after each item; while it returns True,
        draining stops until :meth:`resume` is called.
    capacity : int
        How many undelivered items make :meth:`put` block.
    """

    def __init__(
        self,
        post: Callable[[Callable[[], None]], None],
        handle: Callable[[Any], object],
        blocked: Callable[[], bool],
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self._post = post
        self._handle = handle
        self._blocked = blocked
        self._capacity = capacity
        self._cond = threading.Condition(threading.Lock())
        self._items: deque[Any] = deque()
        self._batch: deque[Any] = deque()  # taken by the home side, not yet handled
        self._scheduled = False
        self._stalled = False
        self._unbounded = False

    def put(self, item: Any) -> None:
        """Queue *item*; block while the channel is full (producer thread)."""
        with self._cond:
            while len(self._items) >= self._capacity and not self._unbounded:
                self._cond.wait()
            self._items.append(item)
            if self._scheduled:
                return
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
        # Unblocked meanwhile (the resume may have come before we stalled).
        with self._cond:
            if not self._stalled:
                return True  # a resume already re-posted the drain
            self._stalled = False
        return False

    def drain(self) -> None:
        """Handle queued items, for one time slice (home thread)."""
        deadline = time.perf_counter() + SLICE_SECONDS
        batch = self._batch
        handle = self._handle
        blocked = self._blocked
        count = 0
        while True:
            if not batch:
                with self._cond:
                    if not self._items:
                        self._scheduled = False
                        return
                    batch = self._batch = self._items
                    self._items = deque()
                    self._cond.notify()
            while batch:
                count += 1
                handle(batch.popleft())
                if blocked() and self._stall():
                    return
                if not count & 31 and time.perf_counter() > deadline:
                    self._post(self.drain)  # let timers and input run first
                    return
