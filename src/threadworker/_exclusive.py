"""Latest wins: one running worker per exclusive group on each home.

``exclusive=True`` makes the decorated function its own group;
``exclusive="name"`` joins every worker using that name. Groups belong to
a home (its :class:`~threadworker._scope.WorkerScope`): the same group on two
loops never interferes.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._scope import WorkerScope
    from ._worker import WorkerBase

__all__ = ["ExclusiveGroups", "group_key", "groups_of"]

# Scopes to their groups. Weak keys, as _scope's own table of homes: the
# groups end with their home, and nothing is shared between homes.
_groups: weakref.WeakKeyDictionary[WorkerScope, ExclusiveGroups] = weakref.WeakKeyDictionary()
_groups_lock = threading.Lock()


class ExclusiveGroups:
    """The latest started worker of each group on one home (any thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[Hashable, WorkerBase[Any]] = {}

    def enter(self, key: Hashable, worker: WorkerBase[Any]) -> WorkerBase[Any] | None:
        """Make *worker* the group's latest; return the one it supersedes."""
        with self._lock:
            previous = self._latest.get(key)
            self._latest[key] = worker
        return previous

    def leave(self, key: Hashable, worker: WorkerBase[Any]) -> None:
        """Forget *worker* (it finished) unless a newer one took its place."""
        with self._lock:
            if self._latest.get(key) is worker:
                del self._latest[key]

    def latest(self, key: Hashable) -> WorkerBase[Any] | None:
        """The group's latest started worker still running, if any."""
        with self._lock:
            return self._latest.get(key)


def groups_of(scope: WorkerScope) -> ExclusiveGroups:
    """The exclusive groups of *scope*'s home, made on first use."""
    with _groups_lock:
        groups = _groups.get(scope)
        if groups is None:
            groups = _groups[scope] = ExclusiveGroups()
        return groups


def group_key(exclusive: bool | str, func: Callable[..., Any]) -> Hashable | None:
    """The group an ``exclusive=`` value names (None: not exclusive).

    Raises
    ------
    TypeError
        If *exclusive* is neither a bool nor a string.
    ValueError
        If it is an empty string.
    """
    if exclusive is None or exclusive is False:
        return None
    if exclusive is True:
        try:
            hash(func)
        except TypeError:  # an unhashable callable object: its identity
            return ("function", id(func))
        # Equal bound methods (obj.method read twice) are one group.
        return ("function", func)
    if not isinstance(exclusive, str):
        raise TypeError(
            f"exclusive must be True (one group per function) or a group name, not {exclusive!r}"
        )
    if not exclusive:
        raise ValueError("exclusive group name must not be empty")
    return ("name", exclusive)
