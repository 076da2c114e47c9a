"""Which worker the running code belongs to."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._worker import WorkerBase

__all__ = ["current_worker", "current_worker_var"]

#: Set in the context a worker's code runs in (copied into its thread).
current_worker_var: ContextVar[WorkerBase[Any] | None] = ContextVar(
    "threadworker_current_worker", default=None
)


def current_worker() -> WorkerBase[Any] | None:
    """Return the worker whose code is running, or None outside any worker.

    A function worker cannot be interrupted; long functions can poll
    ``current_worker().abort_requested`` and return early after ``quit()``.
    Library code called by a worker can use this to report to it.

    Inside a worker process (``executor="process"``) it returns a stand-in
    with the same ``abort_requested`` and progress reporting, connected to
    the worker in the parent.
    """
    return current_worker_var.get()
