"""Per-worker policies: ``timeout=``, ``exclusive=`` and ``debounce=`` (issue 15).

A worker made with any of them carries one :class:`WorkerPolicy`. The
lifecycle (``_worker.py``) calls its hooks at four points: when the worker
starts (``on_start``: supersede the group's previous worker, defer a
debounced launch, arm the timeout), when it is quit (``on_quit``: drop a
debounced start that has not launched), as it finishes (``outcome``: a
timed-out worker ends ``errored``) and once it has (``on_finish``). Timers
run on the home thread (:meth:`Dispatcher.call_later`); the hooks called
from other threads only post there.

Thread and process workers take the same path: a timeout or a newer start
calls ``quit()``, which stops a generator at its next ``yield``, ends a
worker process after ``terminate_after``, and flags a function in a thread
(``abort_requested``; its late result is discarded).
"""

from __future__ import annotations

import contextvars
import math
import numbers
import threading
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Literal

from ._exceptions import WorkerTimeout
from ._exclusive import ExclusiveGroups, group_key, groups_of

if TYPE_CHECKING:
    from ._dispatch import TimerHandle
    from ._worker import WorkerBase

__all__ = ["WorkerPolicy", "check_policy_options", "make_policy"]

_Launch = Literal["now", "armed", "launched", "dropped"]


def check_policy_options(
    timeout: float | None, exclusive: bool | str, debounce: float | None
) -> None:
    """Check ``timeout=``, ``exclusive=`` and ``debounce=`` values.

    Raises
    ------
    TypeError
        For a value of the wrong type.
    ValueError
        For a negative or non-finite time, an empty group name, or
        *debounce* without *exclusive*.
    """
    _check_seconds("timeout", timeout, positive=True)
    _check_seconds("debounce", debounce, positive=False)
    if not isinstance(exclusive, bool | str):
        raise TypeError(
            f"exclusive must be True (one group per function) or a group name, not {exclusive!r}"
        )
    if debounce is not None and exclusive is False:
        raise ValueError(
            "debounce needs exclusive: a start is only replaced by a newer start "
            "of its group (pass exclusive=True or exclusive='group-name')"
        )


#: The longest timer Qt can set (2**31 - 1 ms, about 24.8 days): timeouts and
#: debounces run on Qt timers in a Qt home, so no policy may ask for more.
LONGEST_SECONDS = (2**31 - 1) // 1000


