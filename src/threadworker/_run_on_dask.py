"""A generator worker on a dask cluster (``executor=client`` with a generator).

The generator runs in a dask task (``_dask_task``), driven as in a worker
process; what it yields and reports arrives in batches as a worker process
sends them, so this runner is :class:`GeneratorInProcess` with a
:class:`~._dask_job.DaskJob` in place of a process job: the same books for
send/pause/resume confirmations, the same rebuilt remote errors, progress
and warnings. A quit reaches the generator at its next ``yield`` (its
``finally`` runs on the dask worker) and the task ends; a task lost with its
dask worker ends the worker ``errored`` with :class:`WorkerProcessDied`.
"""

from __future__ import annotations

import contextvars
import functools
from typing import TYPE_CHECKING, Any

from ._dask_job import DaskJob
from ._exceptions import WorkerProcessDied
from ._run_in_process import GeneratorInProcess
from ._stepper import Event

if TYPE_CHECKING:
    from ._generator_worker import GeneratorWorker

__all__ = ["GeneratorOnDask"]


class GeneratorOnDask(GeneratorInProcess):
    """A generator worker's run in a dask task, streamed into its channel."""

    __slots__ = ("_client",)

    def __init__(self, client: Any) -> None:
        super().__init__()
        self._client = client

    def launch(self, worker: GeneratorWorker[Any, Any, Any], context: contextvars.Context) -> None:
        """Submit the task, with the requests made before ``start()``."""
        job = DaskJob(
            self._client,
            worker._remote_func,
            worker._args,
            worker._kwargs,
            name=worker._signal_owner_name(),
            on_items=functools.partial(self._from_process, worker),
            on_lost=functools.partial(self._on_task_lost, worker),
            on_refused=functools.partial(self._on_refused, worker),
        )
        self._job = job  # type: ignore[assignment]
        with worker._control:  # requests made before start(): they travel with the task
            self.forward_requests(worker)
        job.start()

    def abort(self, worker: GeneratorWorker[Any, Any, Any]) -> None:
        """Ask the generator to close at its next ``yield``; the task then ends."""
        if self._job is not None:
            self._job.quit()  # type: ignore[call-arg]

    def refusal(self, worker: GeneratorWorker[Any, Any, Any]) -> str:
        """The client refused."""
        return f"its dask client ({type(self._client).__name__}) refused the work"

    def _on_refused(self, worker: GeneratorWorker[Any, Any, Any], error: BaseException) -> None:
        """The task was never submitted: its call did not pickle, or the client refused."""
        assert worker._channel is not None
        worker._channel.put(Event("errored", error))
        worker._producer_done()

    def _on_task_lost(
        self, worker: GeneratorWorker[Any, Any, Any], error: BaseException | None
    ) -> None:
        """The task ended without an outcome (the courier thread)."""
        assert worker._channel is not None
        if error is None or worker._abort_requested:
            outcome = Event("aborted")  # cancelled, or quit and then lost: what quit asked for
        else:
            name = worker._signal_owner_name()
            if getattr(self._client, "status", None) in ("closing", "closed"):
                why = f"the dask client running {name} was closed before the work ended"
            else:
                why = f"the dask task running {name} ended before the work did"
            lost = WorkerProcessDied(f"{why}: {type(error).__name__}: {error}")
            lost.__cause__ = error
            outcome = Event("errored", lost)
        worker._channel.put(outcome)
        worker._producer_done()
