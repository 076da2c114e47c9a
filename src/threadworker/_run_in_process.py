"""Work in threadworker's worker processes (``executor="process"``).

The work runs as a :class:`~threadworker._process_job.ProcessJob`: the
process sends back values and events in batches, which arrive here on the
job's courier thread; a generator's requests are forwarded to the driver
running over there (this side's driver keeps the books). A quit asks, then
kills the process after ``terminate_after``; a process that dies ends the
worker with :class:`WorkerProcessDied`.
"""

from __future__ import annotations

import contextvars
import functools
from typing import TYPE_CHECKING, Any

from ._exceptions import WorkerProcessDied
from ._latch import Latch
from ._portable_error import rebuild_error
from ._process_job import ItemsCallback, JobKind, LostCallback, ProcessJob
from ._stepper import OUTCOMES, Event

if TYPE_CHECKING:
    from ._function_worker import FunctionWorker
    from ._generator_worker import GeneratorWorker
    from ._worker import WorkerBase

__all__ = ["FunctionInProcess", "GeneratorInProcess"]

REFUSAL = "threadworker's worker processes refused the work"


class FunctionInProcess:
    """A function worker's run in a worker process."""

    __slots__ = ("_job",)

    def __init__(self) -> None:
        self._job: ProcessJob | None = None

    def launch(self, worker: FunctionWorker[Any], context: contextvars.Context) -> None:
        """Queue the job in the home's process pool."""
        assert worker._scope is not None
        self._job = _new_job(
            worker,
            "function",
            on_items=functools.partial(self._from_process, worker),
            on_lost=functools.partial(self._on_process_lost, worker),
        )
        worker._scope.process_pool.submit(self._job)

    def abort(self, worker: FunctionWorker[Any]) -> None:
        """Ask the job to stop; its process is killed if it has not after the grace."""
        if self._job is not None:
            assert worker._scope is not None
            self._job.quit(worker._scope.terminate_after)

    def began(self, worker: FunctionWorker[Any]) -> bool:
        """Whether it was handed over (its process is killed; never left waiting)."""
        return worker._launched

    def refusal(self, worker: FunctionWorker[Any]) -> str:
        """The pool refused."""
        return REFUSAL

    def _from_process(self, worker: FunctionWorker[Any], items: list[Any]) -> None:
        """Items from the worker process (its courier thread)."""
        for item in items:
            if type(item) is not Event:
                continue  # a function yields nothing
            kind, payload = item.kind, item.payload
            if kind == "progress":
                _relay_progress(worker, payload)
            elif kind == "warned":
                worker._deliver_warning(payload)
            elif kind in OUTCOMES:
                if kind == "errored":
                    payload = rebuild_error(payload)
                elif kind == "returned" and worker._abort_requested:
                    kind = "aborted"
                worker._thread_done.set()
                _post_outcome(worker, kind, payload)

    def _on_process_lost(self, worker: FunctionWorker[Any], exitcode: int | None) -> None:
        worker._thread_done.set()
        _post_outcome(worker, *_process_died(worker, exitcode))


