"""A connected callback: how a signal holds it, calls it, and recognises it again.

Bound methods are held weakly (a deleted receiver is skipped, not crashed),
plain functions and lambdas strongly. A Qt object's Python wrapper can
outlive its C++ side: such receivers, and Qt signals chained into, are
checked per call and dropped once deleted (through the Qt bridge, found by
name: this layer imports no Qt).
"""

from __future__ import annotations

import functools
import inspect
import types
import weakref
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ._upper_layers import qt_bridge

__all__ = ["CallbackT", "SignalLike", "positional_limit"]


class SignalLike(Protocol):
    """Anything with ``emit`` and ``connect``: a Qt bound signal, or ours."""

    def emit(self, *args: Any) -> Any:
        """Emit the signal."""

    def connect(self, slot: Any, /) -> Any:
        """Connect a slot."""


CallbackT = TypeVar("CallbackT", bound="Callable[..., Any] | SignalLike")


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
    # Ours (SignalInstance) has both. PyQt's bound signals claim to be callable
    # but raise when called.
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
