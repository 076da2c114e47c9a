"""threadworker's pytest plugin: leak checks, synchronous workers, ``wait_worker``.

Registered through the ``pytest11`` entry point (or loaded with
``pytest -p threadworker.testing`` where plugins are not auto-loaded). It
changes nothing by itself: a test opts in by requesting a fixture or the
marker.

- ``no_worker_leaks`` (fixture): fail the test if a worker it started is
  still running, or a worker thread or process it started is still alive,
  once the test is over (after a grace period for threads that are
  returning: the ``threadworker_leak_grace`` ini option, 5 s by default).
- ``sync_workers`` (fixture), ``@pytest.mark.threadworker_sync`` (marker):
  every worker started during the test runs at once, on the test's thread,
  as :meth:`~threadworker.WorkerBase.work` runs it (superqt's ``work()``):
  signals are emitted before ``start()`` returns. Deterministic; no loop
  or application needed. ``timeout=``, ``exclusive=``, ``debounce=`` and
  ``executor=`` do not apply there: the work runs to its end, in order.
- :func:`wait_worker`: in a synchronous test, start a worker (if needed),
  run its home until it finishes, and return its result.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

# Auto-loaded into every pytest run where threadworker is installed: the
# library itself is imported only when a test asks for it.
if TYPE_CHECKING:
    from ._scope import WorkerScope
    from ._worker import WorkerBase

__all__ = ["no_worker_leaks", "sync_workers", "wait_worker"]

R = TypeVar("R")

_SYNC_MARKER = "threadworker_sync"
_GRACE_INI = "threadworker_leak_grace"
#: Threads that are the pools' own and stay while their home lives.
_POOL_THREADS = ("threadworker-idle",)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the ``threadworker_leak_grace`` ini option."""
    parser.addini(
        _GRACE_INI,
        "seconds no_worker_leaks waits for worker threads and processes to end",
        default="5",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``threadworker_sync`` marker."""
    config.addinivalue_line(
        "markers",
        f"{_SYNC_MARKER}: run threadworker workers synchronously on the test's thread",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give tests marked ``threadworker_sync`` the ``sync_workers`` fixture."""
    for item in items:
        if item.get_closest_marker(_SYNC_MARKER) is None:
            continue
        names = getattr(item, "fixturenames", None)
        if isinstance(names, list) and "sync_workers" not in names:
            names.insert(0, "sync_workers")


# -- synchronous workers -------------------------------------------------------------------
@pytest.fixture
def sync_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every worker started in the test at once, on the test's thread."""
    from ._worker import WorkerBase

    original = WorkerBase._start

    def start_here(self: WorkerBase[Any], *, required: bool) -> None:
        if self._state != "created":  # started, or finished: what start() says then
            original(self, required=required)
            return
        self.work()

    monkeypatch.setattr(WorkerBase, "_start", start_here)


# -- leak check ------------------------------------------------------------------------------
@pytest.fixture
def no_worker_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if workers, worker threads or worker processes outlive it."""
    threads_before = set(_worker_threads())
    processes_before = set(_worker_processes())
    yield
    grace = float(request.config.getini(_GRACE_INI))
    deadline = time.monotonic() + grace
    running = [w for scope in _open_scopes() for w in scope.active_workers()]
    for worker in running:
        worker._thread_done.wait(max(0.0, deadline - time.monotonic()))
    # A pooled process's courier and sender threads live as long as it does.
    pooled_threads = {t for scope in _open_scopes() for t in _pooled_threads(scope)}
    for thread in _worker_threads():
        if thread not in threads_before and thread not in pooled_threads:
            thread.join(max(0.0, deadline - time.monotonic()))
    pooled = {id(p) for scope in _open_scopes() for p in _pooled_processes(scope)}
    for process in _worker_processes():
        if process not in processes_before and id(process) not in pooled:
            process.join(max(0.0, deadline - time.monotonic()))
    leaked: list[object] = [w for w in running if not w._thread_done.is_set()]
    leaked += [t for t in _worker_threads() if t not in threads_before and t not in pooled_threads]
    leaked += [p for p in _worker_processes() if p not in processes_before and id(p) not in pooled]
    if leaked:
        pytest.fail(
            f"workers outlived the test (after {grace:g} s of grace): {leaked}; "
            "quit them (worker.quit(), async with worker) or await them before the test ends",
            pytrace=False,
        )


def _worker_threads() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith("threadworker-") and t.name not in _POOL_THREADS and t.is_alive()
    ]


def _worker_processes() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "threadworker-process"]


def _open_scopes() -> list[WorkerScope]:
    from . import _scope

    with _scope._scopes_lock:
        return [s for s in _scope._scopes.values() if not s.closed]


def _pooled_processes(scope: WorkerScope) -> list[Any]:
    """The idle-or-busy processes of an open home's pool: they end with their home."""
    pool = scope._process_pool
    return [] if pool is None else pool.processes()


def _pooled_threads(scope: WorkerScope) -> list[threading.Thread]:
    pool = scope._process_pool
    return [] if pool is None else pool.threads()


# -- wait_worker -------------------------------------------------------------------------------
def wait_worker(worker: WorkerBase[R], timeout: float) -> R:
    """Start *worker* if needed, run its home until it finishes, return its result.

    For synchronous tests. The home is the one the worker was started from
    (a Qt application whose events are processed meanwhile, or an asyncio
    loop that is not running, which is run); a worker not started yet starts
    on the QApplication if there is one, else on a fresh asyncio loop,
    closed before returning. A home running in another thread is waited for.

    Parameters
    ----------
    worker : WorkerBase
        The worker to wait for.
    timeout : float
        Seconds to wait at most.

    Returns
    -------
    object
        The worker's return value.

    Raises
    ------
    TimeoutError
        If the worker has not finished within *timeout* (it keeps running).
    WorkerAborted
        If the worker was quit.
    Exception
        The worker's own exception, if it raised.
    """
    from ._scope import current_scope

    future = worker.future  # its holder receives the error: not reported as unhandled
    if worker._state == "created":
        try:
            current_scope()
        except RuntimeError:  # no home here: a loop of our own, for this worker only
            return _run_on_a_fresh_loop(worker, timeout)
        worker.start()
    dispatcher = worker._dispatcher
    if dispatcher is not None and dispatcher.in_home_thread():
        if type(dispatcher).__name__ == "QtDispatcher":
            _process_qt_events_until_finished(worker, timeout)
        else:
            loop: asyncio.AbstractEventLoop = getattr(dispatcher, "loop")  # noqa: B009
            if loop.is_running():
                raise RuntimeError(
                    "wait_worker() blocks: in a coroutine, use `await worker` instead"
                )
            try:
                loop.run_until_complete(asyncio.wait_for(_finished(worker), timeout))
            except TimeoutError:
                pass  # reported below, as for the other homes
    else:
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        done.wait(timeout)
    return _outcome(worker, timeout)


async def _finished(worker: WorkerBase[Any]) -> None:
    if worker._state != "finished":
        await worker.finished


def _run_on_a_fresh_loop(worker: WorkerBase[R], timeout: float) -> R:
    async def run() -> bool:
        worker.start()
        try:
            await asyncio.wait_for(_finished(worker), timeout)
        except TimeoutError:
            return False
        return True

    if not asyncio.run(run()):  # closing the loop quit the worker
        raise TimeoutError(
            f"{worker._signal_owner_name()} did not finish within {timeout:g} s "
            "(it was quit as wait_worker's own event loop closed)"
        )
    return _outcome(worker, timeout)


def _process_qt_events_until_finished(worker: WorkerBase[Any], timeout: float) -> None:
    from qtpy.QtCore import QEventLoop, QTimer

    if worker._state == "finished":
        return
    loop = QEventLoop()
    # A timer of our own, stopped on the way out: a pending single shot would
    # fire into this loop long after it is gone.
    limit = QTimer()
    limit.setSingleShot(True)
    limit.timeout.connect(loop.quit)
    worker.finished.connect(loop.quit)
    limit.start(max(0, round(timeout * 1000)))
    try:
        if worker._state != "finished":
            loop.exec()
    finally:
        limit.stop()
        worker.finished.disconnect(loop.quit)


def _outcome(worker: WorkerBase[R], timeout: float) -> R:
    fired = worker._fired
    if "returned" in fired:
        return fired["returned"]  # type: ignore[no-any-return]
    if "errored" in fired:
        raise fired["errored"]
    if "aborted" in fired:
        from ._exceptions import WorkerAborted

        raise WorkerAborted(f"{worker._signal_owner_name()} was quit before it returned")
    raise TimeoutError(f"{worker._signal_owner_name()} did not finish within {timeout:g} s")
