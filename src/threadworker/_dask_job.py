"""One generator run on a dask cluster, as the home side holds it.

A :class:`DaskJob` owns the run's two ``distributed.Queue`` s and its task
(see ``_dask_task``) and two threads at home, because dask's calls block:

- the *courier* reads the items queue and hands each batch to ``on_items``
  until the outcome arrives, or the task's future ended without one (a
  done callback puts :data:`~._dask_task.DONE` behind the last batch), which
  is reported to ``on_lost``;
- the *messenger* creates the queues, submits the task, then carries the
  requests (:meth:`control`) to the control queue, in order.

Every dask call is made from these threads, never from the home loop: with
an asynchronous client (whose loop is the home's) a call from another thread
runs on that loop and blocks only the caller, so both kinds of client work.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any

from ._dask_task import (
    DONE,
    ITEMS_MAXSIZE,
    QueueNames,
    distributed,
    run_generator_task,
    unpickle_batch,
)
from ._stepper import OUTCOMES, Event

__all__ = ["ClientRefused", "DaskJob", "cannot_pickle_call"]

#: Called on the courier thread with the items of one batch, in order.
ItemsCallback = Callable[[list[Any]], None]
#: Called on the courier thread with what ended the task without an outcome.
LostCallback = Callable[[BaseException | None], None]
#: Called on the messenger thread when the task could not be submitted, with why.
RefusedCallback = Callable[[BaseException], None]


class ClientRefused(RuntimeError):
    """The dask client could not take the task (closed, or its scheduler gone)."""


def cannot_pickle_call(name: str, exc: BaseException) -> TypeError:
    """The error for a generator whose function or arguments cannot be pickled."""
    error = TypeError(
        f"cannot run {name} on a dask cluster: its function or arguments cannot be "
        f"pickled ({type(exc).__name__}: {exc}). Pass picklable arguments (not open "
        "files, locks, sockets or Qt objects)."
    )
    error.__cause__ = exc
    return error


class DaskJob:
    """The home side of one generator task on a dask cluster.

    Requests made before :meth:`start` travel with the task, and apply
    before the generator's first step; later ones go through the control
    queue.
    """

    def __init__(
        self,
        client: Any,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        name: str,
        on_items: ItemsCallback,
        on_lost: LostCallback,
        on_refused: RefusedCallback,
    ) -> None:
        self._client = client
        self._call = (func, args, kwargs)
        self._name = name
        self._on_items = on_items
        self._on_lost = on_lost
        self._on_refused = on_refused
        self._id = uuid.uuid4().hex
        prefix = f"threadworker-{self._id}"
        self._names: QueueNames = (f"{prefix}-items", f"{prefix}-control", f"{prefix}-began")
        self._held: list[tuple[str, Any]] | None = []  # None once started
        self._outgoing: SimpleQueue[tuple[str, Any] | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._ended = False
        self._halves_done = 0
        self._future: Any = None
        self._items: Any = None

    def control(self, op: str, payload: Any = None) -> None:
        """Send a request to the task (any thread; in order)."""
        with self._lock:
            if self._ended:
                return
            if self._held is not None:
                self._held.append((op, payload))
                return
        self._outgoing.put((op, payload))

    def start(self) -> None:
        """Submit the task, from the messenger thread (which this starts)."""
        threading.Thread(
            target=self._messenger, name="threadworker-dask-messenger", daemon=True
        ).start()

    def _messenger(self) -> None:
        dask = distributed()
        client = self._client
        try:
            # Pickled here, loaded by the task: dask would load the arguments in the
            # dask worker's connection to the scheduler, and one that fails to load
            # there breaks the connection and ends the dask worker, then the next.
            call = dask.protocol.pickle.dumps(self._call)
        except Exception as exc:
            self._end()
            self._on_refused(cannot_pickle_call(self._name, exc))
            return
        try:
            self._items = dask.Queue(self._names[0], client=client, maxsize=ITEMS_MAXSIZE)
            control = dask.Queue(self._names[1], client=client)
            with self._lock:
                requests, self._held = self._held or [], None
            self._future = client.submit(
                run_generator_task,
                call,
                self._names,
                requests,
                self._name,
                pure=False,
                key=f"{self._name}-{self._id}",
            )
        except Exception as exc:  # the client is closed, the scheduler gone
            self._end()
            refused = ClientRefused(
                f"{self._name} could not start: its dask client ({type(client).__name__}) "
                f"refused the work ({type(exc).__name__}: {exc})"
            )
            refused.__cause__ = exc
            self._on_refused(refused)
            return
        threading.Thread(target=self._courier, name="threadworker-dask-courier").start()
        self._future.add_done_callback(self._task_ended)
        while (request := self._outgoing.get()) is not None:
            try:
                control.put(list(request))
            except Exception:  # the task ended with the scheduler: the courier says so
                continue
        control.close()

    def _courier(self) -> None:
        try:
            self._deliver()
        finally:
            self._end()
            self._outgoing.put(None)
            self._items.close()
            self._half_done()

    def _deliver(self) -> None:
        items = self._items
        while True:
            try:
                data = items.get()
            except Exception as exc:
                self._on_lost(exc)
                return
            if data == DONE:
                self._on_lost(self._closed_client() or self._task_error())
                return
            batch = unpickle_batch(data)
            self._on_items(batch)
            if any(type(item) is Event and item.kind in OUTCOMES for item in batch):
                return

    def _task_ended(self, future: Any) -> None:
        """The task's future is done (dask's callback thread): wake the courier."""
        if not self._ended:
            try:
                self._items.put(DONE)
            except Exception:  # the queue went with the courier
                pass
        self._half_done()

    def _half_done(self) -> None:
        """The courier or the task ended; the second of them releases the run.

        Not before the task ended: dask reruns a task whose worker died, and
        only the "began" event stops the rerun from starting the generator over.
        """
        with self._lock:
            self._halves_done += 1
            both = self._halves_done == 2
        if both:
            self._release()

    def _closed_client(self) -> BaseException | None:
        """Why the run ended if its client was closed (the task then wakes the courier)."""
        status = getattr(self._client, "status", None)
        return (
            RuntimeError(f"its status is {status!r}") if status in ("closing", "closed") else None
        )

    def _task_error(self) -> BaseException | None:
        future = self._future
        try:
            if future.status == "cancelled":
                return None
            error = future.exception(timeout=0)
        except Exception as exc:
            return exc
        return error if isinstance(error, BaseException) else None

    def _end(self) -> None:
        with self._lock:
            self._ended = True

    def _release(self) -> None:
        """Forget the run on the scheduler: its "began" event and its task."""
        try:
            distributed().Event(self._names[2], client=self._client).clear()
            self._future.release()
        except Exception:  # the scheduler is gone: nothing to release
            pass

    def quit(self) -> None:
        """Ask the generator to close at its next ``yield``."""
        self.control("quit")
