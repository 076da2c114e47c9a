"""Reading a batch from a worker process that does not unpickle as a whole.

A worker process sends its values in batches, each one pickle of
``(job_id, [item, ...])``: fast, but one value that pickles there and cannot
be rebuilt here (its class is missing in this process, its ``__setstate__``
or the function its ``__reduce__`` names fails here) makes the whole
``pickle.loads`` fail. Only then is the batch read again, by
:func:`salvage_batch`, with pickle's pure-Python unpickler taught to put a
stand-in wherever an object cannot be rebuilt: the items before the first
broken one are kept, and the broken one is named, so the worker ends in
``errored`` with an error that says which value and why — it never waits
for an outcome that was lost in the broken batch.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from typing import Any, ClassVar

from ._portable_error import describe_exception
from ._stepper import OUTCOMES, Event, receipts

__all__ = ["salvage_batch"]


class _Broken:
    """Stands where an object could not be rebuilt; absorbs what is done to it."""

    __slots__ = ("error", "what")

    def __init__(self, what: str, error: BaseException) -> None:
        self.what = what
        self.error = error

    # Later opcodes may act on the object that could not be built: let them.
    def __call__(self, *args: Any, **kwargs: Any) -> _Broken:
        return self

    def __setstate__(self, state: Any) -> None:
        pass

    def append(self, item: Any) -> None:
        pass

    def extend(self, items: Any) -> None:
        pass

    def add(self, item: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def _name(obj: Any) -> str:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}.{qualname}" if module else str(qualname)


def _first_broken(obj: Any, seen: set[int] | None = None) -> _Broken | None:
    """The first stand-in inside *obj*, looking through plain containers and events."""
    if isinstance(obj, _Broken):
        return obj
    if type(obj) is Event:
        return _first_broken(obj.payload, seen)
    if isinstance(obj, (list, tuple, set, frozenset, dict)):
        seen = set() if seen is None else seen
        if id(obj) in seen:
            return None
        seen.add(id(obj))
        parts = (*obj.keys(), *obj.values()) if isinstance(obj, dict) else obj
        for part in parts:
            found = _first_broken(part, seen)
            if found is not None:
                return found
    return None


class _TolerantUnpickler(pickle._Unpickler):
    """Puts a :class:`_Broken` wherever building an object fails.

    An object built from a broken part is broken too, except an
    :class:`Event`, which keeps its kind (so an outcome is still known).
    """

    # What the pure-Python unpickler keeps (not in its type stubs).
    stack: list[Any]
    append: Callable[[Any], None]
    dispatch: ClassVar[dict[int, Callable[[Any], None]]] = dict(pickle._Unpickler.dispatch)

    def find_class(self, module: str, name: str) -> Any:
        try:
            return super().find_class(module, name)
        except BaseException as exc:
            return _Broken(f"{module}.{name}", exc)

    def _build(self, func: Any, args: Any, kwargs: Any, new: bool) -> Any:
        broken = _first_broken(func)
        if func is not Event:
            broken = broken or _first_broken(args) or _first_broken(kwargs)
        if broken is not None:
            return broken
        try:
            return func.__new__(func, *args, **kwargs) if new else func(*args, **kwargs)
        except BaseException as exc:  # even sys.exit named by a __reduce__
            return _Broken(f"{_name(func)}()", exc)

    def _load_reduce(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = self._build(self.stack[-1], args, {}, new=False)

    def _load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(self._build(cls, args, {}, new=True))

    def _load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self.append(self._build(cls, args, kwargs, new=True))

    def _load_build(self) -> None:
        state = self.stack[-1]
        inst = self.stack[-2]
        broken = _first_broken(state)
        if broken is not None or isinstance(inst, _Broken):
            self.stack.pop()
            if broken is not None:
                self.stack[-1] = broken
            return
        try:
            pickle._Unpickler.load_build(self)  # type: ignore[attr-defined]
        except BaseException as exc:  # the state was popped; the instance is on top
            self.stack[-1] = _Broken(f"{_name(type(inst))}.__setstate__", exc)

    dispatch[pickle.REDUCE[0]] = _load_reduce
    dispatch[pickle.NEWOBJ[0]] = _load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = _load_newobj_ex
    dispatch[pickle.BUILD[0]] = _load_build


def salvage_batch(data: bytes | bytearray) -> tuple[int, list[Any], TypeError | None]:
    """Read a batch item by item: ``(job_id, items, error)``.

    *items* are those before the first item that cannot be rebuilt here,
    then the acknowledgements of sends after it (the generator did receive
    them), then the batch's outcome (its payload dropped) if it had one;
    *error* names that item. Raises if the batch cannot be read even so.
    """
    job_id, batch = _TolerantUnpickler(io.BytesIO(data)).load()
    good: list[Any] = []
    for index, item in enumerate(batch):
        broken = _first_broken(item)
        if broken is None:
            good.append(item)
            continue
        if type(item) is Event and item.kind == "returned":
            what = "its return value"
        elif type(item) is Event:
            what = f"a {item.kind} event"
        else:
            what = "a yielded value"
        error = TypeError(
            f"the worker process sent {what} that cannot be unpickled here "
            f"({broken.what} failed: {describe_exception(broken.error)}). A value may pickle in "
            "the worker process and still not load here: its class must be importable "
            "here too, and rebuilding it must work in this process."
        )
        error.__cause__ = broken.error
        good.extend(receipts(batch[index + 1 :]))
        last = batch[-1]
        if type(last) is Event and last.kind in OUTCOMES:
            good.append(Event(last.kind))  # the job ended: the error takes its place
        return job_id, good, error
    return job_id, good, None
