"""Functions on a dask cluster through an *asynchronous* ``Client``.

dask's own ``client.get_executor()`` cancels a task with ``future.cancel()``
from a done callback: with an asynchronous client that call only makes a
coroutine, which nobody awaits, so a quit (or a timeout) never reached the
cluster and the task ran on. This executor submits the same way and runs
both the wait for the outcome and the cancellation on the client's own event
loop, where an asynchronous client's calls must run. dask is not imported:
the client is used only through its methods.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import Any

__all__ = ["AsyncClientExecutor"]


class AsyncClientExecutor(concurrent.futures.Executor):
    """A ``concurrent.futures`` face for an asynchronous ``dask.distributed.Client``."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        # pure=False: every worker is a run of its own, even with equal arguments.
        task = self._client.submit(fn, *args, pure=False, **kwargs)
        outcome: concurrent.futures.Future[Any] = concurrent.futures.Future()
        loop = self._client.loop  # tornado's IOLoop: add_callback is thread-safe

        async def wait_for_task() -> None:
            try:
                result = await task
            except BaseException as exc:  # the task's error, or its cancellation
                if task.cancelled():
                    outcome.cancel()
                else:
                    _settle(outcome.set_exception, exc)
            else:
                _settle(outcome.set_result, result)

        def cancel_task(done: concurrent.futures.Future[Any]) -> None:
            if done.cancelled() and not task.done():
                # The client's cancel() is a coroutine here: the loop awaits it.
                loop.add_callback(self._client.cancel, [task])

        outcome.add_done_callback(cancel_task)
        loop.add_callback(wait_for_task)
        return outcome


def _settle(setter: Callable[[Any], None], value: Any) -> None:
    try:
        setter(value)
    except concurrent.futures.InvalidStateError:
        pass  # cancelled by a quit meanwhile: the outcome is no longer wanted
