"""The worker lifecycle shared by every worker, and the function worker.

Signal order, for every worker::

    started → (yielded | paused | resumed)* → returned | errored | aborted → finished

``finished`` is emitted from a ``finally``: it always fires, exactly once,
even when a callback raises. A worker quit before it started emits only
``aborted`` and ``finished``.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import threading
import types
import warnings
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, TypeVar

from ._current import current_worker_var
from ._dispatch import Dispatcher, report_exception
from ._exceptions import WorkerAborted, WorkerFinishedError, WorkerProcessDied
from ._executors import (
    IN_THREAD,
    Placement,
    check_picklable,
    portable_function,
    resolve_executor,
)
from ._latch import DoneFlag, Latch
from ._progress import ProgressBar
from ._scope import current_scope, scopes_on_this_thread
from ._signal import Signal, SignalInstance
from ._warnings import WarningArgs, install_warning_router

if TYPE_CHECKING:
    import concurrent.futures
    from types import TracebackType
    from typing import Self

    from ._process_pool import ProcessJob
    from ._scope import WorkerScope

__all__ = ["FunctionWorker", "WorkerBase"]

R = TypeVar("R")

_CREATED, _RUNNING, _FINISHED = "created", "running", "finished"
_OUTCOMES = ("returned", "errored", "aborted")


class WorkerBase(Generic[R]):
    """Run a callable in another thread and report back through signals.

    Every signal is a callback hook (``worker.returned.connect(show)``) and an
    awaitable event (``value = await worker.returned``); callbacks run on the
    thread of the loop (or Qt application) the worker was started from.

    Parameters
    ----------
    func : callable
        What to run.
    *args, **kwargs
        Passed to *func*.

    Raises
    ------
    TypeError
        If *func* is not callable, or is a coroutine or async generator
        function (those already run on the event loop: await them instead).
    """

    started: Signal[None] = Signal(once=True, doc="Emitted when the work starts.")
    finished: Signal[None] = Signal(once=True, doc="Emitted last, whatever the outcome.")
    returned: Signal[R] = Signal(
        nargs=1, once=True, doc="Emitted with the return value when the work returns."
    )
    errored: Signal[BaseException] = Signal(
        nargs=1, once=True, doc="Emitted with the exception when the work raises."
    )
    aborted: Signal[None] = Signal(
        once=True, doc="Emitted instead of ``returned`` when the worker was quit."
    )
    warned: Signal[WarningArgs] = Signal(
        nargs=1,
        doc="Emitted with ``showwarning``'s arguments for each warning the work raises.",
    )

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        _check_callable(func, type(self).__name__)
        self._func = func
        self._args = args
        self._kwargs = kwargs
        self._name = getattr(func, "__name__", None) or type(func).__name__
        self._state = _CREATED
        self._abort_requested = False
        self._ignore_errors = False
        self._scope: WorkerScope | None = None
        self._dispatcher: Dispatcher | None = None
        self._fired: dict[str, Any] = {}  # one-shot signal name → payload
        self._quit_latch: Latch[None] | None = None  # made by the first quit()
        self._signals: list[SignalInstance[Any]] = []  # those someone looked at
        self._pbar: ProgressBar | None = None
        #: Set when the work's thread is done with it (set at once if never run).
        self._thread_done = DoneFlag()
        self._placement: Placement = IN_THREAD
        self._remote_func: Callable[..., Any] = func
        self._job: ProcessJob | None = None  # with executor="process"
        self._abandoned = False  # its home shut down while it still ran

    _is_generator = False

    def _use_executor(self, spec: object) -> None:
        """Run in *spec* (an ``executor=`` value) instead of threadworker's threads.

        Raises
        ------
        RuntimeError
            If the worker already started.
        TypeError, ValueError
            For a bad *spec*, or a function that cannot be pickled to reach it.
        """
        if self._state != _CREATED:
            raise RuntimeError(
                f"{self._signal_owner_name()} already started: set its executor first"
            )
        placement = resolve_executor(spec, generator=self._is_generator, name=self._name)
        check_picklable(self._func, placement)
        self._placement = placement
        # What is sent to another process: findable there by name.
        self._remote_func = portable_function(self._func, placement)

    # -- public state ------------------------------------------------------------
    @property
    def is_running(self) -> bool:
        """Whether the worker has started and not yet finished."""
        return self._state == _RUNNING

    @property
    def abort_requested(self) -> bool:
        """Whether :meth:`quit` has been called; long functions can poll it."""
        return self._abort_requested

    @property
    def pbar(self) -> ProgressBar | None:
        """The progress model (``n``, ``total``, ``desc``), or None.

        Made by ``thread_worker(progress=...)``, or the first time the work
        reports through :func:`threadworker.progress`. It closes when the
        worker finishes, whatever the outcome.
        """
        return self._pbar

    def _ensure_pbar(self) -> ProgressBar:
        if self._pbar is None:
            self._pbar = ProgressBar(self)
        return self._pbar

    @property
    def signals(self) -> Self:
        """The worker itself: ``worker.signals.returned`` is ``worker.returned``.

        napari code reaches signals through this attribute.
        """
        return self

    def __repr__(self) -> str:
        return f"<{self._signal_owner_name()} {self._state} at {id(self):#x}>"

    # -- control -------------------------------------------------------------------
    def start(self) -> None:
        """Start the work in another thread.

        Callbacks run on the thread of the running asyncio loop; with no loop
        running, on the QApplication's thread; from inside another worker, on
        that worker's home.

        Raises
        ------
        RuntimeError
            If the worker was already started or has finished, or if there is
            no loop or application to deliver to.
        """
        if self._state != _CREATED:
            raise RuntimeError(
                f"{self._signal_owner_name()} was already "
                f"{'started' if self.is_running else 'run'}; "
                "a worker runs once: create a new one to run again"
            )
        scope = current_scope()
        scope.add(self)
        self._scope = scope
        self._dispatcher = scope.dispatcher
        self._state = _RUNNING
        install_warning_router()
        context = contextvars.copy_context()
        context.run(current_worker_var.set, self)
        if "started" in self.__dict__:
            # Posted, not emitted: callbacks connected right after start() see it.
            self._dispatcher.post(self._ensure_started)
        # Otherwise nobody listens yet: it is emitted when someone connects, or
        # just before the worker's first delivery (see _ensure_started).
        self._launch(context)

    def work(self) -> R | None:
        """Run the work synchronously in this thread, emitting signals directly.

        Returns the return value, or None if the work raised (the exception
        goes to ``errored``) or was aborted.

        Raises
        ------
        RuntimeError
            If the worker was already started or has finished.
        """
        if self._state != _CREATED:
            raise RuntimeError(f"{self._signal_owner_name()} was already started")
        self._state = _RUNNING
        install_warning_router()
        context = contextvars.copy_context()
        context.run(current_worker_var.set, self)
        self._fire("started")
        self._work_here(context)
        return self._fired.get("returned")

    def quit(self) -> Latch[None]:
        """Ask the worker to stop; returns an awaitable that completes when it finished.

        A generator worker stops at its next ``yield`` (closing the generator,
        so its ``finally`` blocks run) and emits ``aborted``. A function cannot
        be interrupted: it runs to its end but ``returned`` is not emitted
        (``aborted`` is); it can poll ``current_worker().abort_requested`` to
        return early. A worker that was never started finishes at once.

        Works as a Qt slot: ``button.clicked.connect(worker.quit)``. Not
        awaiting the result is fine.
        """
        if self._state == _CREATED:
            self._abort_requested = True
            self._thread_done.set()
            self._state = _RUNNING  # so _finish runs once
            self._finish("aborted", None)
        elif self._state == _RUNNING and not self._abort_requested:
            self._abort_requested = True
            self._request_abort()
        if self._quit_latch is None:
            self._quit_latch = Latch()
            if self._state == _FINISHED:
                self._quit_latch.set_result(None)
        return self._quit_latch

    @staticmethod
    def await_workers(msecs: int | None = None) -> None:
        """Ask every running worker of this thread's loop/app to quit, and wait.

        Waits at most *msecs* milliseconds (forever if None) for their threads
        to end. Their ``aborted``/``finished`` are delivered by the loop later.
        """
        timeout = None if msecs is None else msecs / 1000
        for scope in scopes_on_this_thread():
            scope.quit_and_wait(timeout)

    # -- the async face ---------------------------------------------------------------
    def __await__(self) -> Generator[Any, None, R]:
        """``await worker`` starts it if needed and returns its return value.

        Raises
        ------
        Exception
            The worker's own exception, if it raised.
        WorkerAborted
            If the worker was quit.
        """
        if self._state == _CREATED:
            self.start()
        return (yield from self.returned.__await__())

    async def __aenter__(self) -> Self:
        """Start the worker (if needed) for the ``async with`` block."""
        if self._state == _CREATED:
            self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Quit the worker and wait until it has finished.

        Runs on normal exit, on error and on cancellation; a cancelled block
        still waits for the worker (shielded), so no thread outlives it.
        """
        import asyncio

        await asyncio.shield(_wait_latch(self.quit()))

    # -- subclass hooks -------------------------------------------------------------------
    def _launch(self, context: contextvars.Context) -> None:
        raise NotImplementedError

    def _work_here(self, context: contextvars.Context) -> None:
        raise NotImplementedError

    def _request_abort(self) -> None:
        """Make the running work notice the abort request."""

    def _errors_handled(self) -> bool:
        """Whether an exception would reach someone other than the fallback.

        ``errored``'s callbacks and awaiters receive it; of ``returned``, only
        awaiters do (``await worker`` raises it) — a ``returned`` callback never
        sees an error, so it handles nothing.
        """
        errored = self.__dict__.get("errored")
        if errored is not None and errored.has_receivers():
            return True
        returned = self.__dict__.get("returned")
        return (
            returned is not None and returned._latch is not None and returned._latch.has_waiters()
        )

    # -- delivery (home thread) --------------------------------------------------------------
    def _fire(self, name: str, *args: Any) -> None:
        """Emit signal *name*, latching one-shot ones even if nobody looked yet."""
        signal = getattr(type(self), name)
        if signal.once:
            self._fired[name] = args[0] if args else None
        instance = self.__dict__.get(name)
        if instance is not None:
            instance._emit_here(args)

    def _ensure_started(self) -> None:
        """Emit ``started`` unless it was: every delivery calls this first."""
        if "started" not in self._fired:
            self._fire("started")

    def _finish(self, outcome: str, payload: Any) -> None:
        """Emit the outcome, then ``finished``; runs once, on the home thread."""
        if self._state == _FINISHED:
            return
        if self._dispatcher is not None:  # it ran: ``started`` comes first
            self._ensure_started()
        try:
            if outcome == "errored":
                handled = self._errors_handled()
                self._fire("errored", payload)
                if not handled and not self._ignore_errors:
                    self._report_exception(
                        payload, f"Unhandled exception in worker {self._signal_owner_name()}"
                    )
            elif outcome == "returned":
                self._fire("returned", payload)
            else:
                self._fire("aborted")
        finally:
            self._state = _FINISHED
            try:
                self._fire("finished")
            finally:
                for signal in self._signals:
                    self._settle(signal)
                self._finished_cleanup()
                if self._pbar is not None:
                    self._pbar.close()
                if self._quit_latch is not None:
                    self._quit_latch.set_result(None)
                if self._scope is not None:
                    self._scope.discard(self)

    def _finished_cleanup(self) -> None:
        """Fail pending control awaitables; subclasses extend."""

    def _abandon(self) -> None:
        """Its home shuts down without it (home thread): end it ``aborted`` now.

        The work may still be running, but nothing it does will be delivered:
        this is its last delivery, so a later ``await`` raises at once instead
        of waiting for ever.
        """
        self._abandoned = True
        self._finish("aborted", None)

    def _settle(self, signal: SignalInstance[Any]) -> None:
        """Bring a signal up to date with the worker's state."""
        name = signal.name
        if signal._latch is not None and name in self._fired:
            signal._latch.set_result(self._fired[name])
        if self._state != _FINISHED:
            return
        if signal._latch is not None and name in self._fired:
            signal._close(None)  # fired and latched: nothing will wait on it
            return
        outcome = next((o for o in _OUTCOMES if o in self._fired), "aborted")
        reason: BaseException
        if name == "returned" and outcome == "errored":
            reason = self._fired["errored"]
        elif name == "returned" and outcome == "aborted":
            reason = WorkerAborted(
                f"{self._signal_owner_name()} was quit before it returned"
                + (_ABANDONED_NOTE if self._abandoned else "")
            )
        else:
            reason = WorkerFinishedError(
                f"{self._signal_owner_name()} has finished ({outcome}): "
                f"{name!r} will not be emitted {'again' if name in self._fired else ''}".rstrip()
            )
        signal._close(reason)

    def _relay_progress(self, state: tuple[int, int, str]) -> None:
        """Mirror progress a worker process reported (its courier thread)."""
        bar = self._ensure_pbar()
        bar._explicit = True
        bar.n, bar.total, bar.desc = state
        bar._notify()

    def _new_process_job(self) -> ProcessJob:
        """The job that runs this worker in a worker process (``executor="process"``)."""
        from ._process_pool import ProcessJob

        return ProcessJob(
            "generator" if self._is_generator else "function",
            self._remote_func,
            self._args,
            self._kwargs,
            on_items=self._from_process,
            on_lost=self._on_process_lost,
        )

    def _from_process(self, items: list[Any]) -> None:
        """Take what the worker process sent (its courier thread)."""
        raise NotImplementedError

    def _on_process_lost(self, exitcode: int | None) -> None:
        """The worker process ended before the work did (its courier thread)."""
        raise NotImplementedError

    def _process_died(self, exitcode: int | None) -> tuple[str, Any]:
        """The outcome of a worker whose process ended before the work did."""
        from ._process_pool import describe_exit

        if self._abort_requested:
            return "aborted", None  # quit, then terminated: what quit asked for
        return "errored", WorkerProcessDied(
            f"the process running {self._signal_owner_name()} died "
            f"{describe_exit(exitcode)} before the work ended"
        )

    def _deliver_warning(self, args: WarningArgs) -> None:
        """Hand a warning raised in the work to the home thread."""
        if not self._post_to_home(self._emit_warning, args):
            self._emit_warning(args)

    def _emit_warning(self, args: WarningArgs) -> None:
        self._ensure_started()
        instance = self.__dict__.get("warned")
        if instance is not None and instance.has_receivers():
            instance._emit_here((args,))
        else:  # nobody listens: show it as if it were raised here
            warnings.showwarning(*args)

    # -- SignalOwner ------------------------------------------------------------------------
    def _post_to_home(self, fn: Callable[..., object], *args: object) -> bool:
        dispatcher = self._dispatcher
        if dispatcher is None or dispatcher.in_home_thread():
            return False
        dispatcher.post(fn, *args)
        return True

    def _report_exception(self, exc: BaseException, message: str) -> None:
        if self._dispatcher is not None and self._dispatcher.is_alive():
            self._dispatcher.report_exception(exc, message, {"worker": self})
        else:
            report_exception(exc, message, {"worker": self})

    def _signal_owner_name(self) -> str:
        return f"{type(self).__name__}[{self._name}]"

    def _signal_created(self, signal: SignalInstance[Any]) -> None:
        self._signals.append(signal)
        self._settle(signal)
        if (
            signal.name == "started"
            and self._state == _RUNNING
            and "started" not in self._fired
            and self._dispatcher is not None
        ):
            self._dispatcher.post(self._ensure_started)  # connected after start()


