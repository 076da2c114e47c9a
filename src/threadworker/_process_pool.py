"""threadworker's own worker processes, for ``executor="process"``.

Why not ``ProcessPoolExecutor``: it cannot talk to a running task (no
streamed yields, no send/pause/resume/quit), and killing one of its processes
breaks the whole pool (``BrokenProcessPool``). Here each process serves one
job at a time over its own duplex pipe, so a job can be steered while it
runs, and a job that will not stop can be ended by killing its process alone;
the pool starts a fresh process for the next job.

Each process has a *courier* thread on this side: it pickles the job (so a
large argument never stalls the home thread), sends it, then receives the
job's batches and hands them to the worker. The child side is
``_process_child``.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.util
import os
import pickle
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from queue import SimpleQueue
from typing import Any, Literal

from . import _shared_memory as shm
from ._pipe_reader import MessageReader, watches_process
from ._process_child import READY_IN_OWN_GROUP, PortableError, serve
from ._salvage import salvage_batch
from ._sizes import DEFAULT_MAX_BYTES_IN_FLIGHT
from ._stepper import OUTCOMES, Event

__all__ = ["ProcessJob", "ProcessPool", "RemoteTraceback", "describe_exit", "rebuild_error"]

JobKind = Literal["function", "generator"]

#: Seconds a new worker process may take to import what it needs.
START_TIMEOUT = 60.0
MAIN_GUARD_HINT = (
    "A worker process imports the program's main module: code there that runs at "
    "import (a window, a loop, more workers) must sit under "
    'if __name__ == "__main__":'
)
_QUEUED, _RUNNING, _DONE = "queued", "running", "done"
_job_ids = itertools.count(1)
_process_numbers = itertools.count(1)


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, as text.

    Set as the ``__cause__`` of the exception the worker emits, as
    ``concurrent.futures`` does, so printing the exception shows where in the
    other process it was raised.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text.rstrip()}\n"""'


def rebuild_error(error: PortableError | BaseException) -> BaseException:
    """The exception a worker process sent, with its remote traceback attached."""
    if isinstance(error, BaseException):
        return error
    exc: BaseException | None = None
    if error.pickled is not None:
        try:
            exc = pickle.loads(error.pickled)
        except BaseException:  # even SystemExit from a broken __setstate__
            exc = None
    if not isinstance(exc, BaseException):
        # Its class cannot be rebuilt here: keep what it said.
        exc = RuntimeError(f"{error.type_name}: {error.message}")
    exc.__cause__ = RemoteTraceback(error.traceback)
    return exc


def describe_exit(exitcode: int | None) -> str:
    """Say how a process ended, naming the signal that killed it."""
    if exitcode is None:
        return "with no exit status"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"with exit code {exitcode}"


#: Called on a courier thread with the items of a job, in order.
ItemsCallback = Callable[[list[Any]], None]
#: Called on a courier thread with the exit code when the process ended before
#: the job's outcome.
LostCallback = Callable[[int | None], None]


