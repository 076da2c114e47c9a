"""Progress: a worker's ``pbar`` model, ``progress()``, and a terminal view.

The model is napari's: ``n`` of ``total`` (0 means indeterminate), ``desc``.
A generator worker with ``progress=...`` advances it at every ``yield``; any
worker's code (or library code it calls) can report through
:func:`progress`, which finds the worker through contextvars. Views listen
to ``changed``, which is coalesced: however fast the work reports, at most
one notification waits on the home thread, and views refresh at most
:data:`REFRESH_PER_SECOND` times a second.
"""

from __future__ import annotations

import asyncio
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from ._current import current_worker_var
from ._progress_counts import ProgressCounts
from ._signal import Signal, SignalInstance

if TYPE_CHECKING:
    from ._worker import WorkerBase

__all__ = [
    "REFRESH_PER_SECOND",
    "ProgressBar",
    "ProgressCounts",
    "TerminalProgress",
    "make_pbar",
    "progress",
]

T = TypeVar("T")

#: Views redraw at most this often, so a fast generator never floods the GUI.
REFRESH_PER_SECOND = 30

#: What ``thread_worker(progress=...)`` accepts.
ProgressSpec = bool | Mapping[str, Any] | None


class ProgressBar(ProgressCounts):
    """A worker's progress: ``n`` steps done of ``total``, and a ``desc``.

    ``total == 0`` means indeterminate (a busy indicator). Updates may come
    from the worker's thread; ``changed`` and ``closed`` are emitted on the
    worker's home thread.
    """

    changed: Signal[None] = Signal(doc="Emitted (coalesced) after the progress changed.")
    closed: Signal[None] = Signal(once=True, doc="Emitted once, when the worker finished.")

    def __init__(self, worker: WorkerBase[Any], *, total: int = 0, desc: str = "") -> None:
        super().__init__(total=total, desc=desc)
        self._worker = worker
        self.is_closed = False
        self._notify_pending = False
        self._explicit = False  # progress() drives it: yields no longer count

    def __repr__(self) -> str:
        total = self.total or "?"
        return f"<ProgressBar {self.desc!r} {self.n}/{total}{' closed' if self.is_closed else ''}>"

    def _changed(self, *, reset: bool) -> None:
        self._notify()

    def close(self) -> None:
        """Mark the bar finished; views remove themselves."""
        if self.is_closed:
            return
        self.is_closed = True
        self._post(self._emit_closed)

    def _notify(self) -> None:
        if not self._notify_pending:
            self._notify_pending = True
            self._post(self._emit_changed)

    def _post(self, fn: Callable[[], None]) -> None:
        dispatcher = self._worker._dispatcher
        if dispatcher is None:  # work() in the calling thread
            fn()
        else:
            dispatcher.post(fn)

    def _emit_changed(self) -> None:
        self._notify_pending = False
        self.changed.emit()

    def _emit_closed(self) -> None:
        self.changed.emit()
        self.closed.emit()

    # -- SignalOwner: the worker's home is the bar's home -----------------------------
    def _post_to_home(self, fn: Callable[..., object], *args: object) -> bool:
        return self._worker._post_to_home(fn, *args)

    def _report_exception(self, exc: BaseException, message: str) -> None:
        self._worker._report_exception(exc, message)

    def _signal_owner_name(self) -> str:
        return f"{self._worker._signal_owner_name()}.pbar"

    def _signal_created(self, signal: SignalInstance[Any]) -> None:
        if signal.name == "closed" and self.is_closed and signal._latch is not None:
            signal._latch.set_result(None)


