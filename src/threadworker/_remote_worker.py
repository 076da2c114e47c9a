"""The worker as a job's code sees it inside a worker process.

``current_worker()`` there is a :class:`RemoteWorker`: it takes the parent's
requests (send/pause/resume/quit) for the generator driver, hands what the
job produces to the process's outbox, and counts progress
(:class:`ProgressRelay`) for the worker's ``pbar`` at home.
"""

from __future__ import annotations

import pickle
import threading
import time
from typing import TYPE_CHECKING, Any

from . import _shared_memory as shm
from ._portable_error import PortableError, describe_exception
from ._progress_counts import ProgressCounts
from ._stepper import OUTCOMES, Event, GeneratorDriver
from ._warnings import WarningArgs, warning_hooks

if TYPE_CHECKING:
    from ._process_child import Outbox

__all__ = ["PROGRESS_INTERVAL", "ProgressRelay", "RemoteWorker", "not_picklable"]


PROGRESS_INTERVAL = 1 / 30  # seconds between progress reports


class ProgressRelay(ProgressCounts):
    """``pbar`` inside a worker process: reports to the parent's bar, throttled."""

    def __init__(self, job: RemoteWorker) -> None:
        super().__init__()
        self._job = job
        self._explicit = True
        self._sent_at = 0.0
        self._dirty = False

    def _changed(self, *, reset: bool) -> None:
        self._report(force=reset)  # a reset (new total, desc) goes out at once

    def _report(self, *, force: bool) -> None:
        now = time.monotonic()
        if force or now - self._sent_at >= PROGRESS_INTERVAL:
            self._sent_at = now
            self._dirty = False
            self._job.put(Event("progress", (self.n, self.total, self.desc)))
        else:
            self._dirty = True

    def flush(self) -> None:
        """Send the last state if a throttled update was not sent."""
        if self._dirty:
            self._report(force=True)


class RemoteWorker:
    """What ``current_worker()`` returns inside a worker process.

    It has what code running in a worker uses: ``abort_requested`` (set by
    the parent's ``quit()``) and progress reporting through ``pbar``.
    """

    def __init__(self, job_id: int, outbox: Outbox) -> None:
        self.id = job_id
        self._outbox = outbox
        self.control = threading.Condition(threading.Lock())
        self.driver: GeneratorDriver[Any, Any, Any] = GeneratorDriver()
        self._abort_requested = False
        self._pbar: ProgressRelay | None = None
        #: Why the job must end in error: a value it made could not be sent.
        self.failure: BaseException | None = None
        #: Buffers this big go through shared memory (None: the pipe only).
        self.threshold: int | None = shm.THRESHOLD
        # The job's own catch_warnings(record=True) must get its warnings.
        self._warning_hooks = warning_hooks()

    @property
    def abort_requested(self) -> bool:
        """Whether the parent asked the worker to quit."""
        return self._abort_requested

    @property
    def pbar(self) -> ProgressRelay | None:
        """The progress relay, once the work reported progress."""
        return self._pbar

    def _ensure_pbar(self) -> ProgressRelay:
        if self._pbar is None:
            self._pbar = ProgressRelay(self)
        return self._pbar

    def _deliver_warning(self, args: WarningArgs) -> None:
        message, category, filename, lineno, _file, line = args
        # The file object stays here; the parent shows it on its own stream.
        self.put(Event("warned", (message, category, filename, lineno, None, line)))

    def put(self, item: Any) -> None:
        """Queue an item for the parent (the job's thread)."""
        if type(item) is Event:
            if item.kind in OUTCOMES and self._pbar is not None:
                self._pbar.flush()
            if item.kind == "errored":
                item = Event("errored", PortableError(item.payload))
            elif item.kind == "returned":  # shared memory: pickled here (_shared_memory)
                item = Event("returned", self._encode(item.payload, item))
            if item.kind in OUTCOMES:
                self._outbox.put_last(self, item)
                return
        else:  # shared memory: pickled here, so the generator stops at a bad value
            item = self._encode(item)
            if item is _UNSENDABLE:
                return
        self._outbox.put(self, item)

    def _encode(self, value: Any, item: Any = None) -> Any:
        """*value* pickled now (big buffers into shared memory), within the byte budget.

        A value that cannot be pickled fails the job here, before its
        generator takes another step; what was queued before it still goes.
        """
        try:
            encoded = shm.encode(value, threshold=self.threshold, ring=self._outbox.ring)
        except BaseException as exc:  # even a __reduce__ raising SystemExit
            self._outbox.drain()
            self.fail(not_picklable(value if item is None else item, exc))
            return _UNSENDABLE
        if type(encoded) is shm.Encoded:
            self._outbox.budget.acquire(encoded.nbytes, lambda: self._abort_requested)
        return encoded

    # -- requests from the parent (receiver thread) --------------------------------------
    def request(self, op: str, payload: Any) -> None:
        with self.control:
            if op == "quit":
                self._abort_requested = True
                self.driver.request_abort()
            elif op == "pause":
                self.driver.request_pause()
            elif op == "resume":
                self.driver.request_resume()
            elif op == "transport":  # from the parent's scope (_byte_budget, _shared_memory)
                self._outbox.budget.limit, self.threshold, self._outbox.ring.owner = payload
                self._outbox.ring.limit = self._outbox.budget.limit
            elif op == "send":
                token, data = payload
                try:
                    value = pickle.loads(data)
                except Exception as exc:
                    self._fail_locked(exc)
                else:
                    self.driver.queue_send(value, token)
            self.control.notify_all()

    def fail(self, exc: BaseException) -> None:
        """End the job in error at its next step (any thread)."""
        with self.control:
            self._fail_locked(exc)
            self.control.notify_all()

    def _fail_locked(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
        self._abort_requested = True
        self.driver.request_abort()


#: What :meth:`RemoteWorker._encode` returns for a value it could not pickle.
_UNSENDABLE = object()


def not_picklable(item: Any, exc: BaseException) -> TypeError:
    """The error of a job whose *item* could not be sent to the parent."""
    if type(item) is Event and item.kind == "returned":
        what = "its return value"
        item = item.payload
    elif type(item) is Event:
        what = f"a {item.kind} event"
    else:
        what = "a yielded value"
    error = TypeError(
        f"a worker process could not send {what} ({type(item).__qualname__}) back: "
        f"{describe_exception(exc)}. Values crossing between processes must be picklable."
    )
    error.__cause__ = exc
    return error