class ProcessJob:
    """The home side of one job in a worker process.

    Requests (:meth:`control`) made before the job reaches its process are
    kept and sent right after it, in order. :meth:`quit` asks the job to stop
    and, if it has not ended *grace* seconds later, kills its process.
    """

    def __init__(
        self,
        kind: JobKind,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        on_items: ItemsCallback,
        on_lost: LostCallback,
    ) -> None:
        self.id = next(_job_ids)
        self.kind = kind
        self.call: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]] | None = (
            func,
            args,
            kwargs,
        )
        self._on_items = on_items
        self._on_lost = on_lost
        self._lock = threading.Lock()
        self._state = _QUEUED
        self._process: _WorkerProcess | None = None
        self._sent = False  # the job reached its process: requests go straight there
        self._held: list[tuple[str, Any]] = []
        self._kill_timer: threading.Timer | None = None
        self._failure: BaseException | None = None
        self._pool: ProcessPool | None = None
        self._kept: list[Any] = []  # arguments and sends in shared memory, until the end

    # -- requests (any thread) -------------------------------------------------------------
    def control(self, op: str, payload: Any = None) -> None:
        """Send a request to the job, or hold it until the job reaches its process."""
        with self._lock:
            if self._state == _DONE:
                return
            if op == "send":  # its shared memory lives as long as the job
                self._kept.append(payload[1])
            if not self._sent:
                self._held.append((op, payload))
                return
            assert self._process is not None
            self._process.send((op, self.id, payload))

    def quit(self, grace: float) -> None:
        """Ask the job to stop; kill its process if it still runs *grace* s later.

        A job still waiting for a process never runs: it ends ``aborted``.
        """
        if self._cancel():
            return
        self.control("quit")
        with self._lock:
            if self._state != _RUNNING or self._kill_timer is not None:
                return
            timer = threading.Timer(grace, self.kill)
            timer.name = "threadworker-quit-timer"
            timer.daemon = True
            self._kill_timer = timer
        timer.start()

    def kill(self) -> None:
        """Kill the job's process now, if the job is still running there."""
        with self._lock:
            # Under the lock: once the job is done its process may already
            # serve the next job, which must not be killed.
            if self._state == _RUNNING and self._process is not None:
                self._process.kill()

    def _cancel(self) -> bool:
        with self._lock:
            if self._state != _QUEUED:
                return False
            self._state = _DONE
            self.call = None
            kept, self._kept = self._kept, []
        shm.release(kept)
        if self._pool is not None:
            self._pool.forget(self)
        self._on_items([Event("aborted")])
        return True

    # -- the courier's side -------------------------------------------------------------------
    def begin(self, process: _WorkerProcess) -> bool:
        """Claim the job for *process*; False if it was cancelled meanwhile."""
        with self._lock:
            if self._state != _QUEUED:
                return False
            self._state = _RUNNING
            self._process = process
            return True

    def take_held(self) -> list[tuple[str, Any]]:
        """The requests held so far: they travel with the job itself.

        In the worker process they take effect before the job's first step,
        so a pause requested before ``start()`` holds the generator at once.
        """
        with self._lock:
            held, self._held = self._held, []
            return held

    def release_held(self) -> None:
        """The job reached its process: send the requests held until now."""
        with self._lock:
            self._sent = True
            held, self._held = self._held, []
            assert self._process is not None
            for op, payload in held:
                self._process.send((op, self.id, payload))

    def return_to_queue(self) -> None:
        """Its process died before taking the job: it may run elsewhere."""
        with self._lock:
            self._state = _QUEUED
            self._process = None

    def deliver(self, items: list[Any]) -> bool:
        """Hand a batch to the worker; True when it held the job's outcome."""
        last = items[-1] if items else None
        done = type(last) is Event and last.kind in OUTCOMES
        if self._failure is not None:
            items = [Event("errored", self._failure)] if done else []
        if done:
            self._end()
        if items:
            self._on_items(items)
        return done

    def deliver_salvaged(self, items: list[Any], failure: BaseException) -> bool:
        """Deliver *items*, then fail the job: a value after them could not be read.

        The outcome, if the batch ended with one, becomes ``errored``.
        """
        last = items[-1] if items else None
        done = type(last) is Event and last.kind in OUTCOMES
        values = items[:-1] if done else items
        if values and self._failure is None:
            self._on_items(values)
        self.fail(failure)
        return self.deliver([last] if done else [])

    def fail(self, exc: BaseException) -> None:
        """End the job in error: a batch it sent cannot be read here."""
        if self._failure is None:
            self._failure = exc
            self.control("quit")

    def lost(self, exitcode: int | None) -> None:
        """The process ended before the job's outcome."""
        if self._failure is not None:  # it was killed because the job had failed
            self.deliver([Event("errored", self._failure)])
            return
        self._end()
        self._on_lost(exitcode)

    def crash(self, exc: BaseException) -> None:
        """End the job in error: its courier failed (a bug in threadworker)."""
        with self._lock:
            if self._state == _DONE:
                return
        error = RuntimeError(f"threadworker lost track of the worker process: {exc!r}")
        error.__cause__ = exc
        self._end()
        self._on_items([Event("errored", error)])

    def keep(self, value: Any) -> None:
        """Hold *value*'s shared memory until the job ends (see ``_shared_memory``)."""
        with self._lock:
            self._kept.append(value)

    def _end(self) -> None:
        with self._lock:
            self._state = _DONE
            self.call = None
            timer, self._kill_timer = self._kill_timer, None
            kept, self._kept = self._kept, []
        if timer is not None:
            timer.cancel()
        shm.release(kept)


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


