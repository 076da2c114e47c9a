"""Exceptions raised by threadworker."""

from __future__ import annotations

__all__ = ["WorkerAborted", "WorkerFinishedError", "WorkerProcessDied", "WorkerTimeout"]


class WorkerAborted(Exception):
    """The worker was quit before it produced a return value.

    Raised by ``await worker``, ``await worker.returned`` and by control
    awaitables of a worker that was asked to :meth:`~WorkerBase.quit`.
    ``async for value in worker`` ends quietly instead of raising it.
    """


class WorkerFinishedError(RuntimeError):
    """The worker has finished, so what was awaited can never happen.

    Raised when awaiting a signal that can no longer be emitted (for example
    ``errored`` of a worker that returned), or by the awaitable of a
    :meth:`~GeneratorWorker.send`, :meth:`~GeneratorWorker.pause` or
    :meth:`~GeneratorWorker.resume` that the worker ended before honouring.
    """


class WorkerProcessDied(RuntimeError):
    """The process running a worker ended before the work did.

    Emitted through ``errored`` when a worker process crashes or is killed
    from outside (a segfault, ``os._exit``, the out-of-memory killer). A
    worker that was quit and then terminated ends ``aborted`` instead.
    """


class WorkerTimeout(TimeoutError):
    """A worker ran longer than its ``timeout=`` and was quit.

    Emitted through ``errored`` (and raised by ``await worker``) once the
    quit took effect; the message names the worker and the limit. If the
    work raised an error of its own while being quit, that error is the
    ``__cause__``.
    """
