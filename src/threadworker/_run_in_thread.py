"""Work in a thread of this process: threadworker's pool, a thread executor, or its own thread.

Requests need no forwarding here: the generator's driver is shared with the
stepping thread, which is woken to read them.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import threading
from typing import TYPE_CHECKING, Any

from ._stepper import Event

if TYPE_CHECKING:
    from ._function_worker import FunctionWorker
    from ._generator_worker import GeneratorWorker
    from ._latch import Latch

__all__ = ["FunctionInThread", "GeneratorInThread"]


class FunctionInThread:
    """A function worker's run in threadworker's pool, or in a thread executor."""

    __slots__ = ("_executor", "_future")

    def __init__(self, executor: concurrent.futures.Executor | None) -> None:
        self._executor = executor
        self._future: concurrent.futures.Future[Any] | None = None

    def launch(self, worker: FunctionWorker[Any], context: contextvars.Context) -> None:
        """Submit the function; its outcome goes to ``worker._on_done`` at home."""
        assert worker._scope is not None
        assert worker._dispatcher is not None
        self._future = worker._dispatcher.run_in_executor(
            self._executor or worker._scope.pool,
            # A thread of ours is named after its work.
            functools.partial(context.run, worker._run_in_thread, self._executor is None),
            worker._on_done,
        )

    def abort(self, worker: FunctionWorker[Any]) -> None:
        """Cancel the function if it is still queued: it never runs."""
        future = self._future
        if future is not None and future.cancel():
            worker._thread_done.set()

    def began(self, worker: FunctionWorker[Any]) -> bool:
        """Whether the function started."""
        return worker._began

    def refusal(self, worker: FunctionWorker[Any]) -> str:
        """Who refused: the thread executor, or threadworker's pool."""
        if self._executor is not None:
            return f"its executor ({type(self._executor).__name__}) refused the work"
        return "threadworker's thread pool refused the work"


class GeneratorInThread:
    """A generator worker's run in a thread of its own, or in a thread executor."""

    __slots__ = ("_executor", "_future")

    def __init__(self, executor: concurrent.futures.Executor | None) -> None:
        self._executor = executor
        self._future: concurrent.futures.Future[Any] | None = None

    def launch(self, worker: GeneratorWorker[Any, Any, Any], context: contextvars.Context) -> None:
        """Start the thread that drives the generator into the worker's channel."""
        channel = worker._channel
        assert channel is not None
        if self._executor is not None:
            self._future = self._executor.submit(worker._run, context, channel.put)
        else:
            thread = threading.Thread(
                target=worker._run,
                args=(context, channel.put),
                name=f"threadworker-{worker._name}",
                daemon=True,  # a stuck generator must never block interpreter exit
            )
            thread.start()

    def forward_requests(self, worker: GeneratorWorker[Any, Any, Any]) -> None:
        """Wake the stepping thread: it may be waiting (paused)."""
        worker._control.notify_all()

    def abort(self, worker: GeneratorWorker[Any, Any, Any]) -> None:
        """Cancel a run still queued behind a thread executor's other work."""
        if self._future is not None and self._future.cancel():
            # It never runs: its outcome is put here.
            assert worker._channel is not None
            worker._channel.put(Event("aborted"))
            worker._producer_done()

    def prepare_send(self, worker: GeneratorWorker[Any, Any, Any], value: object) -> object:
        """The value itself: the generator is in this process."""
        return value

    def take_pending(self) -> list[Latch[None]]:
        """None: sends wait in the shared driver, which settles them itself."""
        return []

    def began(self, worker: GeneratorWorker[Any, Any, Any]) -> bool:
        """Whether the generator's thread started stepping it."""
        return worker._began

    def refusal(self, worker: GeneratorWorker[Any, Any, Any]) -> str:
        """Who refused: the thread executor, or the thread could not start."""
        if self._executor is not None:
            return f"its executor ({type(self._executor).__name__}) refused the work"
        return "its thread could not be started"
