"""What runs inside a dask task for a generator worker on a cluster.

The task drives the generator exactly as a worker process does
(``_process_child``'s driver loop, :class:`RemoteWorker` for ``pbar``,
warnings and requests); only the two channels differ, and both are dask's
own ``distributed.Queue`` s on the scheduler:

- *items* (task -> home): pickled batches, ``(0, [item, ...])``, as a worker
  process sends them. The queue is bounded (``maxsize`` batches) and each
  batch is bounded in items and bytes, so the scheduler never holds more
  than a few batches of a generator the home is not keeping up with: the
  outbox's sender blocks in ``put``, then the generator blocks in ``yield``.
- *control* (home -> task): ``[op, payload]`` requests (send, pause, resume,
  quit), read by a thread of the task; ``["exit", None]`` ends that thread.

dask reruns a task whose worker died. A generator must not start over (its
values were partly delivered, its side effects done): a ``distributed.Event``
marks that it began, and a rerun reports the loss instead of running it.
"""

from __future__ import annotations

import pickle
import threading
from typing import Any

from ._current import current_worker_var
from ._exceptions import WorkerProcessDied
from ._process_child import Outbox, _run_generator
from ._remote_worker import RemoteWorker
from ._stepper import Event
from ._warnings import install_warning_router

__all__ = [
    "DONE",
    "ITEMS_MAXSIZE",
    "WATCH_INTERVAL",
    "QueueNames",
    "distributed",
    "run_generator_task",
    "unpickle_batch",
]

#: Batches the scheduler holds for one generator, at most (each <= ~4 MiB).
ITEMS_MAXSIZE = 4
#: Seconds between a running task's checks that it is still wanted.
WATCH_INTERVAL = 0.5
#: What the home puts on the items queue when the task's future ended.
DONE = "done"

#: The names of a run's items queue, control queue and "began" event.
QueueNames = tuple[str, str, str]


class _QueueConnection:
    """What :class:`Outbox` sends through: here, the items queue."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.job: RemoteWorker | None = None
        #: Set when nobody waits for the task any more (see :func:`_watch`).
        self.abandoned = threading.Event()

    def send_bytes(self, data: bytes) -> None:
        if self.abandoned.is_set():  # nobody reads: dropped
            return
        try:
            self.queue.put(data)
        except Exception as exc:  # the scheduler is gone: stop the generator
            if self.job is not None:
                self.job.fail(exc)


class QueueOutbox(Outbox):
    """The worker process's batching outbox, sending to a dask queue."""

    def put_last(self, job: RemoteWorker, item: Any) -> None:
        """Queue the outcome and send everything queued, on this thread."""
        self._items.append((job, item))
        while self._items:
            self._send_some()


def run_generator_task(
    call: bytes,
    names: QueueNames,
    requests: list[tuple[str, Any]],
    name: str,
) -> None:
    """Run a generator worker's generator in this dask task; stream it home.

    *call* is the pickled ``(func, args, kwargs)``.
    """
    dask = distributed()
    client = dask.get_client()
    items = dask.Queue(names[0], client=client, maxsize=ITEMS_MAXSIZE)
    control = dask.Queue(names[1], client=client)
    connection = _QueueConnection(items)
    outbox = QueueOutbox(connection)  # type: ignore[arg-type]
    job = RemoteWorker(0, outbox)
    connection.job = job
    watching = threading.Event()
    watchdog = threading.Thread(
        target=_watch,
        args=(dask.get_worker(), dask.get_worker().get_current_task(), job, connection, watching),
        name="threadworker-dask-watchdog",
        daemon=True,
    )
    watchdog.start()
    try:
        began = dask.Event(names[2], client=client)
        if began.is_set():
            job.put(Event("errored", _lost(name)))
            return
        began.set()
        try:
            func, args, kwargs = dask.protocol.pickle.loads(call)
        except BaseException as exc:  # even SystemExit from a __setstate__
            error = TypeError(
                f"a dask worker could not unpickle {name}'s function or arguments: "
                f"{type(exc).__name__}: {exc}"
            )
            error.__cause__ = exc
            job.put(Event("errored", error))
            return
        for request in requests:  # made before start(): before the first step
            job.request(*request)
        for op, payload in control.get(batch=True):  # made while the task was queued
            job.request(op, payload)
        receiver = threading.Thread(
            target=_receive, args=(control, job), name="threadworker-dask-control", daemon=True
        )
        receiver.start()
        install_warning_router()
        token = current_worker_var.set(job)  # type: ignore[arg-type]
        try:
            _run_generator(job, func, args, kwargs)
        finally:
            current_worker_var.reset(token)
            control.put(["exit", None])
            receiver.join()
    finally:
        outbox.close()
        watching.set()
        watchdog.join()
        items.close()
        control.close()


def distributed() -> Any:
    """The ``distributed`` module, typed loosely (it has no type hints)."""
    import distributed as module

    return module


def _receive(control: Any, job: RemoteWorker) -> None:
    """Hand the home's requests to the job until told to exit (its own thread)."""
    while True:
        try:
            op, payload = control.get()
        except Exception as exc:  # the scheduler is gone: stop the generator
            job.fail(exc)
            return
        if op == "exit":
            return
        if op == "send":
            payload = (payload[0], payload[1])
        job.request(op, payload)


def _watch(
    worker: Any, key: Any, job: RemoteWorker, connection: _QueueConnection, done: threading.Event
) -> None:
    """Quit the generator when its task is cancelled (its own thread).

    dask cannot interrupt a running task: when the home's client closes or its
    process dies, the scheduler cancels the task and forgets it, and the
    generator would be left running, or blocked on a queue nobody reads,
    holding a thread of the dask worker for good. Instead what it still sends
    is dropped, the queue is emptied (a blocked send completes), ``DONE`` wakes
    a reader still waiting, and the generator quits: its ``finally`` runs and
    the thread is freed. Polled, not waited on with timeouts: the scheduler
    logs every timed-out queue call as an error.
    """
    while not done.wait(WATCH_INTERVAL):
        task = worker.state.tasks.get(key)
        if task is None or task.state in ("cancelled", "released", "forgotten"):
            connection.abandoned.set()
            job.request("quit", None)
            try:
                connection.queue.get(batch=True)
                connection.queue.put(DONE)
            except Exception:  # the scheduler is gone too
                pass
            return


def _lost(name: str) -> WorkerProcessDied:
    return WorkerProcessDied(
        f"the dask worker running {name} was lost before the work ended "
        "(dask started the task again elsewhere; a generator does not start over)"
    )


def unpickle_batch(data: bytes) -> list[Any]:
    """The items of one batch from the items queue."""
    _job_id, batch = pickle.loads(data)
    assert isinstance(batch, list)
    return batch
