"""What runs inside a worker process: jobs in, events out, over one pipe.

A worker process runs one job at a time on its main thread. Two helper
threads keep it responsive: a *receiver* reads the pipe (new jobs, and
send/pause/resume/quit for the running one) and an *outbox* sends what the
job produces in batches, so a fast generator costs one pickle and one write
per batch instead of per value — and a value yielded before a long
computation still leaves at once.

Messages from the parent are ``(op, job_id, payload)`` tuples:

- ``("run", id, (bytes, requests))`` — the pickled ``(kind, func, args,
  kwargs)``, and the ``(op, payload)`` requests made before it was sent
- ``("send", id, (token, bytes))`` — a value for a generator's ``yield``
- ``("pause" | "resume" | "quit", id, None)``
- ``("exit", 0, None)`` — finish the current job, then exit

Messages to the parent are pickled ``(job_id, [item, ...])``: yielded values
and :class:`~threadworker._stepper.Event` s, in order. An ``errored`` event
carries a :class:`PortableError`, which always unpickles.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from queue import SimpleQueue
from typing import Any, cast

from . import _shared_memory as shm
from ._byte_budget import ByteBudget
from ._current import current_worker_var
from ._portable_error import PortableError as PortableError
from ._portable_error import describe_exception as describe_exception
from ._remote_worker import RemoteWorker, not_picklable
from ._segment_ring import SegmentRing
from ._stepper import OUTCOMES, Event, drive, receipts
from ._warnings import install_warning_router

__all__ = ["READY_IN_OWN_GROUP", "PortableError", "describe_exception", "serve"]

OUTBOX_CAPACITY = 1024  # undelivered items that make a generator wait
MAX_BATCH = 4096  # items per message, at most...
MAX_BATCH_BYTES = 4 << 20  # ...and about this many bytes: big values go a few at a time
#: What a worker process says when it serves, leading a process group of its own.
READY_IN_OWN_GROUP = b"ready, own group"
_serving_pid = 0  # the worker process's, in a process its jobs forked too


class Outbox:
    """Items for the parent, pickled and sent in batches by their own thread."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._items: deque[tuple[RemoteWorker, Any]] = deque()
        self._wake = threading.Event()
        self._space = threading.Event()
        self._sender_sleeping = False
        self._producer_blocked = False
        self._closing = False
        self._send_lock = threading.Lock()
        self._batch_limit = MAX_BATCH  # adapted to the size of recent values
        self.budget = ByteBudget()  # see _byte_budget
        self.ring = SegmentRing(self.budget.limit)  # see _segment_ring
        self._thread = threading.Thread(target=self._serve, name="outbox", daemon=True)
        self._thread.start()

    def put(self, job: RemoteWorker, item: Any) -> None:
        """Queue *item*; waits while the parent is far behind (any thread)."""
        items = self._items
        items.append((job, item))  # atomic: no lock on the common path
        if self._sender_sleeping:
            self._wake.set()
        if len(items) >= OUTBOX_CAPACITY:
            self._producer_blocked = True
            while len(items) >= OUTBOX_CAPACITY and not job.abort_requested:
                self._space.clear()
                # Re-checked after clearing, so a drain in between is not missed;
                # the timeout only guards against a bug turning into a hang.
                if len(items) >= OUTBOX_CAPACITY:
                    self._space.wait(0.1)
            self._producer_blocked = False

    def close(self) -> None:
        """Send what is queued, then stop the sending thread."""
        self._closing = True
        self._wake.set()
        self._thread.join()
        self.ring.close()

    def _serve(self) -> None:
        items = self._items
        while True:
            if not items:
                if self._closing:
                    return
                self._wake.clear()
                self._sender_sleeping = True
                if not items and not self._closing:
                    self._wake.wait()
                self._sender_sleeping = False
                continue
            self._send_some()

    def _send_some(self) -> None:
        """Send one batch of the queued items (a job's, in order), if any."""
        items = self._items
        with self._send_lock:  # popped and sent together: batches leave in order
            if not items:
                return
            job, first = items.popleft()
            batch = [first]
            limit = self._batch_limit
            while items and len(batch) < limit and items[0][0] is job:
                batch.append(items.popleft()[1])
            if self._producer_blocked:
                self._space.set()
            self._send(job, batch)

    def put_last(self, job: RemoteWorker, item: Any) -> None:
        """Queue a job's outcome and send everything queued, on this thread.

        The outcome is what the parent waits for: sending it here saves the
        hand-off to the sending thread.
        """
        if os.getpid() != _serving_pid:
            # A process the job forked returned from the job: only the worker
            # process may answer for it.
            os._exit(0)
        self._items.append((job, item))
        self.drain()

    def drain(self) -> None:
        """Send everything queued, on this thread."""
        while self._items:
            self._send_some()

    def _send(self, job: RemoteWorker, batch: list[Any]) -> None:
        piped, shared = _encoded_bytes(batch)  # byte budget: see _byte_budget
        if job.failure is not None:
            self.budget.release(piped + shared)  # nothing more of it is acknowledged
            for item in batch:  # dropped: their segments are free again
                value = item.payload if type(item) is Event else item
                if type(value) is shm.Encoded and value.lent and value.name is not None:
                    self.ring.give_back(value.name)
            batch = _only_outcome(batch, job.failure)
            if not batch:
                return
        try:
            data = pickle.dumps((job.id, batch), pickle.HIGHEST_PROTOCOL)
        except BaseException:  # even a __reduce__ raising SystemExit: this thread must live
            data = self._salvage(job, batch)
        per_item = len(data) // len(batch) + 1
        self._batch_limit = max(1, min(MAX_BATCH, MAX_BATCH_BYTES // per_item))
        try:
            self._conn.send_bytes(data)
        except OSError:  # the parent is gone: nobody to report to
            shm.sweep(self.ring.owner, os.getpid())
            os._exit(1)
        if job.failure is None:
            self.budget.release(piped)  # written; the shared bytes wait for "ack"

    def _salvage(self, job: RemoteWorker, batch: list[Any]) -> bytes:
        """Send what pickles up to the first item that does not; fail the job."""
        good: list[Any] = []
        for index, item in enumerate(batch):
            try:
                pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:
                job.fail(not_picklable(item, exc))
                assert job.failure is not None
                good.extend(_only_outcome(batch[index:], job.failure))
                break
            good.append(item)
        return pickle.dumps((job.id, good), pickle.HIGHEST_PROTOCOL)


def _encoded_bytes(batch: list[Any]) -> tuple[int, int]:
    """Bytes of the batch's encoded values: through the pipe, in shared memory."""
    piped = shared = 0
    for item in batch:
        if type(item) is Event:
            item = item.payload
        if type(item) is shm.Encoded:
            piped += len(item.data)
            shared += item.shared
    return piped, shared


def _only_outcome(batch: list[Any], failure: BaseException) -> list[Any]:
    """What still goes out of a failed job: sends it took, and its outcome as the failure."""
    kept: list[Any] = receipts(batch)
    if any(type(item) is Event and item.kind in OUTCOMES for item in batch):
        kept.append(Event("errored", PortableError(failure)))
    return kept


class _Receiver:
    """Reads the pipe: jobs go to the main thread, requests to their job."""

    def __init__(self, conn: Connection, outbox: Outbox) -> None:
        self._conn = conn
        self._outbox = outbox
        self.jobs: SimpleQueue[tuple[RemoteWorker, bytes] | None] = SimpleQueue()
        self._live: dict[int, RemoteWorker] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, name="receiver", daemon=True).start()

    def done(self, job: RemoteWorker) -> None:
        with self._lock:
            self._live.pop(job.id, None)

    def _serve(self) -> None:
        try:
            while True:
                op, job_id, payload = self._conn.recv()
                if op == "exit":
                    self.jobs.put(None)
                    return
                if op == "ack":  # the parent took shared bytes (_byte_budget)
                    self._outbox.budget.release(payload)
                    continue
                if op == "free":  # the parent dropped its last view of a segment
                    self._outbox.ring.give_back(payload)
                    continue
                if op == "run":
                    job = RemoteWorker(job_id, self._outbox)
                    data, requests = payload
                    for request in requests:  # before its first step
                        job.request(*request)
                    with self._lock:
                        self._live[job_id] = job
                    self.jobs.put((job, data))
                    continue
                with self._lock:
                    target = self._live.get(job_id)
                if target is not None:  # else: it ended, the request came too late
                    target.request(op, payload)
                    if op == "quit":  # a producer waiting on the byte budget stops waiting
                        self._outbox.budget.wake()
        except (EOFError, OSError):
            # The parent closed the pipe or died: stop at once, mid-job or not,
            # removing the shared memory it will never take.
            shm.sweep(self._outbox.ring.owner, os.getpid())
            os._exit(0)


def serve(conn: Connection) -> None:
    """The worker process's main function: run jobs until told to exit."""
    # Ctrl+C in a terminal reaches the whole process group; the parent
    # decides what ends, so the worker process ignores it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A process group of its own, which the processes its jobs start join:
    # the parent can end them all together, even those the job left behind.
    try:
        os.setpgid(0, 0)
        ready = READY_IN_OWN_GROUP
    except (AttributeError, OSError):  # not POSIX, or a session leader already
        ready = b"ready"
    install_warning_router()
    global _serving_pid
    _serving_pid = os.getpid()
    if hasattr(os, "register_at_fork"):
        # A job's forked children must not write to (nor hold) the pipe.
        os.register_at_fork(after_in_child=conn.close)
    conn.send_bytes(ready)  # the parent waits for this before sending jobs
    outbox = Outbox(conn)
    receiver = _Receiver(conn, outbox)
    while (entry := receiver.jobs.get()) is not None:
        job, payload = entry
        _run_job(job, payload)
        receiver.done(job)
        del job, payload, entry  # drop the job's data while idle
    outbox.close()


def _run_job(job: RemoteWorker, payload: bytes) -> None:
    token = current_worker_var.set(cast(Any, job))
    try:
        try:
            kind, func, args, kwargs = pickle.loads(payload)
        except BaseException as exc:  # even SystemExit from a __setstate__
            error = TypeError(
                f"a worker process could not unpickle its job: {describe_exception(exc)}"
            )
            error.__cause__ = exc
            job.put(Event("errored", error))
            return
        if kind == "generator":
            _run_generator(job, func, args, kwargs)
        else:
            _run_function(job, func, args, kwargs)
    finally:
        current_worker_var.reset(token)


def _run_function(
    job: RemoteWorker, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    try:
        result = func(*args, **kwargs)
    except BaseException as exc:
        job.put(Event("errored", exc))
    else:
        # Quit while it ran: the parent reports ``aborted``, so the value stays here.
        job.put(Event("aborted") if job.abort_requested else Event("returned", result))


def _run_generator(
    job: RemoteWorker, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    try:
        generator = func(*args, **kwargs)
    except BaseException as exc:
        job.put(Event("errored", exc))
        return
    with job.control:
        job.driver.attach(generator)
    drive(job.driver, job.control, job.put)
