"""A worker process's shared memory segments, reused from value to value.

Fresh memory is expensive: each new page is zeroed and faulted in, which
costs more than copying into it (about 1 GB/s for a fresh segment against
5 GB/s and more for one already mapped, measured on the CI machine). So a
worker process keeps the segments its values went out in, mapped, and the
parent *lends* them to the values it rebuilds: an array it received is a
view of the segment, with no copy on that side. When the last view of it is
gone, the parent gives the segment back (a ``("free", 0, name)`` message)
and the next value of that size reuses it.

A value the home keeps simply keeps its segment: the ring makes another.
Free segments beyond a cache of ``limit`` bytes are removed. The parent
removes whatever a process left behind when it ends (``_shared_memory.sweep``).
"""

from __future__ import annotations

import mmap
import os
import threading

from ._shared_memory import posix_shm, segment_name

__all__ = ["RingSegment", "SegmentRing"]

_PAGE = mmap.PAGESIZE
_POPULATE = getattr(mmap, "MAP_POPULATE", 0)


class RingSegment:
    """One segment of the ring, mapped here for as long as the ring keeps it."""

    __slots__ = ("capacity", "memory", "name", "view")

    def __init__(self, capacity: int, owner: int) -> None:
        self.capacity = capacity
        self.name = segment_name(owner)
        fd = posix_shm.shm_open(self.name, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode=0o600)
        try:
            os.ftruncate(fd, capacity)
            self.memory = mmap.mmap(fd, capacity, flags=mmap.MAP_SHARED | _POPULATE)
        except BaseException:
            posix_shm.shm_unlink(self.name)
            raise
        finally:
            os.close(fd)
        self.view = memoryview(self.memory)

    def close(self) -> None:
        """Unmap it and remove its name."""
        self.view.release()
        self.memory.close()
        try:
            posix_shm.shm_unlink(self.name)
        except FileNotFoundError:
            pass


class SegmentRing:
    """Segments lent out, and free ones kept for reuse (any thread)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit  # bytes of free segments kept
        self.owner = os.getppid()  # the program the segments are for (its pid)
        self._lock = threading.Lock()
        self._free: list[RingSegment] = []
        self._lent: dict[str, RingSegment] = {}

    def take(self, nbytes: int) -> RingSegment:
        """A segment of at least *nbytes*, lent until :meth:`give_back`."""
        with self._lock:
            best = None
            for segment in self._free:
                # Not one far too big: it would sit lent to a small value.
                if nbytes <= segment.capacity <= 2 * nbytes + _PAGE and (
                    best is None or segment.capacity < best.capacity
                ):
                    best = segment
            if best is not None:
                self._free.remove(best)
        if best is None:
            best = RingSegment(-(-nbytes // _PAGE) * _PAGE, self.owner)
        with self._lock:
            self._lent[best.name] = best
        return best

    def give_back(self, name: str) -> None:
        """The parent dropped its last view of segment *name*."""
        evicted: list[RingSegment] = []
        with self._lock:
            segment = self._lent.pop(name, None)
            if segment is None:
                return
            self._free.append(segment)
            kept = sum(s.capacity for s in self._free)
            while kept > self.limit and len(self._free) > 1:  # the last one stays
                oldest = self._free.pop(0)
                kept -= oldest.capacity
                evicted.append(oldest)
        for old in evicted:
            old.close()

    def close(self) -> None:
        """Remove every segment (the process is exiting)."""
        with self._lock:
            segments = [*self._free, *self._lent.values()]
            self._free.clear()
            self._lent.clear()
        for segment in segments:
            segment.close()
