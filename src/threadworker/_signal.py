"""Signals: callback hooks that are also awaitable events.

A :class:`Signal` is declared once on a class, psygnal-style; reading it from
an instance gives that instance's :class:`SignalInstance`, which is what users
``connect`` to, ``emit``, ``await`` and ``async for`` over.

Callbacks run on the owner's home thread (the event loop's, the GUI thread
under Qt): an ``emit`` from any other thread is handed over there first.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import threading
import types
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, NoReturn, Protocol, TypeVar, overload

from ._latch import Latch
from ._sizes import BARE_TYPES, DEFAULT_MAX_BYTES_IN_FLIGHT, payload_size
from ._upper_layers import qt_bridge

if TYPE_CHECKING:
    from typing import Self

__all__ = ["Signal", "SignalInstance", "SignalOwner"]

T = TypeVar("T")


class SignalLike(Protocol):
    """Anything with ``emit`` and ``connect``: a Qt bound signal, or ours."""

    def emit(self, *args: Any) -> Any:
        """Emit the signal."""

    def connect(self, slot: Any, /) -> Any:
        """Connect a slot."""


CallbackT = TypeVar("CallbackT", bound="Callable[..., Any] | SignalLike")

#: An async iterator of a signal holding this many unread values (or unread
#: bytes past its signal's byte budget) stops the worker's delivery, and so,
#: through its bounded channel, the generator. Delivery resumes when the
#: reader has taken it down to half of both.
ITERATOR_HIGH_WATER = 256


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


class Signal(Generic[T]):
    """Declare a signal on a class; each instance gets its own :class:`SignalInstance`.

    Parameters
    ----------
    nargs : int
        How many arguments ``emit`` takes: 0 (``await`` gives ``None``) or 1
        (``await`` gives the argument).
    once : bool
        Whether the signal fires at most once per owner (``started``,
        ``returned``, ``finished`` ...). A fired one-shot signal is latched:
        awaiting it afterwards returns at once.
    doc : str
        Shown as the attribute's docstring.
    """

    def __init__(self, *, nargs: int = 0, once: bool = False, doc: str = "") -> None:
        if nargs not in (0, 1):
            raise ValueError(f"nargs must be 0 or 1, not {nargs!r}")
        self.nargs = nargs
        self.once = once
        self.name = ""
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Signal[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> SignalInstance[T]: ...
    def __get__(self, instance: object, owner: type | None = None) -> Signal[T] | SignalInstance[T]:
        if instance is None:
            return self
        made: SignalInstance[T] = SignalInstance(self, instance)  # type: ignore[arg-type]
        # Cache on the instance: this non-data descriptor is not consulted again.
        # setdefault: of two threads reading it first at once, both get the
        # same instance (a connect to the other one would be lost).
        bound: SignalInstance[T] = instance.__dict__.setdefault(self.name, made)
        if bound is made:
            instance._signal_created(bound)  # type: ignore[attr-defined]
        return bound


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


_END: Any = object()
_CLOSED = RuntimeError("closed")  # the reason of a fired one-shot signal: never raised
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


class _Slot:
    """A connected callback, weak for bound methods, with its arity."""

    __slots__ = ("_deleted", "_guard_source", "_nargs", "_receiver", "_ref", "_repr", "_strong")

    def __init__(self, callback: Callable[..., Any] | SignalLike, signal_nargs: int) -> None:
        target = _chain_target(callback)
        if target is None:
            raise TypeError(
                f"connect() needs a callable (or a signal to chain into), "
                f"not {type(callback).__name__}: {callback!r}"
            )
        self._repr = _describe(callback)
        self._strong: Callable[..., Any] | None = None
        self._ref: Callable[[], Callable[..., Any] | None] | None = None
        # A signal's ``emit`` is bound to a short-lived wrapper: hold it.
        weak = None if _is_signal_like(callback) else _weak_reference(target)
        if weak is None:
            self._strong = target
        else:
            self._ref = weak
        self._nargs = _max_positional(target, signal_nargs)
        # A Qt object's Python wrapper can outlive its C++ side (deleteLater):
        # then calling its method raises. Such receivers are checked per call.
        self._receiver: weakref.ref[object] | None = None
        self._deleted: Callable[[object], bool] | None = None
        receiver = getattr(target, "__self__", None)
        if weak is not None and receiver is not None and _is_qt_object(receiver):
            self._receiver = weakref.ref(receiver)
            self._deleted = qt_bridge().is_deleted
        # A Qt bound signal chained into, or one of its methods
        # (``button.clicked.disconnect``): once its object is deleted, using
        # it crashes PyQt and makes PySide raise. Skipped and dropped instead.
        self._guard_source = False
        qt_signal = callback if _is_signal_like(callback) else receiver
        if self._deleted is None and qt_signal is not None and _is_qt_object(qt_signal):
            self._watch_signal_owner(qt_signal)

    def _watch_signal_owner(self, qt_signal: object) -> None:
        qt = qt_bridge()
        if not qt.is_bound_signal(qt_signal):
            return
        owner = qt.bound_signal_owner(qt_signal)
        if owner is not None:
            self._receiver = weakref.ref(owner)
            self._deleted = qt.is_deleted
        else:  # PySide: the signal checks its source itself, and raises
            self._guard_source = True

    def _call_guarded(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
        """Call a PySide signal's method; False if its object was deleted."""
        try:
            fn(*args)
        except RuntimeError as exc:
            if not qt_bridge().is_deleted_source_error(exc):
                raise
            self._strong = None
            self._ref = _gone
            return False
        return True

    def _receiver_deleted(self) -> bool:
        assert self._deleted is not None
        assert self._receiver is not None
        receiver = self._receiver()
        return receiver is None or self._deleted(receiver)

    def __repr__(self) -> str:
        return self._repr

    def target(self) -> Callable[..., Any] | None:
        if self._strong is not None:
            return self._strong
        assert self._ref is not None
        return self._ref()

    def alive(self) -> bool:
        if self._deleted is not None and self._receiver_deleted():
            return False
        return self.target() is not None

    def matches(self, callback: Callable[..., Any] | SignalLike) -> bool:
        mine = self.target()
        theirs = _chain_target(callback)
        if mine is None:
            return False
        return mine is theirs or mine == theirs or _same_qt_signal_method(mine, theirs)

    def call_one(self, value: Any) -> bool:
        """Call the target with one value (or none, if it takes none)."""
        fn = self._strong
        if fn is None:
            assert self._ref is not None
            fn = self._ref()
            if fn is None or (self._deleted is not None and self._receiver_deleted()):
                return False
        elif self._deleted is not None and self._receiver_deleted():
            return False  # a strongly held bound signal of a deleted object
        if self._guard_source:
            return self._call_guarded(fn, (value,) if self._nargs else ())
        if self._nargs:
            fn(value)
        else:
            fn()
        return True

    def call(self, args: tuple[Any, ...]) -> bool:
        """Call the target; return False if its receiver is gone."""
        fn = self.target()
        if fn is None or (self._deleted is not None and self._receiver_deleted()):
            return False
        if self._nargs < len(args):
            args = args[: self._nargs]
        if self._guard_source:
            return self._call_guarded(fn, args)
        fn(*args)
        return True


