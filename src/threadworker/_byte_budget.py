"""How many bytes a worker process may have on their way to the parent.

A worker process's values wait in its outbox, then in the pipe or in shared
memory until the parent takes them. Counted only in values, a generator of
32 MiB frames could fill gigabytes before the parent caught up; so the
producing thread also waits while the bytes in flight exceed a budget (the
scope's ``max_bytes_in_flight``). Bytes through the pipe count until they
are written; bytes in shared memory until the parent acknowledges them,
once it has handed them on (which waits on the home's own budget): a fast
producer is held back, not buffered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ._sizes import DEFAULT_MAX_BYTES_IN_FLIGHT

__all__ = ["ByteBudget"]


class ByteBudget:
    """Bytes in flight, and a limit producers wait on.

    One value larger than the limit still passes, alone: waiting for it
    would never end.
    """

    def __init__(self, limit: int = DEFAULT_MAX_BYTES_IN_FLIGHT) -> None:
        self.limit = limit
        self._used = 0
        self._cond = threading.Condition(threading.Lock())

    @property
    def used(self) -> int:
        """The bytes in flight now."""
        return self._used

    def acquire(self, nbytes: int, cancelled: Callable[[], bool]) -> None:
        """Count *nbytes* in, waiting while they would exceed the limit.

        Returns early, counting them anyway, once *cancelled* says so (the
        job was asked to quit: it must reach its end, not wait).
        """
        if nbytes <= 0:
            return
        with self._cond:
            while self._used and self._used + nbytes > self.limit and not cancelled():
                # Woken by release() and wake(); the timeout only keeps a bug
                # from turning into a hang.
                self._cond.wait(1.0)
            self._used += nbytes

    def release(self, nbytes: int) -> None:
        """Count *nbytes* out (any thread)."""
        if nbytes <= 0:
            return
        with self._cond:
            self._used = max(0, self._used - nbytes)
            self._cond.notify_all()

    def wake(self) -> None:
        """Make waiting producers look at *cancelled* again."""
        with self._cond:
            self._cond.notify_all()
