"""threadworker's own worker processes, for ``executor="process"``.

Why not ``ProcessPoolExecutor``: it cannot talk to a running task (no
streamed yields, no send/pause/resume/quit), and killing one of its processes
breaks the whole pool (``BrokenProcessPool``). Here each process serves one
job at a time over its own duplex pipe, so a job can be steered while it
runs, and a job that will not stop can be ended by killing its process alone;
the pool starts a fresh process for the next job.

Each process has a *courier* thread on this side (``_worker_process``): it
pickles the job (``_process_job``; so a large argument never stalls the home
thread), sends it, then receives the job's batches and hands them to the
worker. The child side is ``_process_child``.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.util
import os
import threading
import time
from collections import deque
from typing import Any

from . import _shared_memory as shm
from ._portable_error import RemoteTraceback as RemoteTraceback
from ._portable_error import cannot_pickle_call as cannot_pickle_call
from ._portable_error import rebuild_error as rebuild_error
from ._process_job import ProcessJob as ProcessJob
from ._sizes import DEFAULT_MAX_BYTES_IN_FLIGHT
from ._worker_process import _WorkerProcess
from ._worker_process import describe_exit as describe_exit

__all__ = ["ProcessJob", "ProcessPool", "RemoteTraceback", "describe_exit", "rebuild_error"]


def default_context() -> Any:
    """``forkserver`` where there is one (fast, and safe with threads), else ``spawn``.

    Never ``fork``: the parent has threads (Qt's, the loop's, workers'), and a
    forked child inherits their locks in whatever state they were.
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class ProcessPool:
    """Up to *max_processes* worker processes, started on demand and reused."""

    def __init__(self, max_processes: int, context: Any = None) -> None:
        if max_processes < 1:
            raise ValueError(f"max_processes must be at least 1, not {max_processes}")
        self.max_processes = max_processes
        self._context = context if context is not None else default_context()
        self._lock = threading.Lock()
        self._processes: list[_WorkerProcess] = []
        self._idle: list[_WorkerProcess] = []
        self._pending: deque[ProcessJob] = deque()
        self._stopped = False
        self._exit_guard: Any = None  # kills the processes at exit if stop() never ran
        #: ``(max_bytes_in_flight, shared memory threshold or None, this pid)`` for new jobs.
        self.transport: tuple[int, int | None, int] = (
            DEFAULT_MAX_BYTES_IN_FLIGHT,
            shm.THRESHOLD,
            os.getpid(),
        )

    def submit(self, job: ProcessJob) -> None:
        """Run *job* in a free process, or queue it until one is free."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("cannot submit work: the worker processes have been shut down")
            job._pool = self
            if self._idle:
                self._idle.pop().jobs.put(job)
            elif len(self._processes) < self.max_processes:
                self._start_process().jobs.put(job)
            else:
                self._pending.append(job)

    def _start_process(self) -> _WorkerProcess:
        if self._exit_guard is None:
            # multiprocessing joins non-daemon processes at exit, and a worker
            # process ignores Ctrl+C: an exit that skipped stop() (a second
            # Ctrl+C during shutdown, an error) would wait on them for ever.
            # Its finalizers with a priority run before that join.
            self._exit_guard = multiprocessing.util.Finalize(None, self.kill_all, exitpriority=100)
        process = _WorkerProcess(self, self._context)
        self._processes.append(process)
        return process

    def kill_all(self) -> None:
        """Kill every worker process, and what they started, now.

        Whatever interrupts it (another Ctrl+C), every process is killed.
        """
        with self._lock:
            # A process whose courier ended has exited (its courier saw to that).
            processes = [p for p in self._processes if p.thread.is_alive()]
        interrupted: BaseException | None = None
        for process in processes:
            while True:
                try:
                    process.kill()
                    break
                except BaseException as exc:  # KeyboardInterrupt: kill it still
                    interrupted = exc
        if interrupted is not None:
            raise interrupted

    def forget(self, job: ProcessJob) -> None:
        """Drop a cancelled job from the queue."""
        with self._lock:
            try:
                self._pending.remove(job)
            except ValueError:
                pass  # already handed to a process, whose courier skips it

    def _ready(self, process: _WorkerProcess) -> None:
        """*process* finished a job: give it the next one, or mark it idle."""
        with self._lock:
            if self._pending and not self._stopped:
                process.jobs.put(self._pending.popleft())
            else:
                self._idle.append(process)

    def _requeue(self, job: ProcessJob) -> None:
        with self._lock:
            self._pending.appendleft(job)

    def _ended(self, process: _WorkerProcess) -> None:
        """*process* is gone: replace it if jobs are waiting."""
        with self._lock:
            if process in self._processes:
                self._processes.remove(process)
            if process in self._idle:
                self._idle.remove(process)
            if self._pending and not self._stopped:
                self._start_process().jobs.put(self._pending.popleft())

    def processes(self) -> list[Any]:
        """The ``multiprocessing.Process`` objects alive now (for tests and stats)."""
        with self._lock:
            return [p.process for p in self._processes if p.process is not None]

    def threads(self) -> list[threading.Thread]:
        """The threads serving those processes (they end with their process)."""
        with self._lock:
            pooled = list(self._processes)
        return [t for p in pooled for t in (p.thread, p._sender) if t is not None]

    def stop(self, timeout: float) -> None:
        """Let running jobs end for *timeout* seconds, then kill their processes.

        Queued jobs are cancelled (their workers end ``aborted``). Returns when
        every process has exited and every courier thread has ended.
        """
        with self._lock:
            self._stopped = True
            pending = list(self._pending)
            processes = list(self._processes)
        try:
            for job in pending:
                job._cancel()
            for process in processes:
                process.jobs.put(None)
            deadline = time.monotonic() + timeout
            for process in processes:
                process.thread.join(max(0.0, deadline - time.monotonic()))
        finally:
            # Also when interrupted (a second Ctrl+C): no process outlives stop().
            self.kill_all()
            for process in processes:
                process.thread.join()
            if self._exit_guard is not None:
                self._exit_guard.cancel()