class _WorkerProcess:
    """One worker process and the courier thread that talks to it."""

    def __init__(self, pool: ProcessPool, context: Any) -> None:
        self._pool = pool
        self._context = context
        self.jobs: SimpleQueue[ProcessJob | None] = SimpleQueue()
        self.process: Any = None
        self._conn: Connection | None = None
        self._reader: MessageReader | None = None
        self._own_group = False  # the process leads a process group of its own
        self._send_lock = threading.Lock()  # one message on the pipe at a time
        # Requests go out from a thread of their own: a process that does not
        # read (its job holds the GIL) must not stall the thread asking.
        self._outgoing: SimpleQueue[tuple[str, int, Any] | None] = SimpleQueue()
        self._sender: threading.Thread | None = None
        self._sender_lock = threading.Lock()
        self._sender_stopped = False
        number = next(_process_numbers)
        self.thread = threading.Thread(
            target=self._serve, name=f"threadworker-process-{number}", daemon=True
        )
        self.thread.start()

    def send(self, message: tuple[str, int, Any]) -> None:
        """Queue a message for the process, in order; never waits (any thread)."""
        with self._sender_lock:
            if self._sender_stopped:
                return  # the process has ended: nobody would read it
            if self._sender is None:
                self._sender = threading.Thread(
                    target=self._send_queued, name=f"{self.thread.name}-sender", daemon=True
                )
                self._sender.start()
        self._outgoing.put(message)

    def _send_queued(self) -> None:
        while (message := self._outgoing.get()) is not None:
            with self._send_lock:
                assert self._conn is not None
                try:
                    self._conn.send(message)
                except OSError:
                    pass  # it died; its courier reports that to the job

    def _stop_sender(self) -> None:
        """Let the queued messages go, unless the process no longer reads them."""
        with self._sender_lock:
            sender, self._sender = self._sender, None
            self._sender_stopped = True
        if sender is None:
            return
        self._outgoing.put(None)
        sender.join(1.0)
        if sender.is_alive() and self._conn is not None and watches_process:
            # Blocked on a pipe nobody reads: shutting it down wakes it.
            with socket.socket(fileno=os.dup(self._conn.fileno())) as pipe:
                try:
                    pipe.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            sender.join()

    def kill(self) -> None:
        """Kill the process and what it started (its courier reports the job lost)."""
        if self.process is not None:
            self._kill_group()
            self.process.kill()

    def _kill_group(self) -> None:
        """Kill the process's group: the processes its jobs started, left behind or not.

        The group's id is the process's pid, which cannot be given to another
        process while anything in the group lives.
        """
        if self._own_group and self.process.pid is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass  # nothing left in it

    def _serve(self) -> None:
        try:
            self._start()
        except BaseException as exc:  # could not start a process at all
            self._fail_next_job(exc)
            self._pool._ended(self)
            return
        try:
            while (job := self.jobs.get()) is not None:
                try:
                    served = self._run(job)
                except BaseException as exc:
                    # A bug here must not leave the worker waiting for ever: the
                    # job ends in error and its process is ended.
                    self.kill()
                    job.crash(exc)
                    break
                if not served:
                    break
                del job  # nothing of a finished job stays alive here
            else:
                self.send(("exit", 0, None))
        finally:
            self._close()
            self._pool._ended(self)

    def _start(self) -> None:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=serve, args=(child_end,), name="threadworker-process", daemon=False
        )
        process.start()
        child_end.close()  # so the child's death reads as end-of-file here
        self._conn = parent_end
        self.process = process
        # The process says when it serves: one that dies or hangs while it
        # imports the program's main module is reported, never waited on.
        if not parent_end.poll(START_TIMEOUT):
            process.kill()
            raise RuntimeError(
                f"the worker process did not start within {START_TIMEOUT:g} s. {MAIN_GUARD_HINT}"
            )
        try:
            self._own_group = parent_end.recv_bytes() == READY_IN_OWN_GROUP
        except EOFError:
            process.join(1.0)
            raise RuntimeError(
                f"the worker process exited as it started, {describe_exit(process.exitcode)}; "
                f"its traceback, if any, is above. {MAIN_GUARD_HINT}"
            ) from None
        if watches_process:
            self._reader = MessageReader(parent_end, process.sentinel)

    def _fail_next_job(self, exc: BaseException) -> None:
        job = self.jobs.get()
        if job is not None and job.begin(self):
            error = RuntimeError(f"could not start a worker process: {exc}")
            error.__cause__ = exc
            job.deliver([Event("errored", error)])

    def _run(self, job: ProcessJob) -> bool:
        """Run one job; False if the process died."""
        if not job.begin(self):  # quit while it waited
            self._pool._ready(self)
            return True
        call = job.call
        assert call is not None
        assert self._conn is not None
        transport = self._pool.transport
        try:  # big arguments into shared memory (_shared_memory)
            payload = shm.pickled((job.kind, *call), threshold=transport[1])
        except Exception as exc:
            job.deliver([Event("errored", cannot_pickle_call(call[0], exc))])
            self._pool._ready(self)
            return True
        job.keep(payload)
        try:
            with self._send_lock:
                requests = [("transport", transport), *job.take_held()]
                self._conn.send(("run", job.id, (payload, requests)))
        except OSError:  # died while idle: the job is not lost, it waits for another
            job.return_to_queue()
            self._pool._requeue(job)
            return False
        del payload, call
        job.release_held()
        # Watching the process too, not just the pipe: processes the job
        # started may hold the pipe open after the worker process died.
        reader = self._reader or self._conn
        outgoing = self._outgoing  # lent segments go back to the process (_segment_ring)
        shm.returning_to(lambda name: outgoing.put(("free", 0, name)))
        while True:
            self._acknowledge()
            try:
                data = reader.recv_bytes()
            except (EOFError, OSError):
                self._kill_group()
                self.process.join(1.0)
                job.lost(self.process.exitcode)
                return False
            try:
                job_id, items = pickle.loads(data)
            except BaseException as exc:  # this thread never sees Ctrl+C: only the data's
                job_id, items, failure = self._salvage(job, data, exc)
                if failure is not None and job_id == job.id:
                    if job.deliver_salvaged(items, failure):
                        break
                    continue
            if job_id == job.id and job.deliver(items):
                break
        self._acknowledge()
        self._pool._ready(self)
        return True

    def _acknowledge(self) -> None:
        """Tell the process the shared bytes handed on since last time (_byte_budget)."""
        nbytes = shm.take_received_bytes()
        if nbytes:
            self.send(("ack", 0, nbytes))

    def _salvage(
        self, job: ProcessJob, data: bytes | bytearray, exc: BaseException
    ) -> tuple[int, list[Any], TypeError | None]:
        """Read a batch that does not unpickle whole, item by item."""
        try:
            return salvage_batch(data)
        except BaseException:
            # Not even that: the batch may have held the job's outcome, which
            # must not be waited for. The job fails and its process is ended.
            error = TypeError(f"a batch sent by the worker process cannot be unpickled: {exc}")
            error.__cause__ = exc
            job.fail(error)
            job.kill()
            return job.id, [], None

    def _close(self) -> None:
        self._stop_sender()
        if self._reader is not None:
            self._reader.close()
        if self._conn is not None:
            self._conn.close()
        if self.process is not None:
            self.process.join(5.0)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
            self._kill_group()  # whatever its jobs left running
            shm.sweep(os.getpid(), self.process.pid)  # what it made and nobody took


def cannot_pickle_call(func: Callable[..., Any], exc: BaseException) -> TypeError:
    """The error for a job whose function or arguments cannot be pickled."""
    name = getattr(func, "__qualname__", None) or repr(func)
    error = TypeError(
        f"cannot run {name} in a worker process: its function or arguments cannot be "
        f"pickled ({exc}). Everything sent to a process is pickled: use functions "
        "defined at module level (not lambdas or nested functions) and picklable "
        "arguments (not open files, locks, sockets or Qt objects)."
    )
    error.__cause__ = exc
    return error
