"""One worker process and the *courier* thread on this side that talks to it.

The courier starts the process, then serves the jobs its pool gives it, one
at a time: it sends each job, receives its batches for the worker, and
reports a job lost when the process dies. Requests for a running job go out
from a sender thread of their own. A process is killed together with its
process group, so nothing its jobs started is left behind.
"""

from __future__ import annotations

import itertools
import os
import pickle
import signal
import socket
import threading
from multiprocessing.connection import Connection
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any

from . import _shared_memory as shm
from ._pipe_reader import MessageReader, watches_process
from ._portable_error import cannot_pickle_call
from ._process_child import READY_IN_OWN_GROUP, serve
from ._process_job import ProcessJob
from ._salvage import salvage_batch
from ._stepper import Event

if TYPE_CHECKING:
    from ._process_pool import ProcessPool

__all__ = ["MAIN_GUARD_HINT", "START_TIMEOUT", "describe_exit"]


#: Seconds a new worker process may take to import what it needs.
START_TIMEOUT = 60.0


MAIN_GUARD_HINT = (
    "A worker process imports the program's main module: code there that runs at "
    "import (a window, a loop, more workers) must sit under "
    'if __name__ == "__main__":'
)


_process_numbers = itertools.count(1)


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
                sender = threading.Thread(
                    target=self._send_queued, name=f"{self.thread.name}-sender", daemon=True
                )
                try:
                    sender.start()
                except RuntimeError:
                    # The interpreter is shutting down (3.12+ starts no thread then),
                    # and an exiting home tells its processes to exit: send it here.
                    pass
                else:
                    self._sender = sender
            inline = self._sender is None
        if inline:
            self._send_now(message)
        else:
            self._outgoing.put(message)

    def _send_queued(self) -> None:
        while (message := self._outgoing.get()) is not None:
            self._send_now(message)

    def _send_now(self, message: tuple[str, int, Any]) -> None:
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
