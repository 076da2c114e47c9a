"""A generator worker's home side: the pump that turns channel items into signals.

The home thread drains the worker's channel into :meth:`GeneratorPump._handle`:
values go to ``yielded`` (its callbacks, awaiters and ``async for``
readers), events to ``paused``/``resumed``, the control awaitables, and the
outcome. A full ``async for`` reader may hold the channel back
(:meth:`GeneratorPump._delivery_blocked`), never the outcome.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._channel import Channel
from ._latch import DoneFlag, Latch
from ._signal import SignalInstance
from ._stepper import Event

if TYPE_CHECKING:
    from ._progress import ProgressBar
    from ._warnings import WarningArgs
    from ._worker_scope import WorkerScope

__all__ = ["GeneratorPump"]

Y = TypeVar("Y")

_OUTCOME_SIGNALS = ("returned", "errored", "aborted", "finished")


class GeneratorPump(Generic[Y]):
    """The home-side half of ``GeneratorWorker``, which inherits it."""

    # The worker's state this part reads and writes (set by the worker's __init__).
    _scope: WorkerScope | None
    _pbar: ProgressBar | None
    _channel: Channel | None
    _control: threading.Condition
    _yielded_signal: SignalInstance[Y] | None
    _abort_requested: bool
    _ended_before_quit: bool
    _thread_done: DoneFlag
    _paused: bool
    _pause_latches: list[Latch[None]]
    _resume_latches: list[Latch[None]]
    _unreceived: dict[int, int]
    _unreceived_bytes: int

    if TYPE_CHECKING:  # the worker's own (WorkerDelivery)

        def _fire(self, name: str, *args: Any) -> None: ...
        def _finish(self, outcome: str, payload: Any) -> None: ...
        def _emit_warning(self, args: WarningArgs) -> None: ...

    # -- home side ---------------------------------------------------------------------------
    def _delivery_blocked(self) -> bool:
        """Whether an async iterator is full and may hold delivery back.

        It may not once quit was requested, once the generator has ended
        (its outcome is queued), or while a coroutine awaits the outcome.
        """
        signal = self._yielded_signal
        if signal is None or self._abort_requested or self._thread_done.is_set():
            return False
        return signal._congested and not self._outcome_awaited()

    def _outcome_awaited(self) -> bool:
        for name in _OUTCOME_SIGNALS:
            signal = self.__dict__.get(name)
            if signal is not None and signal._latch is not None and signal._latch.has_waiters():
                return True
        return False

    def _handle(self, item: Any) -> None:
        """Deliver one channel item (home thread)."""
        if type(item) is not Event:
            if (
                self._abort_requested
                and not self._ended_before_quit
                and self._scope is not None
                and self._scope.closed
            ):
                # The home is shutting down: a value yielded before the quit has
                # nobody left to show it (napari closed its viewer first). Qt's
                # own queued signals are never run once the application quit.
                return
            pbar = self._pbar
            if pbar is not None and not pbar._explicit:
                # napari's rule: every yield is a step, counted before the
                # ``yielded`` callbacks run, so they see it in ``pbar.n``.
                pbar.update(1)
            signal = self._yielded_signal
            if signal is not None:
                signal._emit_value(item)
            return
        kind = item.kind
        if kind == "received":
            if self._unreceived:
                with self._control:
                    self._unreceived_bytes -= self._unreceived.pop(id(item.payload), 0)
            item.payload.set_result(None)
        elif kind == "warned":
            self._emit_warning(item.payload)
        elif kind in ("paused", "resumed"):
            self._paused = kind == "paused"
            self._fire(kind)
            with self._control:
                latches = self._pause_latches if kind == "paused" else self._resume_latches
                done = list(latches)
                latches.clear()
            for latch in done:
                latch.set_result(None)
        else:
            self._finish(kind, item.payload)

    def _resume_delivery(self) -> None:
        if self._channel is not None:
            self._channel.resume()

    def _weak_resume_delivery(self) -> Callable[[], None]:
        """:meth:`_resume_delivery`, held weakly.

        A signal must not keep its worker alive (see ``WorkerBase.__del__``).
        """
        resume = weakref.WeakMethod(self._resume_delivery)

        def resume_if_alive() -> None:
            method = resume()
            if method is not None:
                method()

        return resume_if_alive
