"""One job for a worker process, as the home side holds it.

A :class:`ProcessJob` waits in its pool's queue, then runs in one worker
process; it keeps the requests made before it got there, and reports what
the process sends (``on_items``) or that the process died (``on_lost``).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from . import _shared_memory as shm
from ._stepper import OUTCOMES, Event, receipts

if TYPE_CHECKING:
    from ._process_pool import ProcessPool
    from ._worker_process import _WorkerProcess

__all__ = ["ItemsCallback", "JobKind", "LostCallback", "ProcessJob"]

_QUEUED, _RUNNING, _DONE = "queued", "running", "done"


JobKind = Literal["function", "generator"]


_job_ids = itertools.count(1)


#: Called on a courier thread with the items of a job, in order.
ItemsCallback = Callable[[list[Any]], None]


#: Called on a courier thread with the exit code when the process ended before
#: the job's outcome.
LostCallback = Callable[[int | None], None]


class ProcessJob:
    """The home side of one job in a worker process.

    Requests (:meth:`control`) made before the job reaches its process are
    kept and sent right after it, in order. :meth:`quit` asks the job to stop
    and, if it has not ended *grace* seconds later, kills its process.
    """

    def __init__(
        self,
        kind: JobKind,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        on_items: ItemsCallback,
        on_lost: LostCallback,
    ) -> None:
        self.id = next(_job_ids)
        self.kind = kind
        self.call: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None = (
            func,
            args,
            kwargs,
        )
        self._on_items = on_items
        self._on_lost = on_lost
        self._lock = threading.Lock()
        self._state = _QUEUED
        self._process: _WorkerProcess | None = None
        self._sent = False  # the job reached its process: requests go straight there
        self._held: list[tuple[str, Any]] = []
        self._kill_timer: threading.Timer | None = None
        self._failure: BaseException | None = None
        self._pool: ProcessPool | None = None
        self._kept: list[Any] = []  # arguments and sends in shared memory, until the end

    # -- requests (any thread) -------------------------------------------------------------
    def control(self, op: str, payload: Any = None) -> None:
        """Send a request to the job, or hold it until the job reaches its process."""
        with self._lock:
            if self._state == _DONE:
                return
            if op == "send":  # its shared memory lives as long as the job
                self._kept.append(payload[1])
            if not self._sent:
                self._held.append((op, payload))
                return
            assert self._process is not None
            self._process.send((op, self.id, payload))

    def quit(self, grace: float) -> None:
        """Ask the job to stop; kill its process if it still runs *grace* s later.

        A job still waiting for a process never runs: it ends ``aborted``.
        """
        if self._cancel():
            return
        self.control("quit")
        with self._lock:
            if self._state != _RUNNING or self._kill_timer is not None:
                return
            timer = threading.Timer(grace, self.kill)
            timer.name = "threadworker-quit-timer"
            timer.daemon = True
            self._kill_timer = timer
        timer.start()

    def kill(self) -> None:
        """Kill the job's process now, if the job is still running there."""
        with self._lock:
            # Under the lock: once the job is done its process may already
            # serve the next job, which must not be killed.
            if self._state == _RUNNING and self._process is not None:
                self._process.kill()

    def _cancel(self) -> bool:
        with self._lock:
            if self._state != _QUEUED:
                return False
            self._state = _DONE
            self.call = None
            kept, self._kept = self._kept, []
        shm.release(kept)
        if self._pool is not None:
            self._pool.forget(self)
        self._on_items([Event("aborted")])
        return True

    # -- the courier's side -------------------------------------------------------------------
    def begin(self, process: _WorkerProcess) -> bool:
        """Claim the job for *process*; False if it was cancelled meanwhile."""
        with self._lock:
            if self._state != _QUEUED:
                return False
            self._state = _RUNNING
            self._process = process
            return True

    def take_held(self) -> list[tuple[str, Any]]:
        """The requests held so far: they travel with the job itself.

        In the worker process they take effect before the job's first step,
        so a pause requested before ``start()`` holds the generator at once.
        """
        with self._lock:
            held, self._held = self._held, []
            return held

    def release_held(self) -> None:
        """The job reached its process: send the requests held until now."""
        with self._lock:
            self._sent = True
            held, self._held = self._held, []
            assert self._process is not None
            for op, payload in held:
                self._process.send((op, self.id, payload))

    def return_to_queue(self) -> None:
        """Its process died before taking the job: it may run elsewhere."""
        with self._lock:
            self._state = _QUEUED
            self._process = None

    def deliver(self, items: list[Any]) -> bool:
        """Hand a batch to the worker; True when it held the job's outcome."""
        last = items[-1] if items else None
        done = type(last) is Event and last.kind in OUTCOMES
        if self._failure is not None:  # only sends it took, and its end, still count
            items = [*receipts(items), *([Event("errored", self._failure)] if done else [])]
        if done:
            self._end()
        if items:
            self._on_items(items)
        return done

    def deliver_salvaged(self, items: list[Any], failure: BaseException) -> bool:
        """Deliver *items*, then fail the job: a value after them could not be read.

        The outcome, if the batch ended with one, becomes ``errored``.
        """
        last = items[-1] if items else None
        done = type(last) is Event and last.kind in OUTCOMES
        values = items[:-1] if done else items
        if self._failure is not None:
            values = receipts(values)
        if values:
            self._on_items(values)
        self.fail(failure)
        return self.deliver([last] if done else [])

    def fail(self, exc: BaseException) -> None:
        """End the job in error: a batch it sent cannot be read here."""
        if self._failure is None:
            self._failure = exc
            self.control("quit")

    def lost(self, exitcode: int | None) -> None:
        """The process ended before the job's outcome."""
        if self._failure is not None:  # it was killed because the job had failed
            self.deliver([Event("errored", self._failure)])
            return
        self._end()
        self._on_lost(exitcode)

    def crash(self, exc: BaseException) -> None:
        """End the job in error: its courier failed (a bug in threadworker)."""
        with self._lock:
            if self._state == _DONE:
                return
        error = RuntimeError(f"threadworker lost track of the worker process: {exc!r}")
        error.__cause__ = exc
        self._end()
        self._on_items([Event("errored", error)])

    def keep(self, value: Any) -> None:
        """Hold *value*'s shared memory until the job ends (see ``_shared_memory``)."""
        with self._lock:
            self._kept.append(value)

    def _end(self) -> None:
        with self._lock:
            self._state = _DONE
            self.call = None
            timer, self._kill_timer = self._kill_timer, None
            kept, self._kept = self._kept, []
        if timer is not None:
            timer.cancel()
        shm.release(kept)
