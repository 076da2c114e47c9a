"""threadworker: asyncio-native thread workers with the superqt/napari API.

Run blocking functions and generators in threads without freezing an event
loop or a Qt GUI. Every signal is both a callback hook and an awaitable::

    @thread_worker
    def average(n):
        ...
        yield partial
        return total

    async for partial in average(1024): ...

The package is layered, and a module imports from its own layer and the
layers below only (``tests/test_architecture.py`` enforces it, and that no
import cycle exists, counting imports inside functions; imports under
``if TYPE_CHECKING:`` are exempt)::

    qt          _qt, _qt_calls, _qt_timer, qt,          the only layer importing qtpy
                _qthread_worker, _napari; testing (the pytest plugin)
    workers     _worker, _worker_start, _worker_delivery, _function_worker,
                _generator_worker, _generator_pump, _factory, _progress,
                _main_thread; the policies: _policy, _exclusive, _future;
                where the work runs, one runner per placement:
                _runner, _run_in_thread, _run_in_executor, _run_in_process,
                _run_on_dask
    runtime     _dispatch, _scope, _worker_scope,       a home: its loop, its pools
                _thread_loop
    placements  _pool, _executors, _process_pool, _process_job,
                _worker_process, _pipe_reader, _salvage, where a worker's code runs
                _dask_async_executor
                _process_child, _remote_worker          (inside a worker process)
                _dask_job, _dask_task                   a generator on a dask cluster
    signals     _signal, _signal_instance, _signal_iterator, _slot,
                _worker_signals
    core        the standard library only, and what a worker process runs:
                _exceptions, _latch, _channel, _stepper, _current, _warnings,
                _callables, _sizes, _progress_counts, _portable_error,
                _upper_layers, _shared_memory, _segment_ring, _byte_budget

A lower layer that must reach a higher one names it in a ``Protocol`` and
finds it by module name when the application has loaded it
(``_upper_layers``): the runtime never imports Qt, the qt layer never runs
unless Qt is in use. A worker process imports only ``_process_child``,
``_remote_worker`` and the core below them: when this package is imported
while a worker process starts, its public names load on first use instead of
at once. ``docs/architecture.md`` draws the layers.
"""

import sys as _sys
import typing as _typing


def _starting_worker_process() -> bool:
    """Whether this import is a worker process unpickling its entry point.

    ``multiprocessing`` names the process before it unpickles the target
    (``_process_child.serve``); the eager imports below would load the whole
    package, asyncio included, into a process that runs one function.
    """
    process = _sys.modules.get("multiprocessing.process")
    if process is None:
        return False
    current = process.current_process()
    # The name _worker_process gives its processes. ``_inheriting`` is private
    # but unchanged since Python 3.4; were it gone, this is False and the
    # package loads at once, as before (the architecture test would notice).
    return bool(getattr(current, "_inheriting", False)) and current.name == "threadworker-process"


if _typing.TYPE_CHECKING or not _starting_worker_process():
    from ._current import current_worker as current_worker
    from ._exceptions import WorkerAborted as WorkerAborted
    from ._exceptions import WorkerFinishedError as WorkerFinishedError
    from ._exceptions import WorkerProcessDied as WorkerProcessDied
    from ._exceptions import WorkerTimeout as WorkerTimeout
    from ._factory import as_generator_function as as_generator_function
    from ._factory import create_worker as create_worker
    from ._factory import thread_worker as thread_worker
    from ._function_worker import FunctionWorker as FunctionWorker
    from ._generator_worker import GeneratorWorker as GeneratorWorker
    from ._latch import Latch as Latch
    from ._main_thread import ensure_main_thread as ensure_main_thread
    from ._main_thread import ensure_object_thread as ensure_object_thread
    from ._main_thread import run_in_main_thread as run_in_main_thread
    from ._progress import ProgressBar as ProgressBar
    from ._progress import TerminalProgress as TerminalProgress
    from ._progress import progress as progress
    from ._qthread_worker import new_worker_qthread as new_worker_qthread
    from ._scope import configure as configure
    from ._signal import Signal as Signal
    from ._signal import SignalInstance as SignalInstance
    from ._worker import WorkerBase as WorkerBase
    from ._worker_signals import GeneratorWorkerSignals as GeneratorWorkerSignals
    from ._worker_signals import WorkerBaseSignals as WorkerBaseSignals
else:
    import importlib as _importlib

    def __getattr__(name: str) -> object:
        """Load a public name on first use (only in a worker process)."""
        module = _PUBLIC_MODULES.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(_importlib.import_module(module, __name__), name)
        globals()[name] = value
        return value


#: Where each public name lives (the lazy path above; a test checks it matches).
_PUBLIC_MODULES = {
    "FunctionWorker": "._function_worker",
    "GeneratorWorker": "._generator_worker",
    "GeneratorWorkerSignals": "._worker_signals",
    "Latch": "._latch",
    "ProgressBar": "._progress",
    "Signal": "._signal",
    "SignalInstance": "._signal",
    "TerminalProgress": "._progress",
    "WorkerAborted": "._exceptions",
    "WorkerBase": "._worker",
    "WorkerBaseSignals": "._worker_signals",
    "WorkerFinishedError": "._exceptions",
    "WorkerProcessDied": "._exceptions",
    "WorkerTimeout": "._exceptions",
    "as_generator_function": "._factory",
    "configure": "._scope",
    "create_worker": "._factory",
    "current_worker": "._current",
    "ensure_main_thread": "._main_thread",
    "ensure_object_thread": "._main_thread",
    "new_worker_qthread": "._qthread_worker",
    "progress": "._progress",
    "run_in_main_thread": "._main_thread",
    "thread_worker": "._factory",
}

__version__ = "0.3.0"

__all__ = (
    "FunctionWorker",
    "GeneratorWorker",
    "GeneratorWorkerSignals",
    "Latch",
    "ProgressBar",
    "Signal",
    "SignalInstance",
    "TerminalProgress",
    "WorkerAborted",
    "WorkerBase",
    "WorkerBaseSignals",
    "WorkerFinishedError",
    "WorkerProcessDied",
    "WorkerTimeout",
    "as_generator_function",
    "configure",
    "create_worker",
    "current_worker",
    "ensure_main_thread",
    "ensure_object_thread",
    "new_worker_qthread",
    "progress",
    "run_in_main_thread",
    "thread_worker",
)
