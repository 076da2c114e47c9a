"""A worker's home side: emitting its signals, latching and settling them, ending it.

Everything here runs on the worker's home thread (the loop's, the GUI's),
or hands over to it. ``WorkerBase`` inherits it; it holds no state of its
own and names what it uses of the worker below.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, cast

from ._dispatch import Dispatcher, report_exception
from ._exceptions import WorkerAborted, WorkerFinishedError
from ._future import settle_future
from ._latch import Latch
from ._signal import SignalInstance
from ._warnings import WarningArgs

if TYPE_CHECKING:
    import concurrent.futures

    from ._policy import WorkerPolicy
    from ._progress import ProgressBar
    from ._scope import WorkerScope
    from ._worker import WorkerBase

__all__ = ["WorkerDelivery", "WorkerHost"]

_CREATED, _RUNNING, _FINISHED = "created", "running", "finished"
_OUTCOMES = ("returned", "errored", "aborted")
#: Awaiting one of these starts a worker that was not started (see _signal_awaited).
_AWAITING_STARTS = frozenset({"started", "returned", "finished"})


class WorkerHost(Protocol):
    """An application that adopted a worker (napari's viewer, see ``_napari.py``).

    The worker tells it what it would otherwise show itself; each ``bool``
    says whether the host took it.
    """

    def pbar_made(self) -> None:
        """The worker's ``pbar`` was made after the host adopted it (any thread)."""

    def report_exception(self, exc: BaseException, message: str) -> bool:
        """Show an exception nobody handled (home thread)."""

    def show_warning(self, args: WarningArgs) -> bool:
        """Show a warning nobody listens to (home thread)."""


_ABANDONED_NOTE = (
    ", and abandoned: it was still running when its event loop or application "
    "shut down (after shutdown_timeout), so its outcome is never delivered"
)


class WorkerDelivery:
    """The home side of a worker: its signals' emission and their state."""

    # The worker's state this part reads and writes (set by WorkerBase.__init__).
    _state: str
    _state_lock: threading.Lock
    _name: str
    _fired: dict[str, Any]
    _signals: list[SignalInstance[Any]]
    _dispatcher: Dispatcher | None
    _scope: WorkerScope | None
    _pbar: ProgressBar | None
    _quit_latch: Latch[None] | None
    _host: WorkerHost | None
    _never_ran: bool
    _ignore_errors: bool
    _abandoned: bool
    _policy: WorkerPolicy | None
    _result_future: concurrent.futures.Future[Any] | None

    def _release_holds(self) -> None:
        """Stop holding this worker through its signals: it started or finished."""
        for signal in self._signals:
            signal._owner_hold = None

    def _errors_handled(self) -> bool:
        """Whether an exception would reach someone other than the fallback.

        ``errored``'s callbacks and awaiters receive it; of ``returned``, only
        awaiters do (``await worker`` raises it) — a ``returned`` callback never
        sees an error, so it handles nothing.
        """
        errored = self.__dict__.get("errored")
        if errored is not None and errored.has_receivers():
            return True
        future = self._result_future  # issue 15: worker.future's holder receives it
        if future is not None and not future.cancelled():
            return True
        returned = self.__dict__.get("returned")
        return (
            returned is not None and returned._latch is not None and returned._latch.has_waiters()
        )

    # -- delivery (home thread) --------------------------------------------------------------
    def _fire(self, name: str, *args: Any) -> None:
        """Emit signal *name*, latching one-shot ones even if nobody looked yet."""
        signal = getattr(type(self), name)
        if signal.once:
            self._fired[name] = args[0] if args else None
        instance = self.__dict__.get(name)
        if instance is not None:
            instance._emit_here(args)

    def _ensure_started(self) -> None:
        """Emit ``started`` unless it was: every delivery calls this first."""
        if "started" not in self._fired and not self._never_ran:
            self._fire("started")

    def _finish(self, outcome: str, payload: Any) -> None:
        """Emit the outcome, then ``finished``; runs once, on the home thread."""
        if self._state == _FINISHED:
            return
        if self._policy is not None:  # issue 15: a timed-out worker ends errored
            outcome, payload = self._policy.outcome(cast("WorkerBase[Any]", self), outcome, payload)
        future = self._result_future
        if outcome == "returned" and future is not None and future.cancelled():
            # Its holder cancelled worker.future before the result came home: the
            # result is discarded, so the worker and its future agree (aborted).
            outcome, payload = "aborted", None
        if self._dispatcher is not None:  # it ran: ``started`` comes first
            self._ensure_started()
        try:
            if outcome == "errored":
                handled = self._errors_handled()
                self._fire("errored", payload)
                if not handled and not self._ignore_errors:
                    self._report_exception(
                        payload, f"Unhandled exception in worker {self._signal_owner_name()}"
                    )
            elif outcome == "returned":
                self._fire("returned", payload)
            else:
                self._fire("aborted")
        finally:
            with self._state_lock:
                self._state = _FINISHED
            try:
                self._fire("finished")
            finally:
                self._release_holds()
                for signal in self._signals:
                    self._settle(signal)
                if self._policy is not None:  # issue 15: stop timers, leave the group
                    self._policy.on_finish(cast("WorkerBase[Any]", self))
                if self._result_future is not None:  # issue 15: worker.future
                    settle_future(cast("WorkerBase[Any]", self))
                self._finished_cleanup()
                if self._pbar is not None:
                    self._pbar.close()
                with self._state_lock:
                    quit_latch = self._quit_latch
                if quit_latch is not None:
                    quit_latch.set_result(None)
                if self._scope is not None:
                    self._scope.discard(cast("WorkerBase[Any]", self))

    def _finished_cleanup(self) -> None:
        """Fail pending control awaitables; subclasses extend."""

    def _abandon(self) -> None:
        """Its home shuts down without it (home thread): end it ``aborted`` now.

        The work may still be running, but nothing it does will be delivered:
        this is its last delivery, so a later ``await`` raises at once instead
        of waiting for ever.
        """
        self._abandoned = True
        self._finish("aborted", None)

    def _settle(self, signal: SignalInstance[Any]) -> None:
        """Bring a signal up to date with the worker's state."""
        name = signal.name
        if signal._latch is not None and name in self._fired:
            signal._latch.set_result(self._fired[name])
        if self._state != _FINISHED:
            return
        if signal._latch is not None and name in self._fired:
            signal._close(None)  # fired and latched: nothing will wait on it
            return
        outcome = next((o for o in _OUTCOMES if o in self._fired), "aborted")
        reason: BaseException
        if name == "returned" and outcome == "errored":
            reason = self._fired["errored"]
        elif name == "returned" and outcome == "aborted":
            reason = WorkerAborted(
                f"{self._signal_owner_name()} was quit before it returned"
                + (_ABANDONED_NOTE if self._abandoned else "")
            )
        else:
            reason = WorkerFinishedError(
                f"{self._signal_owner_name()} has finished ({outcome}): "
                f"{name!r} will not be emitted {'again' if name in self._fired else ''}".rstrip()
            )
        signal._close(reason)

    def _deliver_warning(self, args: WarningArgs) -> None:
        """Hand a warning raised in the work to the home thread."""
        if not self._post_to_home(self._emit_warning, args):
            self._emit_warning(args)

    def _emit_warning(self, args: WarningArgs) -> None:
        self._ensure_started()
        instance = self.__dict__.get("warned")
        if instance is not None and instance.has_receivers():
            instance._emit_here((args,))
        elif self._host is None or not self._host.show_warning(args):
            warnings.showwarning(*args)  # nobody listens: show it as if raised here

    # -- SignalOwner ------------------------------------------------------------------------
    def _post_to_home(self, fn: Callable[..., object], *args: object) -> bool:
        dispatcher = self._dispatcher
        if dispatcher is None or dispatcher.in_home_thread():
            return False
        dispatcher.post(fn, *args)
        return True

    def _report_exception(self, exc: BaseException, message: str) -> None:
        if self._host is not None and self._host.report_exception(exc, message):
            return
        if self._dispatcher is not None and self._dispatcher.is_alive():
            self._dispatcher.report_exception(exc, message, {"worker": self})
        else:
            report_exception(exc, message, {"worker": self})

    def _signal_owner_name(self) -> str:
        return f"{type(self).__name__}[{self._name}]"

    def _signal_created(self, signal: SignalInstance[Any]) -> None:
        self._signals.append(signal)
        if self._state == _CREATED and signal.name in _AWAITING_STARTS:
            # Alive as long as this signal is: in ``await create_worker(f).returned``
            # nothing else holds the worker until the await has started it.
            signal._owner_hold = self
        self._settle(signal)
        if (
            signal.name == "started"
            and self._state == _RUNNING
            and "started" not in self._fired
            and self._dispatcher is not None
        ):
            self._dispatcher.post(self._ensure_started)  # connected after start()
