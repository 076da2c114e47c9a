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
import sys
import threading
import warnings
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Literal, NoReturn, Protocol, TypeVar

from ._callables import check_callable, name_of, surely_makes_generator
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
from ._future import future_of, settle_future
from ._latch import DoneFlag, Latch
from ._progress import ProgressBar
from ._scope import current_scope, scopes_on_this_thread
from ._signal import SignalInstance
from ._warnings import WarningArgs, WarningHooks, install_warning_router, warning_hooks
from ._worker_signals import WorkerBaseSignals, adopt_signals

if TYPE_CHECKING:
    import concurrent.futures
    from types import TracebackType
    from typing import Self

    from ._policy import WorkerPolicy
    from ._process_pool import ProcessJob
    from ._scope import WorkerScope

__all__ = ["FunctionWorker", "WorkerBase"]

R = TypeVar("R")

_CREATED, _RUNNING, _FINISHED = "created", "running", "finished"
_OUTCOMES = ("returned", "errored", "aborted")
#: Awaiting one of these starts a worker that was not started (see _signal_awaited).
_AWAITING_STARTS = frozenset({"started", "returned", "finished"})


class WorkerHost(Protocol):
    """An application that adopted a worker (napari's viewer, see ``_napari.py``).

    The worker tells it what it would otherwise show itself; each ``bool``
    says whether the host took it.
    """

    def pbar_made(self) -> None:
        """The worker's ``pbar`` was made after the host adopted it (any thread)."""

    def report_exception(self, exc: BaseException, message: str) -> bool:
        """Show an exception nobody handled (home thread)."""

    def show_warning(self, args: WarningArgs) -> bool:
        """Show a warning nobody listens to (home thread)."""


