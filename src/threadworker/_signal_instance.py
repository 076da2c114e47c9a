"""One owner's signal: its callbacks, its awaiters, its ``async for`` readers.

What reading a :class:`~threadworker._signal.Signal` from an instance gives.
``emit`` from any thread hands over to the owner's home thread, where the
callbacks run in order; a one-shot signal latches what it fired, so awaiting
it afterwards returns at once.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ._latch import Latch
from ._signal_iterator import ITERATOR_HIGH_WATER, _SignalIterator, _SignalIteratorT
from ._sizes import BARE_TYPES, DEFAULT_MAX_BYTES_IN_FLIGHT, payload_size
from ._slot import CallbackT, SignalLike, _Slot

if TYPE_CHECKING:
    from ._signal import Signal

__all__ = ["SignalInstance", "SignalOwner"]

T = TypeVar("T")


class SignalOwner(Protocol):
    """What a signal needs from the object it is declared on."""

    def _post_to_home(self, fn: Callable[..., object], *args: object) -> bool:
        """Run ``fn(*args)`` on the home thread; False when already there."""

    def _report_exception(self, exc: BaseException, message: str) -> None:
        """Report an exception nobody handled."""

    def _signal_owner_name(self) -> str:
        """Name the owner in messages, e.g. ``FunctionWorker[average]``."""

    def _signal_created(self, signal: SignalInstance[Any]) -> None:
        """Bring a newly made signal up to date (latch what already fired)."""


class SignalInstance(Generic[T]):
    """One owner's signal: connect callbacks, emit, await, iterate.

    Notes
    -----
    Bound methods are held weakly, so connecting a widget's method does not
    keep the widget alive; a receiver that has been deleted is skipped and
    disconnected. Functions, lambdas and other callables are held strongly.
    A callback that takes fewer positional arguments than the signal carries
    gets the leading ones, as with Qt signals.
    """

    __slots__ = (
        "__weakref__",
        "_byte_budget",
        "_closed",
        "_iterators",
        "_latch",
        "_lock",
        "_on_space",
        "_on_wait",
        "_owner_hold",
        "_owner_ref",
        "_signal",
        "_slots",
        "_waiters",
    )

    def __init__(self, signal: Signal[T], owner: SignalOwner) -> None:
        self._signal = signal
        self._owner_ref = weakref.ref(owner)
        self._slots: list[_Slot] = []  # replaced, never mutated: emit iterates it
        # Serialises the replacements of _slots: connect and disconnect may come
        # from any thread, and a read-copy-write would lose a racing one.
        self._lock = threading.Lock()
        self._latch: Latch[T] | None = Latch() if signal.once else None
        # Appended by awaiters on any thread, taken one by one by the home:
        # deque operations are atomic, so no awaiter is lost in between.
        self._waiters: deque[Latch[T]] = deque()
        # Weak, so an iterator abandoned by ``break`` is dropped; a plain list
        # (replaced, never mutated) because emission walks it per value.
        self._iterators: list[weakref.ref[_SignalIterator[T]]] = []
        self._closed: BaseException | None = None
        self._on_space: Callable[[], None] | None = None
        # Normally the owner is held weakly; it may hold itself through a
        # signal (see WorkerBase._signal_awaited: ``await create_worker(f).returned``).
        self._owner_hold: object = None
        # Called (from the awaiting thread) when a coroutine starts to wait.
        self._on_wait: Callable[[], None] | None = None
        self._byte_budget = DEFAULT_MAX_BYTES_IN_FLIGHT

    @property
    def signal(self) -> str:
        """The name pytest-qt shows in its messages, e.g. ``FunctionWorker[f].returned``."""
        owner = self._owner_ref()
        prefix = owner._signal_owner_name() if owner is not None else "<deleted>"
        return f"{prefix}.{self._signal.name}"

    # -- introspection -------------------------------------------------------
    @property
    def name(self) -> str:
        """The attribute name of this signal, e.g. ``"returned"``."""
        return self._signal.name

    def __repr__(self) -> str:
        return f"<SignalInstance {self.signal} at {id(self):#x}>"

    __str__ = __repr__  # pytest-qt tells signals apart by str(): unique per instance

    # -- callbacks -------------------------------------------------------------
    def connect(self, callback: CallbackT) -> CallbackT:
        """Call *callback* on the home thread at every emission.

        *callback* may also be a signal (a Qt bound signal, or another
        worker's): emitting this one then emits that one. Returns *callback*,
        so this works as a decorator.

        Callable from any thread; an emission under way when it is called
        may or may not reach *callback*.

        Raises
        ------
        TypeError
            If *callback* is not callable (and not a signal to chain into).
        """
        slot = _Slot(callback, self._signal.nargs)
        with self._lock:
            self._slots = [*self._slots, slot]
        return callback

    def disconnect(self, callback: Callable[..., Any] | SignalLike | None = None) -> None:
        """Disconnect *callback*, or every callback when called with none.

        Callable from any thread; an emission under way when it is called
        may still reach *callback*.

        Raises
        ------
        ValueError
            If *callback* is not connected.
        """
        with self._lock:
            if callback is None:
                self._slots = []
                return
            for index, slot in enumerate(self._slots):
                if slot.matches(callback):
                    self._slots = self._slots[:index] + self._slots[index + 1 :]
                    return
        raise ValueError(f"{callback!r} is not connected to {self.signal}")

    def _drop_dead_slots(self) -> None:
        """Forget callbacks whose receiver was deleted (after an emission saw one)."""
        with self._lock:
            self._slots = [slot for slot in self._slots if slot.alive()]

    def has_receivers(self) -> bool:
        """Return whether anything would receive the next emission."""
        if any(slot.alive() for slot in self._slots):
            return True
        if self._latch is not None and self._latch.has_waiters():
            return True
        return any(w.has_waiters() for w in list(self._waiters)) or any(
            ref() is not None for ref in self._iterators
        )

    # -- emission --------------------------------------------------------------
    def emit(self, *args: Any) -> None:
        """Emit with *args*; from another thread the emission is handed home.

        A worker has a home once started: before that, callbacks run here.

        Raises
        ------
        TypeError
            If the number of arguments does not match the signal's.
        """
        if len(args) != self._signal.nargs:
            raise TypeError(
                f"{self.signal} is emitted with {self._signal.nargs} argument(s), not {len(args)}"
            )
        owner = self._owner_ref()
        if owner is None or not owner._post_to_home(self._emit_here, args):
            self._emit_here(args)

    def __call__(self, *args: Any) -> None:
        """Emit: a signal can go wherever a callable is expected.

        ``qt_signal.connect(worker_signal)`` and ``QTimer.singleShot(0, sig)``
        work; extra arguments (PyQt passes ``checked`` to clicked slots) are
        dropped, as Qt drops them for slots that take fewer.

        Raises
        ------
        TypeError
            If fewer arguments are given than the signal carries.
        """
        self.emit(*args[: self._signal.nargs])

    def _emit_here(self, args: tuple[Any, ...]) -> None:
        """Deliver an emission; the caller is on the home thread."""
        if self._closed is not None:
            return
        dead = False
        interrupt: BaseException | None = None
        for slot in self._slots:
            try:
                if not slot.call(args):
                    dead = True
            except Exception as exc:
                self._report(exc, f"Exception in callback {slot!r} of {self.signal}")
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: after the rest
                interrupt = interrupt or exc
        if dead:
            self._drop_dead_slots()
        payload: Any = args[0] if args else None
        if self._latch is not None:
            self._latch.set_result(payload)
        elif self._waiters:
            _resolve_all(self._waiters, payload)
        for ref in self._iterators:
            iterator = ref()
            if iterator is not None:
                iterator._push(payload)
        if interrupt is not None:
            # Every receiver got this emission; now it propagates as from
            # any callback (see Dispatcher.flush: later deliveries survive).
            raise interrupt

    def _emit_value(self, value: Any) -> None:
        """Deliver a one-argument emission: :meth:`_emit_here` minus the tuple.

        The generator worker's hot path: one call per yielded value.
        """
        if self._closed is not None:
            return
        dead = False
        interrupt: BaseException | None = None
        for slot in self._slots:
            try:
                if not slot.call_one(value):
                    dead = True
            except Exception as exc:
                self._report(exc, f"Exception in callback {slot!r} of {self.signal}")
            except BaseException as exc:  # KeyboardInterrupt, SystemExit: after the rest
                interrupt = interrupt or exc
        if dead:
            self._drop_dead_slots()
        if self._waiters:
            _resolve_all(self._waiters, value)
        if self._iterators:
            size = 0 if type(value) in BARE_TYPES else payload_size(value)
            for ref in self._iterators:
                iterator = ref()
                if iterator is not None:
                    iterator._bytes_pushed += size
                    iterator._buffer.append(value)  # _push, inlined: once per value
                    if iterator._wakeup is not None:
                        iterator._wake()
        if interrupt is not None:
            raise interrupt

    def _report(self, exc: BaseException, message: str) -> None:
        owner = self._owner_ref()
        if owner is not None:
            owner._report_exception(exc, message)
        else:  # pragma: no cover - the owner holds its signals
            sys.excepthook(type(exc), exc, exc.__traceback__)

    @property
    def _congested(self) -> bool:
        """Whether an async iterator has too many unread values or bytes (home thread).

        A congested iterator is marked, so that its reader calls ``_on_space``
        once it has read its way down to half.
        """
        budget = self._byte_budget
        for ref in self._iterators:
            iterator = ref()
            if iterator is not None and (
                len(iterator._buffer) >= ITERATOR_HIGH_WATER
                or iterator._bytes_pushed - iterator._bytes_read >= budget
            ):
                iterator._holding = True
                return True
        return False

    def _close(self, reason: BaseException | None) -> None:
        """Mark the signal dead: fail waiters with *reason*, end iterators.

        *reason* may be None for a fired one-shot signal, whose latch answers
        every later await.
        """
        if self._closed is not None:
            return
        self._closed = reason if reason is not None else _CLOSED
        if reason is None:
            self._end_iterators()
            return
        if self._latch is not None:
            self._latch.set_exception(reason)
        waiters = self._waiters
        while waiters:
            try:
                waiters.popleft().set_exception(reason)
            except IndexError:  # pragma: no cover - taken meanwhile
                break
        self._end_iterators()

    def _end_iterators(self) -> None:
        for ref in self._iterators:
            iterator = ref()
            if iterator is not None:
                iterator._end()

    # -- awaiting ----------------------------------------------------------------
    def __await__(self) -> Generator[Any, None, T]:
        """Wait for the next emission (or the latched one) and return its argument.

        Raises
        ------
        WorkerFinishedError
            If the owner finished and this signal can no longer be emitted.
        """
        owner = self._owner_ref()
        awaited = getattr(owner, "_signal_awaited", None)
        if awaited is not None:  # a worker starts when some of its signals are awaited
            awaited(self)
        del owner, awaited  # the frame must not keep the owner alive while it waits
        if self._latch is not None:
            return (yield from self._latch.__await__(self._on_wait))
        if self._closed is not None:
            raise self._closed
        latch: Latch[T] = Latch()
        self._waiters.append(latch)
        # Re-checked after listing the latch: a close that emptied the list
        # just before would otherwise leave this awaiter waiting for ever.
        closed = self._closed_reason()
        if closed is not None:
            latch.set_exception(closed)
        return (yield from latch.__await__(self._on_wait))

    def _closed_reason(self) -> BaseException | None:
        return self._closed

    def _forget_iterator(self, dead: weakref.ref[_SignalIterator[T]]) -> None:
        self._iterators = [ref for ref in self._iterators if ref is not dead]

    def __aiter__(self) -> AsyncIterator[T]:
        """Iterate over emissions from now until the owner finishes."""
        return self._subscribe(_SignalIterator(self))

    def _subscribe(self, iterator: _SignalIteratorT) -> _SignalIteratorT:
        """Feed *iterator* every emission from now on."""
        if self._closed is not None:
            iterator._end()
        else:
            self._iterators = [*self._iterators, weakref.ref(iterator, self._forget_iterator)]
        return iterator


def _resolve_all(waiters: deque[Latch[Any]], value: object) -> None:
    """Resolve the latches listed now; one listed meanwhile waits for the next."""
    for _ in range(len(waiters)):
        waiters.popleft().set_result(value)


_CLOSED = RuntimeError("closed")  # the reason of a fired one-shot signal: never raised