def _same_qt_signal_method(a: object, b: object) -> bool:
    """Whether *a* and *b* are one method of one Qt bound signal.

    ``button.clicked.disconnect`` is a new method object at each access, and
    PyQt's compare unequal even for the same signal; the signals compare equal.
    """
    if not isinstance(a, types.BuiltinMethodType) or not isinstance(b, types.BuiltinMethodType):
        return False
    if a.__name__ != b.__name__ or not _is_qt_object(a.__self__):
        return False
    return type(a.__self__) is type(b.__self__) and bool(a.__self__ == b.__self__)


def _gone() -> None:
    """The reference of a slot whose receiver was found deleted."""
    return None


def _is_signal_like(obj: object) -> bool:
    """Whether *obj* is a signal to chain into (a Qt bound signal, or ours)."""
    if isinstance(obj, _PLAIN_CALLABLES):
        return False
    if isinstance(obj, SignalInstance):
        return True
    # PyQt's bound signals claim to be callable but raise when called.
    return callable(getattr(obj, "emit", None)) and callable(getattr(obj, "connect", None))


_PLAIN_CALLABLES = (
    types.FunctionType,
    types.MethodType,
    types.BuiltinFunctionType,
    types.BuiltinMethodType,
    functools.partial,
)


def _chain_target(callback: object) -> Callable[..., Any] | None:
    """The callable to invoke: the callback, or a signal's ``emit``."""
    if _is_signal_like(callback):
        return callback.emit  # type: ignore[attr-defined, no-any-return]
    if callable(callback):
        return callback
    return None


def _weak_reference(fn: Callable[..., Any]) -> Callable[[], Callable[..., Any] | None] | None:
    """A weak reference to a bound method, or None to hold *fn* strongly."""
    if isinstance(fn, types.MethodType):
        try:
            return weakref.WeakMethod(fn)
        except TypeError:  # receiver not weak-referenceable
            return None
    receiver = getattr(fn, "__self__", None)
    name = getattr(fn, "__name__", None)
    if (
        isinstance(fn, types.BuiltinMethodType)
        and receiver is not None
        and name is not None
        and not isinstance(receiver, types.ModuleType)
    ):
        # A method of an extension type, e.g. a Qt widget's ``setText``.
        try:
            receiver_ref = weakref.ref(receiver)
        except TypeError:
            return None

        def resolve() -> Callable[..., Any] | None:
            obj = receiver_ref()
            return None if obj is None else getattr(obj, name, None)

        return resolve
    return None


def _is_qt_object(obj: object) -> bool:
    """Whether *obj* wraps a Qt C++ object (judged by its classes' modules)."""
    return any(
        cls.__module__.startswith(("PyQt", "PySide", "shiboken")) for cls in type(obj).__mro__
    )


def positional_limit(fn: Callable[..., Any]) -> int | None:
    """How many positional arguments *fn* takes; None if any number.

    Follows ``__wrapped__``, as :func:`inspect.signature` does, so a
    ``functools.wraps`` decorator with ``*args`` counts as what it wraps.
    """
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # no signature (some builtins): pass everything
        return None
    count = 0
    for param in params:
        if param.kind is param.VAR_POSITIONAL:
            return None
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def _max_positional(fn: Callable[..., Any], signal_nargs: int) -> int:
    """How many of the signal's arguments *fn* accepts."""
    limit = positional_limit(fn)
    return signal_nargs if limit is None else min(limit, signal_nargs)


def _describe(callback: object) -> str:
    name = getattr(callback, "__qualname__", None) or getattr(callback, "__name__", None)
    return name if isinstance(name, str) else repr(callback)
