"""Big buffers between processes through shared memory, not the pipe.

A value crossing to or from a worker process is pickled with protocol 5.
Buffers pickle hands out of band (NumPy arrays, :class:`pickle.PickleBuffer`)
of at least the threshold (:data:`THRESHOLD` bytes by default), and a
top-level ``bytes``/``bytearray`` that large, are copied once into shared
memory; only the small pickle and the segment's name go through the pipe.

Two ways a segment travels:

- *lent* (a worker process's values, the hot path): the process keeps its
  segments mapped and reuses them (``_segment_ring``). The parent rebuilds
  the value as a view of the segment, with no copy: an array it received is
  an ordinary writable array, valid for as long as anything holds it. When
  the last view is gone the segment goes back to the process for reuse.
- *moved* (the parent's arguments and sent values): a fresh segment per
  value; the receiver maps it and removes its name at once, so the memory
  is the receiver's alone and goes back to the system with its last view.

``bytes`` and ``bytearray`` own their memory, so they take one copy on the
receiving side.

No segment outlives its worker process: the parent removes whatever a
process made and left (:func:`sweep`, by the process ids in the name) when it
has ended — killed by ``quit()``, crashed, or exited; the parent's own are
held by their job and removed when it ends (:meth:`Segment.release`), or on
garbage collection at the latest.

Only where ``/dev/shm`` can be listed (Linux) is shared memory used, as
that is where leftovers can be found again; elsewhere values take the pipe.
"""

from __future__ import annotations

import importlib
import mmap
import os
import pickle
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

try:  # POSIX only; what multiprocessing.shared_memory itself uses (it has no stubs)
    posix_shm: Any = importlib.import_module("_posixshmem")
except ImportError:  # pragma: no cover - Windows
    posix_shm = None

if TYPE_CHECKING:
    from ._segment_ring import SegmentRing

__all__ = [
    "AVAILABLE",
    "NAME_PREFIX",
    "THRESHOLD",
    "Encoded",
    "Pickled",
    "Segment",
    "encode",
    "leftover_segments",
    "pickled",
    "posix_shm",
    "release",
    "returning_to",
    "segment_name",
    "sweep",
    "take_received_bytes",
]

#: Every segment's name starts with this, then the id of the program it is for
#: (the worker processes' parent), then that of the process that made it.
NAME_PREFIX = "threadworker-"
#: Buffers of this many bytes or more go through shared memory; below it the
#: pipe is as fast (``benchmarks/scenarios.py``, ``crossover``).
THRESHOLD = 64 * 1024
_SHM_DIR = "/dev/shm"
#: Whether this platform can use shared memory *and* clean up after a crash.
AVAILABLE = posix_shm is not None and os.path.isdir(_SHM_DIR)
# Pages written once, right away: faulting them in with one call is cheaper.
_POPULATE = getattr(mmap, "MAP_POPULATE", 0)

# Per receiving thread: bytes received through segments (for the byte budget's
# acknowledgements) and where lent segments are given back.
_receiving = threading.local()

#: Bytes of lent segments a receiving thread keeps mapped for reuse: mapping
#: anew costs a page fault per page touched, dearer than the copy.
MAPPED_CACHE = 256 * 2**20

# Pickles at least this big travel as they are, not pickled again with their message.
_NESTED_FROM = 4096

# The simple values whose pickling never fails and which hold no big buffer.
_PLAIN = frozenset({int, float, bool, complex, str, type(None)})


class Segment:
    """A fresh segment the parent made for one value, until the receiver takes it.

    :meth:`release` removes its name (a no-op once the receiver did), and so
    does garbage collection, whichever comes first.
    """

    __slots__ = ("__weakref__", "_finalizer", "name", "nbytes")

    def __init__(self, parts: list[memoryview]) -> None:
        self.nbytes = sum(part.nbytes for part in parts)
        self.name = segment_name(os.getpid())
        fd = posix_shm.shm_open(self.name, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode=0o600)
        self._finalizer = weakref.finalize(self, _unlink, self.name)
        try:
            os.ftruncate(fd, self.nbytes)
            flags = mmap.MAP_SHARED | _POPULATE
            with mmap.mmap(fd, self.nbytes, flags=flags) as memory, memoryview(memory) as view:
                _copy(parts, view)
        except BaseException:
            self.release()
            raise
        finally:
            os.close(fd)

    def release(self) -> None:
        """Remove the segment's name (the receiver's mapping, if any, stays valid)."""
        self._finalizer()


def _copy(parts: list[memoryview], view: memoryview) -> None:
    offset = 0
    for part in parts:
        view[offset : offset + part.nbytes] = part
        offset += part.nbytes


