"""Work in a foreign executor: a ``ProcessPoolExecutor``, a dask cluster, any other.

Only functions go there (the executor cannot stream a generator's values or
take its requests); dask arrives as ``client.get_executor()`` (see
``_executors``). A quit cancels the work if it is still queued, or, with
dask, on the cluster; running work elsewhere runs to its end.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._function_worker import FunctionWorker

__all__ = ["FunctionInExecutor"]


class FunctionInExecutor:
    """A function worker's run in a foreign executor."""

    __slots__ = ("_executor", "_future")

    def __init__(self, executor: concurrent.futures.Executor) -> None:
        self._executor = executor
        self._future: concurrent.futures.Future[Any] | None = None

    def launch(self, worker: FunctionWorker[Any], context: contextvars.Context) -> None:
        """Submit the function; its outcome goes to ``worker._on_done`` at home."""
        assert worker._dispatcher is not None
        # Keywords are bound here: an executor's submit() may take keywords
        # of its own (dask's take key=, workers=, ...).
        func = worker._remote_func
        if worker._kwargs:
            func = functools.partial(func, **worker._kwargs)
        self._future = worker._dispatcher.run_in_executor(
            self._executor, func, worker._on_done, *worker._args
        )
        self._future.add_done_callback(lambda _: worker._thread_done.set())

    def abort(self, worker: FunctionWorker[Any]) -> None:
        """Cancel the work: it never runs if queued; dask cancels it on the cluster."""
        future = self._future
        if future is not None and future.cancel():
            worker._thread_done.set()

    def began(self, worker: FunctionWorker[Any]) -> bool:
        """Whether the executor started it (it runs elsewhere: ask its future)."""
        future = self._future
        return future is not None and (future.running() or future.done())

    def refusal(self, worker: FunctionWorker[Any]) -> str:
        """The executor refused."""
        return f"its executor ({type(self._executor).__name__}) refused the work"