class GeneratorInProcess:
    """A generator worker's run in a worker process, streamed into its channel."""

    __slots__ = ("_job", "_remote_sends")

    def __init__(self) -> None:
        self._job: ProcessJob | None = None
        # Sends on their way, by the token the process returns.
        self._remote_sends: dict[int, Latch[None]] = {}

    def launch(self, worker: GeneratorWorker[Any, Any, Any], context: contextvars.Context) -> None:
        """Queue the job, with the requests made before ``start()``."""
        assert worker._scope is not None
        self._job = _new_job(
            worker,
            "generator",
            on_items=functools.partial(self._from_process, worker),
            on_lost=functools.partial(self._on_process_lost, worker),
        )
        with worker._control:  # requests made before start(): they travel with the job
            self.forward_requests(worker)
        worker._scope.process_pool.submit(self._job)
        with worker._control:
            abort_requested = worker._driver.abort_requested
        if abort_requested:  # quit() from another thread while start() ran
            self._job.quit(worker._scope.terminate_after)

    def forward_requests(self, worker: GeneratorWorker[Any, Any, Any]) -> None:
        """Send the driver's new requests to the process, in order (lock held)."""
        job = self._job
        if job is None:
            worker._control.notify_all()  # not launched: they travel with the job
            return
        # In a process the generator has its own driver: this one keeps the
        # books, and its requests are forwarded, in order.
        transitions, sends = worker._driver.take_requests()
        for transition in transitions:
            job.control(transition)
        for data, latch in sends:
            token = id(latch)
            assert isinstance(latch, Latch)
            self._remote_sends[token] = latch
            job.control("send", (token, data))

    def abort(self, worker: GeneratorWorker[Any, Any, Any]) -> None:
        """Ask the job to stop; its process is killed if it has not after the grace."""
        if self._job is not None:
            assert worker._scope is not None
            self._job.quit(worker._scope.terminate_after)

    def prepare_send(self, worker: GeneratorWorker[Any, Any, Any], value: object) -> bytes:
        """The books keep the pickled value: a bad one fails here, not there."""
        scope = worker._scope
        threshold = scope.transport()[1] if scope is not None else None
        return _pickled_for_send(value, worker._name, threshold)

    def take_pending(self) -> list[Latch[None]]:
        """The latches of sends not yet received over there."""
        pending = list(self._remote_sends.values())
        self._remote_sends.clear()
        return pending

    def began(self, worker: GeneratorWorker[Any, Any, Any]) -> bool:
        """Whether it was handed over (its process is killed; never left waiting)."""
        return worker._launched

    def refusal(self, worker: GeneratorWorker[Any, Any, Any]) -> str:
        """The pool refused."""
        return REFUSAL

    def _from_process(self, worker: GeneratorWorker[Any, Any, Any], items: list[Any]) -> None:
        """Items from the worker process, into the channel (its courier thread)."""
        channel = worker._channel
        assert channel is not None
        put = channel.put
        for item in items:
            if type(item) is Event:
                kind = item.kind
                if kind == "progress":
                    _relay_progress(worker, item.payload)
                    continue
                if kind == "received":
                    item = Event("received", self._remote_sends.pop(item.payload))
                elif kind == "errored":
                    item = Event("errored", rebuild_error(item.payload))
                if kind in OUTCOMES:
                    put(item)
                    worker._producer_done()
                    continue
            put(item)

    def _on_process_lost(
        self, worker: GeneratorWorker[Any, Any, Any], exitcode: int | None
    ) -> None:
        assert worker._channel is not None
        worker._channel.put(Event(*_process_died(worker, exitcode)))
        worker._producer_done()


def _new_job(
    worker: WorkerBase[Any], kind: JobKind, *, on_items: ItemsCallback, on_lost: LostCallback
) -> ProcessJob:
    """The job that runs *worker* in a worker process."""
    return ProcessJob(
        kind, worker._remote_func, worker._args, worker._kwargs, on_items=on_items, on_lost=on_lost
    )


def _post_outcome(worker: FunctionWorker[Any], kind: str, payload: Any) -> None:
    assert worker._dispatcher is not None
    worker._dispatcher.post(worker._finish, kind, payload)


def _relay_progress(worker: WorkerBase[Any], state: tuple[int, int, str]) -> None:
    """Mirror progress a worker process reported (its courier thread)."""
    bar = worker._ensure_pbar()
    bar._explicit = True
    bar.n, bar.total, bar.desc = state
    bar._notify()


def _process_died(worker: WorkerBase[Any], exitcode: int | None) -> tuple[str, Any]:
    """The outcome of a worker whose process ended before the work did."""
    from ._worker_process import describe_exit  # multiprocessing, only once a process died

    if worker._abort_requested:
        return "aborted", None  # quit, then terminated: what quit asked for
    return "errored", WorkerProcessDied(
        f"the process running {worker._signal_owner_name()} died "
        f"{describe_exit(exitcode)} before the work ended"
    )


def _pickled_for_send(value: object, name: str, threshold: int | None) -> bytes:
    """*value* pickled for a worker process, or a TypeError that says why not.

    Its buffers of *threshold* bytes or more go into shared memory (see
    ``_shared_memory``).
    """
    from ._shared_memory import pickled

    try:
        return pickled(value, threshold=threshold)
    except Exception as exc:
        raise TypeError(
            f"cannot send {type(value).__qualname__} to {name}, which runs in a worker "
            f"process: it cannot be pickled ({exc})"
        ) from exc
