"""``worker.future``: a worker's outcome as a :class:`concurrent.futures.Future`.

The future is made on first use and settled when the worker finishes (home
thread): with the return value, the exception, or cancelled for ``aborted``.
It is never marked running, so whoever holds it can cancel it until then;
cancelling it quits the worker, and a result the home has not delivered yet
is discarded (the worker ends ``aborted``, as the future says). Waiting on it
in the home thread would never end — the home thread settles it — so there
:meth:`WorkerFuture.result` raises instead.
"""

from __future__ import annotations

import concurrent.futures
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._worker import WorkerBase

__all__ = ["future_of", "settle_future"]

R = TypeVar("R")


class WorkerFuture(concurrent.futures.Future[R]):
    """A worker's future: waiting on it in the worker's home thread is an error."""

    def __init__(self, worker: WorkerBase[R]) -> None:
        super().__init__()
        self._worker = weakref.ref(worker)

    def result(self, timeout: float | None = None) -> R:
        self._refuse_to_wait_at_home(timeout, "result")
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._refuse_to_wait_at_home(timeout, "exception")
        return super().exception(timeout)

    def _refuse_to_wait_at_home(self, timeout: float | None, method: str) -> None:
        if self.done() or (timeout is not None and timeout <= 0):
            return
        worker = self._worker()
        dispatcher = None if worker is None else worker._dispatcher
        if dispatcher is not None and dispatcher.in_home_thread():
            raise RuntimeError(
                f"worker.future.{method}() in the worker's home thread would wait for ever: "
                "this thread delivers the outcome. In a coroutine use `await worker`; in a "
                "callback connect to `finished`; or wait on the future from another thread."
            )


def future_of(worker: WorkerBase[R]) -> concurrent.futures.Future[R]:
    """The worker's future, made on first use (any thread)."""
    with worker._state_lock:
        future = worker._result_future
        made = future is None
        if future is None:
            future = worker._result_future = WorkerFuture(worker)
        finished = worker._state == "finished"
    if made:
        # Weakly: a future kept by the caller must not keep the worker alive.
        future.add_done_callback(_QuitIfCancelled(worker))
    if finished:  # _finish ran before the future existed: settle it here
        settle_future(worker)
    return future


def settle_future(worker: WorkerBase[Any]) -> None:
    """Give the worker's future its outcome (the worker has finished)."""
    future = worker._result_future
    if future is None or future.done():
        return
    fired = worker._fired
    try:
        if "returned" in fired:
            future.set_result(fired["returned"])
        elif "errored" in fired:
            future.set_exception(fired["errored"])
        else:
            future.cancel()
    except concurrent.futures.InvalidStateError:
        pass  # cancelled by its holder, or settled by another thread, meanwhile


class _QuitIfCancelled:
    """Quit the worker when its holder cancels the future."""

    def __init__(self, worker: WorkerBase[Any]) -> None:
        self._worker = weakref.ref(worker)

    def __call__(self, future: concurrent.futures.Future[Any]) -> None:
        worker = self._worker()
        if future.cancelled() and worker is not None and worker._state != "finished":
            worker.quit()