class FunctionWorker(WorkerBase[R]):
    """Run a plain function in a pool thread.

    The function runs on threadworker's own executor (as with
    ``loop.run_in_executor``); its return value arrives as ``returned`` (and
    ``await worker``) on the home thread.

    Raises
    ------
    TypeError
        If *func* is a generator function (use :class:`GeneratorWorker` or
        :func:`create_worker`).
    """

    def __init__(self, func: Callable[..., R], *args: Any, **kwargs: Any) -> None:
        if function_kind(func) == "generator":
            raise TypeError(
                f"{_name_of(func)} is a generator function: use GeneratorWorker, or "
                "create_worker/@thread_worker which pick the right worker class"
            )
        super().__init__(func, *args, **kwargs)
        self._future: concurrent.futures.Future[Any] | None = None

    def _launch(self, context: contextvars.Context) -> None:
        assert self._scope is not None
        assert self._dispatcher is not None
        placement = self._placement
        if placement.kind == "process":
            self._job = self._new_process_job()
            self._scope.process_pool.submit(self._job)
        elif placement.kind == "executor":
            assert placement.executor is not None
            # Keywords are bound here: an executor's submit() may take keywords
            # of its own (dask's take key=, workers=, ...).
            func = self._remote_func
            if self._kwargs:
                func = functools.partial(func, **self._kwargs)
            self._future = self._dispatcher.run_in_executor(
                placement.executor, func, self._on_done, *self._args
            )
            self._future.add_done_callback(lambda _: self._thread_done.set())
        else:
            self._future = self._dispatcher.run_in_executor(
                placement.executor or self._scope.pool,
                functools.partial(context.run, self._run_in_thread),
                self._on_done,
            )

    def _request_abort(self) -> None:
        if self._job is not None:
            assert self._scope is not None
            self._job.quit(self._scope.terminate_after)
            return
        # Still queued (or, with dask, remote): it never runs, or is cancelled there.
        future = self._future
        if future is not None and future.cancel():
            self._thread_done.set()

    def _from_process(self, items: list[Any]) -> None:
        """Items from the worker process (its courier thread)."""
        from ._process_pool import rebuild_error
        from ._stepper import OUTCOMES, Event

        for item in items:
            if type(item) is not Event:
                continue  # a function yields nothing
            kind, payload = item.kind, item.payload
            if kind == "progress":
                self._relay_progress(payload)
            elif kind == "warned":
                self._deliver_warning(payload)
            elif kind in OUTCOMES:
                if kind == "errored":
                    payload = rebuild_error(payload)
                elif kind == "returned" and self._abort_requested:
                    kind = "aborted"
                self._thread_done.set()
                self._post_outcome(kind, payload)

    def _on_process_lost(self, exitcode: int | None) -> None:
        self._thread_done.set()
        self._post_outcome(*self._process_died(exitcode))

    def _post_outcome(self, kind: str, payload: Any) -> None:
        assert self._dispatcher is not None
        self._dispatcher.post(self._finish, kind, payload)

    def _run_in_thread(self) -> R:
        if self._placement.executor is None:  # a thread of ours: named after its work
            threading.current_thread().name = f"threadworker-{self._name}"
        try:
            return self._func(*self._args, **self._kwargs)  # type: ignore[no-any-return]
        finally:
            self._thread_done.set()

    def _on_done(self, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():
            self._finish("aborted", None)
            return
        exc = future.exception()
        if exc is not None:
            self._finish("errored", exc)
        elif self._abort_requested:
            self._finish("aborted", None)
        else:
            self._finish("returned", future.result())

    def _work_here(self, context: contextvars.Context) -> None:
        try:
            result = context.run(self._func, *self._args, **self._kwargs)
        except Exception as exc:
            self._finish("errored", exc)
        else:
            self._finish("aborted" if self._abort_requested else "returned", result)
        finally:
            self._thread_done.set()

    # Generator-only controls, present so misuse gets a message with the fix.
    def send(self, value: object) -> NoReturn:
        """Not available: only generator workers receive values.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(_generator_only("send", self._name))

    def pause(self) -> NoReturn:
        """Not available: only generator workers can pause.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(_generator_only("pause", self._name))

    def resume(self) -> NoReturn:
        """Not available: only generator workers can pause and resume.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(_generator_only("resume", self._name))

    def toggle_pause(self) -> NoReturn:
        """Not available: only generator workers can pause.

        Raises
        ------
        TypeError
            Always.
        """
        raise TypeError(_generator_only("toggle_pause", self._name))


_ABANDONED_NOTE = (
    ", and abandoned: it was still running when its event loop or application "
    "shut down (after shutdown_timeout), so its outcome is never delivered"
)


def _generator_only(method: str, name: str) -> str:
    return (
        f"{method}() needs a generator worker, but {name} is a plain function: "
        "make it a generator (yield where it may pause or receive values)"
    )


async def _wait_latch(latch: Latch[None]) -> None:
    await latch


def _name_of(func: object) -> str:
    return getattr(func, "__qualname__", None) or repr(func)


FunctionKind = Literal["function", "generator", "coroutine", "async generator"]


def function_kind(func: object) -> FunctionKind:
    """Say what calling *func* makes, from its code flags when it has code.

    One flag read instead of several ``inspect`` calls per worker; ``inspect``
    (which unwraps partials) is the fallback for other callables.
    """
    code = getattr(func, "__code__", None)
    if isinstance(code, types.CodeType):
        flags = code.co_flags
        if flags & inspect.CO_GENERATOR:
            return "generator"
        if flags & inspect.CO_COROUTINE:
            return "coroutine"
        if flags & inspect.CO_ASYNC_GENERATOR:
            return "async generator"
        return "function"
    if inspect.isgeneratorfunction(func):
        return "generator"
    if inspect.iscoroutinefunction(func):
        return "coroutine"
    if inspect.isasyncgenfunction(func):
        return "async generator"
    return "function"


def _check_callable(func: object, worker_kind: str) -> None:
    if func is None or not callable(func):
        raise TypeError(f"{worker_kind} needs a callable to run, not {func!r}")
    if isinstance(func, type):
        raise TypeError(
            f"{worker_kind} needs a function, not the class {func.__qualname__}; "
            "to build one in a thread pass a function: "
            f"create_worker(lambda: {func.__qualname__}(...))"
        )
    kind = function_kind(func)
    if kind in ("coroutine", "async generator"):
        raise TypeError(
            f"{_name_of(func)} is a{'n' if kind[0] == 'a' else ''} {kind} function: "
            "asyncio code does not need a thread. "
            "Await it (or asyncio.create_task it) on the event loop instead; "
            "threadworker runs blocking, synchronous code"
        )