def _check_seconds(name: str, value: object, *, positive: bool) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of seconds or None, not {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0 or (positive and seconds == 0):
        kind = "positive" if positive else "zero or more"
        raise ValueError(f"{name} must be a finite, {kind} number of seconds, not {value!r}")
    if seconds > LONGEST_SECONDS:
        raise ValueError(
            f"{name} must be at most {LONGEST_SECONDS} seconds (about 24.8 days, the longest "
            f"timer Qt can set), not {value!r}: pass None for no limit"
        )


def make_policy(
    func: Callable[..., Any],
    *,
    timeout: float | None,
    exclusive: bool | str,
    debounce: float | None,
) -> WorkerPolicy | None:
    """The policy for a worker of *func* (None when no option is set).

    Raises
    ------
    TypeError, ValueError
        As :func:`check_policy_options`.
    """
    check_policy_options(timeout, exclusive, debounce)
    group = group_key(exclusive, func)
    if timeout is None and group is None:
        return None
    return WorkerPolicy(timeout=timeout, group=group, debounce=debounce, func=func)


class WorkerPolicy:
    """One worker's timeout, exclusive group and debounce, and their timers."""

    def __init__(
        self,
        *,
        timeout: float | None,
        group: Hashable | None,
        debounce: float | None,
        func: Callable[..., Any],
    ) -> None:
        # Plain floats: any real number was accepted (NumPy's too), and Qt's
        # timers take only Python numbers.
        self.timeout = None if timeout is None else float(timeout)
        self.group = group
        self.debounce = None if debounce is None else float(debounce)
        self._func = func  # keeps an id()-keyed group's function alive
        self._lock = threading.Lock()
        self._launch: _Launch = "now"
        self._groups: ExclusiveGroups | None = None
        self._debounce_timer: TimerHandle | None = None
        self._timeout_timer: TimerHandle | None = None
        self.timed_out = False

    # -- hooks ---------------------------------------------------------------------
    def on_start(self, worker: WorkerBase[Any], context: contextvars.Context) -> bool:
        """The worker was started (any thread); True if its launch is deferred."""
        scope = worker._scope
        assert scope is not None
        if self.group is not None:
            self._groups = groups_of(scope)
            previous = self._groups.enter(self.group, worker)
            if previous is not None and previous is not worker:
                previous.quit()  # latest wins: it ends ``aborted``
        if self.debounce is None:
            self._arm_timeout(worker)
            return False
        with self._lock:
            self._launch = "armed"
        worker._never_ran = True  # no ``started`` unless it launches
        scope.dispatcher.post(self._arm_debounce, worker, context)
        return True

    def on_quit(self, worker: WorkerBase[Any]) -> None:
        """The worker was quit before it launched (any thread)."""
        with self._lock:
            if self._launch != "armed":
                return
            self._launch = "dropped"
        worker._thread_done.set()  # no thread will run it: shutdown must not wait
        assert worker._dispatcher is not None
        worker._dispatcher.post(self._drop, worker)

    def outcome(self, worker: WorkerBase[Any], outcome: str, payload: Any) -> tuple[str, Any]:
        """The outcome to deliver: a timed-out worker ends ``errored`` (home thread)."""
        if not self.timed_out:
            return outcome, payload
        error = WorkerTimeout(
            f"{worker._signal_owner_name()} timed out: it ran longer than "
            f"its timeout of {self.timeout:g} s and was quit"
        )
        if outcome == "errored" and isinstance(payload, BaseException):
            error.__cause__ = payload
        return "errored", error

    def on_finish(self, worker: WorkerBase[Any]) -> None:
        """The worker finished (home thread): stop its timers, leave its group."""
        for timer in (self._debounce_timer, self._timeout_timer):
            if timer is not None:
                timer.cancel()
        self._debounce_timer = self._timeout_timer = None
        if self._groups is not None and self.group is not None:
            self._groups.leave(self.group, worker)

    # -- debounce (home thread) -------------------------------------------------------
    def _arm_debounce(self, worker: WorkerBase[Any], context: contextvars.Context) -> None:
        with self._lock:
            if self._launch != "armed":
                return
        assert worker._dispatcher is not None
        assert self.debounce is not None
        self._debounce_timer = worker._dispatcher.call_later(
            self.debounce, lambda: self._debounced(worker, context)
        )

    def _debounced(self, worker: WorkerBase[Any], context: contextvars.Context) -> None:
        """Its debounce window passed with no newer start: launch it."""
        self._debounce_timer = None
        with self._lock:
            if self._launch != "armed":
                return
            quit_meanwhile = worker._abort_requested
            self._launch = "dropped" if quit_meanwhile else "launched"
        if quit_meanwhile:  # quit() saw it armed a moment before: end it here
            worker._thread_done.set()
            worker._finish("aborted", None)
            return
        worker._never_ran = False
        self._arm_timeout(worker)
        worker._launch_started(context)

    def _drop(self, worker: WorkerBase[Any]) -> None:
        """A newer start (or quit) replaced it before it launched: end it ``aborted``."""
        if self._debounce_timer is not None:
            self._debounce_timer.cancel()
            self._debounce_timer = None
        worker._finish("aborted", None)

    # -- timeout ------------------------------------------------------------------------
    def _arm_timeout(self, worker: WorkerBase[Any]) -> None:
        """Count the timeout from now (any thread); its timer is set at home."""
        if self.timeout is None:
            return
        deadline = time.monotonic() + self.timeout
        assert worker._dispatcher is not None
        worker._dispatcher.post(self._set_timeout_timer, worker, deadline)

    def _set_timeout_timer(self, worker: WorkerBase[Any], deadline: float) -> None:
        if not worker.is_running or worker._thread_done.is_set():
            return  # finished (or done) before the timer could be set
        assert worker._dispatcher is not None
        self._timeout_timer = worker._dispatcher.call_later(
            max(0.0, deadline - time.monotonic()), lambda: self._expired(worker)
        )

    def _expired(self, worker: WorkerBase[Any]) -> None:
        self._timeout_timer = None
        if not worker.is_running or worker._thread_done.is_set() or worker._abort_requested:
            return  # the work ended in time (its outcome is on its way home), or was quit
        self.timed_out = True
        worker.quit()