class Encoded:
    """A value pickled out of band; unpickles as the value itself.

    It pickles (in a batch, a job or a request) as the small pickle and the
    segment's name; :func:`_decode` rebuilds the value on the other side.
    """

    __slots__ = ("data", "layout", "lent", "name", "segment", "shared")

    def __init__(
        self,
        data: bytes,
        layout: tuple[tuple[int, int], ...] = (),
        *,
        name: str | None = None,
        shared: int = 0,
        lent: bool = False,
        segment: Segment | None = None,
    ) -> None:
        self.data = data
        self.layout = layout
        self.name = name
        self.shared = shared  # bytes in shared memory
        self.lent = lent
        self.segment = segment  # the parent's own, held until its job ends

    @property
    def nbytes(self) -> int:
        """Bytes the value holds, through the pipe and in shared memory."""
        return len(self.data) + self.shared

    def __reduce__(self) -> tuple[Any, ...]:
        return (_decode, (self.data, self.name, self.layout, self.lent))


class Pickled(bytes):
    """An :class:`Encoded` pickled, holding its segment for as long as it lives.

    Sent values wait in the sender's books as these; they pickle as ``bytes``.
    """

    segment: Segment | None

    @property
    def nbytes(self) -> int:
        """Bytes the value holds, through the pipe and in its segment."""
        return len(self) + (self.segment.nbytes if self.segment is not None else 0)

    def __reduce__(self) -> tuple[Any, ...]:
        return (bytes, (bytes(self),))


