"""threadworker's own pool for function workers.

Why not ``ThreadPoolExecutor``: its threads are joined at interpreter exit
with no time limit, so one blocking function would hang the exit forever; and
Qt's global pool is shared with every other library. This pool's threads are
daemons, named after the function they run, and :meth:`shutdown` waits a
bounded time then reports what it had to abandon.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any, ParamSpec, TypeVar

__all__ = ["IDLE_THREAD_NAME", "ThreadPool"]

P = ParamSpec("P")
T = TypeVar("T")

IDLE_THREAD_NAME = "threadworker-idle"

_Task = tuple[concurrent.futures.Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class ThreadPool(concurrent.futures.Executor):
    """A bounded pool of daemon threads, usable with ``loop.run_in_executor``."""

    def __init__(self, max_threads: int) -> None:
        if max_threads < 1:
            raise ValueError(f"max_threads must be at least 1, not {max_threads}")
        self.max_threads = max_threads
        self._queue: SimpleQueue[_Task | None] = SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._shutdown = False

    def submit(
        self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> concurrent.futures.Future[T]:
        """Run ``fn(*args, **kwargs)`` on a pool thread."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit work: the worker pool has been shut down")
            self._queue.put((future, fn, args, kwargs))
            if not self._idle.acquire(blocking=False) and len(self._threads) < self.max_threads:
                thread = threading.Thread(target=self._serve, name=IDLE_THREAD_NAME, daemon=True)
                thread.start()
                self._threads.append(thread)
        return future

    def _serve(self) -> None:
        while (task := self._queue.get()) is not None:
            future, fn, args, kwargs = task
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
                del future, fn, args, kwargs, task  # drop references while idle
            threading.current_thread().name = IDLE_THREAD_NAME
            self._idle.release()

    def busy_threads(self) -> list[threading.Thread]:
        """Threads currently running a task (named after it)."""
        return [t for t in self._threads if t.is_alive() and t.name != IDLE_THREAD_NAME]

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the pool; with *wait*, join its threads (see :meth:`stop`)."""
        self.stop(timeout=None if wait else 0.0, cancel_futures=cancel_futures)

    def stop(
        self, timeout: float | None, *, cancel_futures: bool = False
    ) -> list[threading.Thread]:
        """Stop the pool; return the threads still busy after *timeout* seconds.

        Queued tasks still run unless *cancel_futures*. Threads still running
        after *timeout* (forever if None) are abandoned — they are daemons —
        and returned.
        """
        with self._lock:
            self._shutdown = True
            threads = list(self._threads)
        if cancel_futures:
            while True:
                try:
                    task = self._queue.get_nowait()
                except Empty:
                    break
                if task is not None:
                    task[0].cancel()
        for _ in threads:
            self._queue.put(None)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(remaining)
        return [t for t in threads if t.is_alive()]
