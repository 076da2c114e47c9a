"""Where a worker's work runs: one small interface, one module per placement.

A worker holds one runner, chosen from its ``executor=`` here and nowhere
else; the worker classes never ask which placement they use. A runner
launches the work, forwards a generator's requests (send, pause, resume),
makes a quit reach the work, and delivers the outcome home through the
worker's own hooks (``FunctionWorker._on_done``, a generator's channel).

- ``_run_in_thread``: threadworker's pool, a thread executor, a thread of
  the generator's own;
- ``_run_in_executor``: a foreign ``concurrent.futures.Executor`` — a
  ``ProcessPoolExecutor``, or a dask cluster through ``client.get_executor()``;
- ``_run_in_process``: threadworker's worker processes;
- ``_run_on_dask``: a generator in a dask task, streamed through dask Queues.

A new placement (Python 3.14's ``InterpreterPoolExecutor``) is one more module implementing
:class:`Runner` (and :class:`GeneratorRunner`), and a line below.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any, Protocol

from ._run_in_executor import FunctionInExecutor
from ._run_in_process import FunctionInProcess, GeneratorInProcess
from ._run_in_thread import FunctionInThread, GeneratorInThread
from ._run_on_dask import GeneratorOnDask

if TYPE_CHECKING:
    from ._executors import Placement
    from ._latch import Latch

__all__ = ["GeneratorRunner", "Runner", "function_runner", "generator_runner"]


class Runner(Protocol):
    """How one worker's work runs in one placement (its state: a future, a job)."""

    def launch(self, worker: Any, context: contextvars.Context) -> None:
        """Hand the work to its placement (home thread, from ``start()``).

        Raises
        ------
        Exception
            When the placement refuses it (shut down, broken): the worker
            then ends ``errored``, saying :meth:`refusal`.
        """

    def abort(self, worker: Any) -> None:
        """Make the work notice ``quit()``: cancel it if queued, or stop it if it can."""

    def began(self, worker: Any) -> bool:
        """Whether the work's code started running (for the shutdown warning)."""

    def refusal(self, worker: Any) -> str:
        """What refused the work, for the error of a launch that raised."""


class GeneratorRunner(Runner, Protocol):
    """A runner for generator workers: their requests travel to the generator."""

    def forward_requests(self, worker: Any) -> None:
        """Make the requests just recorded in the worker's driver take effect (lock held)."""

    def prepare_send(self, worker: Any, value: object) -> object:
        """*value* as it travels to the generator (pickled for another process).

        Raises
        ------
        TypeError
            If *value* cannot travel there.
        """

    def take_pending(self) -> list[Latch[None]]:
        """Forget the sends still on their way, and return their latches (lock held)."""


def function_runner(placement: Placement) -> Runner:
    """The runner of a function worker in *placement*."""
    if placement.kind == "process":
        return FunctionInProcess()
    if placement.kind == "executor":
        assert placement.executor is not None
        return FunctionInExecutor(placement.executor)
    return FunctionInThread(placement.executor)


def generator_runner(placement: Placement) -> GeneratorRunner:
    """The runner of a generator worker in *placement* (foreign executors take none)."""
    if placement.kind == "process":
        return GeneratorInProcess()
    if placement.kind == "dask":
        return GeneratorOnDask(placement.client)
    return GeneratorInThread(placement.executor)
