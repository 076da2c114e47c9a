"""threadworker: asyncio-native thread workers with the superqt/napari API.

Run blocking functions and generators in threads without freezing an event
loop or a Qt GUI. Every signal is both a callback hook and an awaitable::

    @thread_worker
    def average(n):
        ...
        yield partial
        return total

    async for partial in average(1024): ...
"""

from ._current import current_worker as current_worker
from ._exceptions import WorkerAborted as WorkerAborted
from ._exceptions import WorkerFinishedError as WorkerFinishedError
from ._exceptions import WorkerProcessDied as WorkerProcessDied
from ._exceptions import WorkerTimeout as WorkerTimeout
from ._factory import as_generator_function as as_generator_function
from ._factory import create_worker as create_worker
from ._factory import thread_worker as thread_worker
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
from ._worker import FunctionWorker as FunctionWorker
from ._worker import WorkerBase as WorkerBase
from ._worker_signals import GeneratorWorkerSignals as GeneratorWorkerSignals
from ._worker_signals import WorkerBaseSignals as WorkerBaseSignals

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
