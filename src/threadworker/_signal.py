"""Signals: callback hooks that are also awaitable events.

A :class:`Signal` is declared once on a class, psygnal-style; reading it from
an instance gives that instance's :class:`SignalInstance`, which is what users
``connect`` to, ``emit``, ``await`` and ``async for`` over.

Callbacks run on the owner's home thread (the event loop's, the GUI thread
under Qt): an ``emit`` from any other thread is handed over there first.
"""

from __future__ import annotations

from typing import Generic, TypeVar, overload

from ._signal_instance import SignalInstance as SignalInstance
from ._signal_instance import SignalOwner as SignalOwner
from ._signal_iterator import ITERATOR_HIGH_WATER as ITERATOR_HIGH_WATER
from ._signal_iterator import _SignalIterator as _SignalIterator
from ._slot import SignalLike as SignalLike
from ._slot import positional_limit as positional_limit

__all__ = ["Signal", "SignalInstance", "SignalOwner"]

T = TypeVar("T")


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