def make_pbar(worker: WorkerBase[Any], spec: ProgressSpec, *, is_generator: bool) -> ProgressBar:
    """The ``pbar`` for ``thread_worker(progress=spec)``, as napari builds it.

    ``True`` is indeterminate; ``{"total": N, "desc": ...}`` counts yields up
    to N. A total for a plain function cannot be counted: it warns and the bar
    stays indeterminate.

    Raises
    ------
    TypeError
        If *spec* is neither a bool nor a mapping, or has unknown keys.
    """
    if spec is True:
        return ProgressBar(worker)
    if not isinstance(spec, Mapping):
        raise TypeError(f'progress must be True or a dict like {{"total": 10}}, not {spec!r}')
    unknown = set(spec) - {"total", "desc"}
    if unknown:
        raise TypeError(f"progress accepts 'total' and 'desc', not {sorted(unknown)}")
    total = int(spec.get("total", 0))
    desc = str(spec.get("desc", ""))
    if total and not is_generator:
        warnings.warn(
            # napari's words ("... will not yield"), which its tests look for.
            f"progress total={total} given, but worker is {type(worker).__name__} and will "
            "not yield (a plain function cannot report steps): the bar stays indeterminate. "
            "Make it a generator (each yield is a step) or report with threadworker.progress().",
            RuntimeWarning,
            stacklevel=4,
        )
        total = 0
    return ProgressBar(worker, total=total, desc=desc)


def progress(
    iterable: Iterable[T], total: int | None = None, desc: str | None = None
) -> Iterator[T]:
    """Iterate over *iterable*, reporting each item to the current worker's ``pbar``.

    Like ``tqdm``, for code running inside a worker — including library code
    that knows nothing about workers: the worker is found through contextvars.
    Outside a worker it just iterates. *total* defaults to ``len(iterable)``
    when it has one (else the bar is indeterminate).
    """
    worker = current_worker_var.get()
    if worker is None:
        yield from iterable
        return
    bar = worker._ensure_pbar()
    bar._explicit = True
    if total is None:
        total = len(iterable) if hasattr(iterable, "__len__") else 0  # type: ignore[arg-type]
    bar.reset(total=total, desc=desc)
    for item in iterable:
        yield item
        bar.update(1)


class TerminalProgress:
    """Show a worker's progress as a text bar: the no-Qt view of ``pbar``.

    Redraws at most :data:`REFRESH_PER_SECOND` times a second (on the home
    loop), and finishes the line when the worker's bar closes.

    Parameters
    ----------
    worker : WorkerBase
        The worker to show; it gets a ``pbar`` if it had none.
    file : file, optional
        Where to draw (default ``sys.stderr``).
    width : int
        Characters of bar.
    """

    def __init__(self, worker: WorkerBase[Any], *, file: TextIO | None = None, width: int = 30):
        self.bar = worker._ensure_pbar()
        self._file = file if file is not None else sys.stderr
        self._width = width
        self._last = 0.0
        self._scheduled: asyncio.TimerHandle | None = None
        self.bar.changed.connect(self._changed)
        self.bar.closed.connect(self._closed)

    def render(self) -> str:
        """The current line of text."""
        bar = self.bar
        if bar.total:
            filled = min(self._width, bar.n * self._width // bar.total)
            body = "#" * filled + "." * (self._width - filled)
            count = f"{bar.n}/{bar.total}"
        else:
            position = bar.n % self._width
            body = "." * position + "<=>" + "." * max(0, self._width - position - 3)
            body = body[: self._width]
            count = f"{bar.n}"
        desc = f"{bar.desc}: " if bar.desc else ""
        return f"{desc}[{body}] {count}"

    def _draw(self) -> None:
        self._scheduled = None
        self._last = time.monotonic()
        end = "\r" if self._file.isatty() else "\n"
        self._file.write(self.render() + end)
        self._file.flush()

    def _changed(self) -> None:
        wait = self._last + 1 / REFRESH_PER_SECOND - time.monotonic()
        if self._scheduled is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a Qt app without a loop: draw now
            self._draw()
            return
        self._scheduled = loop.call_later(max(0.0, wait), self._draw)

    def _closed(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
        self._draw()
        if self._file.isatty():
            self._file.write("\n")