def pickled(value: Any, *, threshold: int | None) -> Pickled:
    """*value* as bytes that unpickle as it, its big buffers in a fresh segment.

    Raises
    ------
    Exception
        Whatever pickling *value* raises.
    """
    encoded = encode(value, threshold=threshold)
    if type(encoded) is not Encoded:  # nothing in shared memory: as pickle has it
        data = Pickled(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
        data.segment = None
        return data
    data = Pickled(pickle.dumps(encoded, pickle.HIGHEST_PROTOCOL))
    data.segment = encoded.segment
    return data


def encode(value: Any, *, threshold: int | None, ring: SegmentRing | None = None) -> Any:
    """*value* ready to be pickled into a message: itself, or an :class:`Encoded`.

    Pickling happens here, on the calling thread, so a value that cannot be
    pickled raises now. Its big buffers go into a segment of *ring* (lent),
    or a fresh :class:`Segment` without one (moved), and it comes back as
    an :class:`Encoded`; a value without big buffers comes back as itself,
    to be pickled with the message (where a value that cannot be rebuilt
    on the other side is found and named, see ``_salvage``). *threshold*
    ``None`` keeps everything in the pipe (the forced pipe path).

    Raises
    ------
    Exception
        Whatever pickling *value* raises.
    """
    cls = type(value)
    if cls in _PLAIN:
        return value
    big_bytes = (cls is bytes or cls is bytearray) and (
        threshold is not None and AVAILABLE and len(value) >= threshold
    )
    if cls is bytes or cls is bytearray:
        if not big_bytes:
            return value
        # Never out of band by themselves: wrapped, they travel as one buffer.
        value = _Bytes(cls is bytearray, pickle.PickleBuffer(value))
    if threshold is None or not AVAILABLE:
        return _as_pickled(value, pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    parts: list[memoryview] = []
    limit = threshold
    data = pickle.dumps(
        value, pickle.HIGHEST_PROTOCOL, buffer_callback=lambda buffer: _keep(buffer, parts, limit)
    )
    if not parts:
        return _as_pickled(value, data)
    layout = []
    offset = 0
    for part in parts:
        layout.append((offset, part.nbytes))
        offset += part.nbytes
    if ring is None:
        segment = Segment(parts)
        return Encoded(data, tuple(layout), name=segment.name, shared=offset, segment=segment)
    lent = ring.take(offset)
    _copy(parts, lent.view)
    return Encoded(data, tuple(layout), name=lent.name, shared=offset, lent=True)


def _as_pickled(value: Any, data: bytes) -> Any:
    """*value* itself if it is small (pickled again with its message), else *data*.

    Pickling a small value twice costs less than a pickle inside a pickle,
    and keeps it where ``_salvage`` can name what in it cannot be rebuilt.
    """
    return value if len(data) < _NESTED_FROM else Encoded(data)


def _keep(buffer: pickle.PickleBuffer, parts: list[memoryview], threshold: int) -> bool:
    """Take a big contiguous buffer out of band; True keeps it in the pickle."""
    try:
        raw = buffer.raw()
    except BufferError:  # not contiguous: pickle copies it in band
        return True
    if raw.nbytes < threshold:
        return True
    parts.append(raw)
    return False


class _Bytes:
    """A big ``bytes``/``bytearray`` as one out-of-band buffer."""

    __slots__ = ("buffer", "mutable")

    def __init__(self, mutable: bool, buffer: pickle.PickleBuffer) -> None:
        self.mutable = mutable
        self.buffer = buffer

    def __reduce__(self) -> tuple[Any, ...]:
        return (_bytes_from, (self.mutable, self.buffer))


def _bytes_from(mutable: bool, buffer: Any) -> bytes | bytearray:
    # The one copy: bytes and bytearray own their memory.
    return bytearray(buffer) if mutable else bytes(buffer)


def _decode(
    data: bytes, name: str | None, layout: tuple[tuple[int, int], ...], lent: bool = False
) -> Any:
    """Rebuild a value on the receiving side, over its segment."""
    if name is None:
        return pickle.loads(data)
    _receiving.nbytes = getattr(_receiving, "nbytes", 0) + sum(size for _, size in layout)
    give_back: Callable[[str], object] | None = getattr(_receiving, "give_back", None)
    if not lent or give_back is None:
        memory = _map(name)
        if not lent:
            _unlink(name)  # moved: from now on only this mapping holds it
        view = memoryview(memory)
    else:
        # Lent: through a buffer of its own over a mapping kept for reuse, so
        # the views of this value can be told apart from those of the last.
        # Once the last one is gone, the segment goes back to its process.
        import ctypes  # only here, at home: a worker process never borrows

        memory = _mapped(name)
        end = max(offset + size for offset, size in layout)
        exporter = (ctypes.c_char * end).from_buffer(memory)
        weakref.finalize(exporter, give_back, name)
        view = memoryview(exporter).cast("B")
    return pickle.loads(data, buffers=[view[offset : offset + size] for offset, size in layout])


def _map(name: str) -> mmap.mmap:
    fd = posix_shm.shm_open(name, os.O_RDWR, mode=0o600)
    try:
        return mmap.mmap(fd, os.fstat(fd).st_size, flags=mmap.MAP_SHARED)
    finally:
        os.close(fd)


def _mapped(name: str) -> mmap.mmap:
    """The mapping of lent segment *name*, kept by this thread (least recent dropped)."""
    cache: OrderedDict[str, mmap.mmap] | None = getattr(_receiving, "mapped", None)
    if cache is None:
        cache = _receiving.mapped = OrderedDict()
    memory = cache.get(name)
    if memory is not None:
        cache.move_to_end(name)
        return memory
    memory = cache[name] = _map(name)
    total = sum(len(m) for m in cache.values())
    while total > MAPPED_CACHE and len(cache) > 1:
        # Dropped, not closed: views of it may live on (they keep it mapped).
        total -= len(cache.popitem(last=False)[1])
    return memory


def _unlink(name: str) -> None:
    try:
        posix_shm.shm_unlink(name)
    except FileNotFoundError:
        pass  # the receiver took it


def returning_to(give_back: Callable[[str], object]) -> None:
    """Give lent segments received on this thread back through *give_back*.

    It is called with a segment's name whenever the last view of it goes,
    from whatever thread that is, maybe inside the garbage collector: it
    must not take locks (``SimpleQueue.put`` is fine).
    """
    _receiving.give_back = give_back


def release(kept: list[Any]) -> None:
    """Remove the segments of values made by :func:`pickled` (their job ended)."""
    for value in kept:
        segment = getattr(value, "segment", None)
        if segment is not None:
            segment.release()


def take_received_bytes() -> int:
    """Bytes this thread received through segments since it last asked."""
    nbytes: int = getattr(_receiving, "nbytes", 0)
    _receiving.nbytes = 0
    return nbytes


def segment_name(owner: int) -> str:
    """A new segment's name: for program *owner*, made by this process."""
    return f"/{NAME_PREFIX}{owner}-{os.getpid()}-{os.urandom(8).hex()}"


def leftover_segments(owner: int | None = None, maker: int | None = None) -> list[str]:
    """Names of threadworker segments in ``/dev/shm`` (for *owner*, made by *maker*)."""
    if not AVAILABLE:
        return []
    prefix = NAME_PREFIX
    if owner is not None:
        prefix += f"{owner}-" if maker is None else f"{owner}-{maker}-"
    try:
        return sorted(name for name in os.listdir(_SHM_DIR) if name.startswith(prefix))
    except OSError:
        return []


def sweep(owner: int, maker: int | None) -> None:
    """Remove what the ended process *maker* made for *owner* and nobody took."""
    if maker is None:
        return
    for name in leftover_segments(owner, maker):
        _unlink(f"/{name}")