class WorkerBase(WorkerBaseSignals[R]):
    """Run a callable in another thread and report back through signals.

    Every signal is a callback hook (``worker.returned.connect(show)``) and an
    awaitable event (``value = await worker.returned``); callbacks run on the
    thread of the loop (or Qt application) the worker was started from.

    Parameters
    ----------
    func : callable, optional
        What to run. superqt lets a worker be made without one (``WorkerBase()``);
        such a worker has its signals but cannot be started.
    *args, **kwargs
        Passed to *func*.
    SignalsClass : type, optional
        superqt's hook for extra signals: a class (a QObject subclass with Qt
        signals, or one declaring :class:`Signal` s) whose signals this worker
        lacks become attributes of the worker. The worker classes' own signals
        classes (:class:`WorkerBaseSignals` ...) change nothing.

    Raises
    ------
    TypeError
        If *func* is not callable, or is a coroutine or async generator
        function (those already run on the event loop: await them instead).
    """

    def __init__(
        self,
        func: Callable[..., Any] | None = None,
        *args: Any,
        SignalsClass: type | None = None,  # superqt's spelling
        **kwargs: Any,
    ) -> None:
        if func is not None:
            check_callable(func, type(self).__name__)
        self._func: Callable[..., Any] = _no_function if func is None else func
        self._args = args
        self._kwargs = kwargs
        self._name = (
            type(self).__name__
            if func is None
            else getattr(func, "__name__", None) or type(func).__name__
        )
        self._state = _CREATED
        # Guards the state's transitions (start, quit, finish) and the quit
        # latch across threads; never held while user code or callbacks run.
        self._state_lock = threading.Lock()
        self._launched = False  # _launch() returned: quit() may act on the work
        self._never_ran = False  # its executor refused it: no ``started``
        self._began = False  # its code started running (in a thread of this process)
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
        self._remote_func: Callable[..., Any] = self._func
        self._job: ProcessJob | None = None  # with executor="process"
        self._host: WorkerHost | None = None
        if SignalsClass is not None:
            adopt_signals(self, SignalsClass)
        self._warning_hooks: WarningHooks | None = None  # as they were at start
        self._abandoned = False  # its home shut down while it still ran
        # Issue 15: timeout=/exclusive=/debounce= (set by create_worker), worker.future.
        self._policy: WorkerPolicy | None = None
        self._result_future: concurrent.futures.Future[R] | None = None

    _is_generator = False

    def _find_host(self) -> None:
        """Let the application adopt this worker: napari, when it is loaded.

        Called when the worker is made by ``create_worker`` and when it
        starts (a viewer opened in between still gets it). ``sys.modules`` is
        checked, never imported from: without napari (or before the
        application imported it) nothing napari is imported.
        """
        if self._host is None and "napari" in sys.modules:
            from ._napari import adopt

            adopt(self)

    def _use_executor(self, spec: object) -> None:
        """Run in *spec* (an ``executor=`` value) instead of threadworker's threads.

        Raises
        ------
        RuntimeError
            If the worker already started.
        TypeError, ValueError
            For a bad *spec*, or a function that cannot be pickled to reach it.
        """
        placement = resolve_executor(spec, generator=self._is_generator, name=self._name)
        check_picklable(self._func, placement)
        # What is sent to another process: findable there by name.
        remote_func = portable_function(self._func, placement)
        with self._state_lock:  # start() in another thread launches one or the other
            if self._state != _CREATED:
                raise RuntimeError(
                    f"{self._signal_owner_name()} already started: set its executor first"
                )
            self._placement = placement
            self._remote_func = remote_func

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
        bar = self._pbar
        if bar is None:
            # The work (progress()) and a view at home may ask at once: one bar.
            made = ProgressBar(self)
            with self._state_lock:
                if self._pbar is None:
                    self._pbar = made
                bar = self._pbar
            if bar is made and self._host is not None:
                self._host.pbar_made()
        return bar

    @property
    def future(self) -> concurrent.futures.Future[R]:
        """A :class:`concurrent.futures.Future` of the worker's outcome (issue 15).

        It resolves with the return value, with the worker's exception, or
        as cancelled (``result()`` raises ``CancelledError``) if the worker
        was aborted. For synchronous code, magicgui's ``-> Future[T]``, or
        ``asyncio.wrap_future``. Reading it does not start the worker. An
        exception it carries counts as handled: it is not reported again to the
        loop's exception handler (or ``sys.excepthook``).

        Cancelling the future quits the worker; the future stays pending
        (never ``running()``) until the worker finishes, so it can be
        cancelled at any time before.
        """
        return future_of(self)

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
        that worker's home. Callable from any thread: when several threads
        start one worker at once, exactly one starts it.

        If the executor refuses the work (it was shut down, or is broken), the
        worker ends ``errored`` with a :class:`RuntimeError` that says so (the
        executor's own error is its ``__cause__``), then ``finished``; it
        emits no ``started``, since the work never ran.

        Raises
        ------
        RuntimeError
            If the worker was already started or has finished, or if there is
            no loop or application to deliver to.
        TypeError
            If the worker was made without a function (``WorkerBase()``).
        """
        self._start(required=True)

    def _start_if_new(self) -> None:
        """Start the worker unless someone already did (``await``, ``async with``)."""
        self._start(required=False)

    def _start(self, *, required: bool) -> None:
        if self._state != _CREATED:  # checked first: the clearer message
            if required:
                self._raise_started()
            return
        self._check_has_function()
        self._find_host()
        scope = current_scope()
        with self._state_lock:
            if self._state != _CREATED:  # another thread won the race
                if required:
                    self._raise_started()
                return
            scope.add(self)
            self._release_holds()  # the scope holds it while it runs
            self._scope = scope
            self._dispatcher = scope.dispatcher
            self._state = _RUNNING
        install_warning_router()
        self._warning_hooks = warning_hooks()
        context = contextvars.copy_context()
        context.run(current_worker_var.set, self)
        # Issue 15: latest-wins quits the group's previous worker; debounce delays the launch.
        if self._policy is not None and self._policy.on_start(self, context):
            return
        self._launch_started(context)

    def _launch_started(self, context: contextvars.Context) -> None:
        """Announce ``started`` and hand the work over (from start(), or after a debounce)."""
        assert self._dispatcher is not None
        if "started" in self.__dict__:
            # Posted, not emitted: callbacks connected right after start() see it.
            self._dispatcher.post(self._ensure_started)
        # Otherwise nobody listens yet: it is emitted when someone connects, or
        # just before the worker's first delivery (see _ensure_started).
        try:
            self._launch(context)
        except Exception as exc:  # a shut-down or broken executor, no thread left
            self._refused(exc)
            return
        with self._state_lock:
            self._launched = True
            abort = self._abort_requested
        if abort:  # quit() from another thread while _launch() ran
            self._request_abort()

    def _raise_started(self) -> NoReturn:
        raise RuntimeError(
            f"{self._signal_owner_name()} was already "
            f"{'started' if self.is_running else 'run'}; "
            "a worker runs once: create a new one to run again"
        )

    def _refused(self, exc: Exception) -> None:
        """End a worker whose work could not be handed to its executor or thread."""
        error = RuntimeError(
            f"{self._signal_owner_name()} could not start: {self._refusal()} "
            f"({type(exc).__name__}: {exc})"
        )
        error.__cause__ = exc
        self._never_ran = True
        self._thread_done.set()  # nothing runs: exit must not wait for it
        assert self._dispatcher is not None
        self._dispatcher.post(self._finish, "errored", error)

    def _refusal(self) -> str:
        """Say what refused to run the work, for the error of :meth:`_refused`."""
        placement = self._placement
        if placement.kind == "process":
            return "threadworker's worker processes refused the work"
        if placement.executor is not None:
            return f"its executor ({type(placement.executor).__name__}) refused the work"
        if self._is_generator:
            return "its thread could not be started"
        return "threadworker's thread pool refused the work"

    def work(self) -> R | None:
        """Run the work synchronously in this thread, emitting signals directly.

        Returns the return value, or None if the work raised (the exception
        goes to ``errored``) or was aborted.

        Raises
        ------
        RuntimeError
            If the worker was already started or has finished.
        TypeError
            If the worker was made without a function (``WorkerBase()``).
        """
        self._check_has_function()
        with self._state_lock:
            if self._state != _CREATED:
                raise RuntimeError(f"{self._signal_owner_name()} was already started")
            self._release_holds()
            self._state = _RUNNING
            self._launched = True
        install_warning_router()
        self._warning_hooks = warning_hooks()
        context = contextvars.copy_context()
        context.run(current_worker_var.set, self)
        self._fire("started")
        self._work_here(context)
        return self._fired.get("returned")

    def _check_has_function(self) -> None:
        if self._func is _no_function:
            raise TypeError(
                f"{self._signal_owner_name()} was made without a function to run: "
                "pass one (FunctionWorker(func, ...)) or use create_worker(func)"
            )

    def quit(self) -> Latch[None]:
        """Ask the worker to stop; returns an awaitable that completes when it finished.

        A generator worker stops at its next ``yield`` (closing the generator,
        so its ``finally`` blocks run) and emits ``aborted``. A function cannot
        be interrupted: it runs to its end but ``returned`` is not emitted
        (``aborted`` is); it can poll ``current_worker().abort_requested`` to
        return early. A worker that was never started finishes at once.

        Works as a Qt slot: ``button.clicked.connect(worker.quit)``. Not
        awaiting the result is fine. Callable from any thread, also while
        another thread calls :meth:`start`: either the worker never starts
        (``start`` then raises) or it starts and is asked to stop. A worker
        that never started has no home yet: its ``aborted`` and ``finished``
        are emitted at once, on the calling thread.
        """
        finish_now = request_abort = False
        with self._state_lock:
            if self._state == _CREATED:
                self._abort_requested = True
                self._state = _RUNNING  # start() now refuses; _finish runs once
                finish_now = True
            elif self._state == _RUNNING and not self._abort_requested:
                self._abort_requested = True
                request_abort = self._launched  # else start() asks, once launched
            if self._quit_latch is None:
                self._quit_latch = Latch()
            latch = self._quit_latch
            finished = self._state == _FINISHED
        if finish_now:
            self._thread_done.set()
            self._finish("aborted", None)
        elif request_abort:
            self._request_abort()
        elif self._policy is not None:  # issue 15: drop a debounced start not launched yet
            self._policy.on_quit(self)
        if finished:
            latch.set_result(None)
        return latch

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
        self._start_if_new()
        return (yield from self.returned.__await__())

    async def __aenter__(self) -> Self:
        """Start the worker (if needed) for the ``async with`` block."""
        self._start_if_new()
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

    def _signal_awaited(self, signal: SignalInstance[Any]) -> None:
        """Start an unstarted worker when one of the signals running it settles is awaited.

        ``started``, ``returned`` and ``finished``: awaiting them is waiting
        for the work itself (``await worker.returned`` is ``await worker``).
        Awaiting ``errored``, ``aborted`` or a repeating signal does not: those
        wait for something else (a quit, a pause, the next value) and are often
        set up before ``start()``. If an unstarted worker is dropped, those
        awaits raise :class:`WorkerFinishedError` (see :meth:`__del__`).
        """
        if self._state == _CREATED and signal.name in _AWAITING_STARTS:
            self._start_if_new()

    def _release_holds(self) -> None:
        """Stop holding this worker through its signals: it started or finished."""
        for signal in self._signals:
            signal._owner_hold = None

    def __del__(self) -> None:
        # Nothing refers to a worker that never started any more, so nothing
        # can start it: whoever still awaits one of its signals would wait for
        # ever. Tell them instead (signals hold their worker weakly).
        if getattr(self, "_state", None) != _CREATED:
            return
        signals: list[SignalInstance[Any]] = getattr(self, "_signals", [])
        if not signals:
            return
        reason = WorkerFinishedError(
            f"{self._signal_owner_name()} was never started and nothing refers to it "
            "any more: none of its signals can be emitted"
        )
        for signal in signals:
            signal._close(reason)

    def _abandon_kind(self) -> Literal["function", "generator", "unstarted"]:
        """What kept this worker running after quit(), for the shutdown warning."""
        if not self._work_began():
            return "unstarted"
        return "generator" if self._is_generator else "function"

    def _work_began(self) -> bool:
        """Whether the work's code started running."""
        if self._placement.kind == "process":
            return self._launched  # its process is killed; never left waiting
        return self._began

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
        future = self._result_future  # issue 15: worker.future's holder receives it
        if future is not None and not future.cancelled():
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
        if "started" not in self._fired and not self._never_ran:
            self._fire("started")

    def _finish(self, outcome: str, payload: Any) -> None:
        """Emit the outcome, then ``finished``; runs once, on the home thread."""
        if self._state == _FINISHED:
            return
        if self._policy is not None:  # issue 15: a timed-out worker ends errored
            outcome, payload = self._policy.outcome(self, outcome, payload)
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
            with self._state_lock:
                self._state = _FINISHED
            try:
                self._fire("finished")
            finally:
                self._release_holds()
                for signal in self._signals:
                    self._settle(signal)
                if self._policy is not None:  # issue 15: stop timers, leave the group
                    self._policy.on_finish(self)
                if self._result_future is not None:  # issue 15: worker.future
                    settle_future(self)
                self._finished_cleanup()
                if self._pbar is not None:
                    self._pbar.close()
                with self._state_lock:
                    quit_latch = self._quit_latch
                if quit_latch is not None:
                    quit_latch.set_result(None)
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
        elif self._host is None or not self._host.show_warning(args):
            warnings.showwarning(*args)  # nobody listens: show it as if raised here

    # -- SignalOwner ------------------------------------------------------------------------
    def _post_to_home(self, fn: Callable[..., object], *args: object) -> bool:
        dispatcher = self._dispatcher
        if dispatcher is None or dispatcher.in_home_thread():
            return False
        dispatcher.post(fn, *args)
        return True

    def _report_exception(self, exc: BaseException, message: str) -> None:
        if self._host is not None and self._host.report_exception(exc, message):
            return
        if self._dispatcher is not None and self._dispatcher.is_alive():
            self._dispatcher.report_exception(exc, message, {"worker": self})
        else:
            report_exception(exc, message, {"worker": self})

    def _signal_owner_name(self) -> str:
        return f"{type(self).__name__}[{self._name}]"

    def _signal_created(self, signal: SignalInstance[Any]) -> None:
        self._signals.append(signal)
        if self._state == _CREATED and signal.name in _AWAITING_STARTS:
            # Alive as long as this signal is: in ``await create_worker(f).returned``
            # nothing else holds the worker until the await has started it.
            signal._owner_hold = self
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
        if surely_makes_generator(func):
            raise TypeError(
                f"{name_of(func)} is a generator function: use GeneratorWorker, or "
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

    def _work_began(self) -> bool:
        future = self._future
        if self._placement.kind == "executor":  # runs elsewhere: ask its future
            return future is not None and (future.running() or future.done())
        return super()._work_began()

    def _run_in_thread(self) -> R:
        self._began = True
        if self._placement.executor is None:  # a thread of ours: named after its work
            threading.current_thread().name = f"threadworker-{self._name}"
        try:
            result = self._func(*self._args, **self._kwargs)
            if isinstance(result, Generator):  # a generator function in disguise
                warnings.warn(_returned_generator(self._name), RuntimeWarning, stacklevel=1)
            return result  # type: ignore[no-any-return]
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
        self._began = True
        try:
            result = context.run(self._func, *self._args, **self._kwargs)
            if isinstance(result, Generator):  # a generator function in disguise
                context.run(
                    warnings.warn, _returned_generator(self._name), RuntimeWarning, stacklevel=1
                )
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


def _no_function(*args: Any, **kwargs: Any) -> NoReturn:
    """What a worker made without a function runs: nothing (start() refuses)."""
    raise TypeError("this worker was made without a function to run")


async def _wait_latch(latch: Latch[None]) -> None:
    await latch


def _returned_generator(name: str) -> str:
    return (
        f"{name} returned a generator, which a FunctionWorker does not step: "
        "'returned' carries it unstarted. To run it in the worker, make the "
        "function a generator function (e.g. `def run(): return (yield from make())`) "
        "and create the worker with create_worker or @thread_worker"
    )
