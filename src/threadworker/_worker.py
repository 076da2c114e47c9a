"""The worker lifecycle shared by every worker (``WorkerBase``).

Signal order, for every worker::

    started → (yielded | paused | resumed)* → returned | errored | aborted → finished

``finished`` is emitted from a ``finally``: it always fires, exactly once,
even when a callback raises. A worker quit before it started emits only
``aborted`` and ``finished``.

``WorkerBase`` inherits how it is placed and started (``_worker_start``) and
its home side — emitting, latching and settling signals — (``_worker_delivery``);
where its work runs is its runner's business (``_runner``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import threading
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ._callables import check_callable
from ._current import current_worker_var
from ._dispatch import Dispatcher
from ._exceptions import WorkerFinishedError
from ._executors import IN_THREAD, Placement
from ._future import future_of
from ._latch import DoneFlag, Latch
from ._progress import ProgressBar
from ._runner import Runner
from ._scope import scopes_on_this_thread
from ._signal import SignalInstance
from ._warnings import WarningHooks, install_warning_router, warning_hooks
from ._worker_delivery import _AWAITING_STARTS, _CREATED, _FINISHED, _RUNNING, WorkerDelivery
from ._worker_delivery import WorkerHost as WorkerHost
from ._worker_signals import WorkerBaseSignals, adopt_signals
from ._worker_start import WorkerStart, _no_function

if TYPE_CHECKING:
    import concurrent.futures
    from types import TracebackType
    from typing import Self

    from ._policy import WorkerPolicy
    from ._scope import WorkerScope

__all__ = ["WorkerBase"]

R = TypeVar("R")


class WorkerBase(WorkerStart, WorkerDelivery, WorkerBaseSignals[R]):
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
        self._runner: Runner = self._runner_for(IN_THREAD)  # where the work runs
        self._host: WorkerHost | None = None
        if SignalsClass is not None:
            adopt_signals(self, SignalsClass)
        self._warning_hooks: WarningHooks | None = None  # as they were at start
        self._abandoned = False  # its home shut down while it still ran
        # Issue 15: timeout=/exclusive=/debounce= (set by create_worker), worker.future.
        self._policy: WorkerPolicy | None = None
        self._result_future: concurrent.futures.Future[R] | None = None

    _is_generator = False

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

    def __del__(self) -> None:
        # Nothing refers to a worker that never started any more, so nothing
        # can start it: whoever still awaits one of its signals would wait for
        # ever. Tell them instead (signals hold their worker weakly).
        if getattr(self, "_state", None) != _CREATED:
            return
        signals: list[SignalInstance[Any]] = getattr(self, "_signals", [])
        future = getattr(self, "_result_future", None)
        if not signals and future is None:
            return
        reason = WorkerFinishedError(
            f"{self._signal_owner_name()} was never started and nothing refers to it "
            "any more: none of its signals can be emitted"
        )
        for signal in signals:
            signal._close(reason)
        if future is not None:  # worker.future too: it would stay pending for ever
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                future.set_exception(reason)

    def _abandon_kind(self) -> Literal["function", "generator", "unstarted"]:
        """What kept this worker running after quit(), for the shutdown warning."""
        if not self._work_began():
            return "unstarted"
        return "generator" if self._is_generator else "function"

    def _work_began(self) -> bool:
        """Whether the work's code started running."""
        return self._runner.began(self)

    # -- subclass hooks -------------------------------------------------------------------
    def _launch(self, context: contextvars.Context) -> None:
        raise NotImplementedError

    def _work_here(self, context: contextvars.Context) -> None:
        raise NotImplementedError

    def _request_abort(self) -> None:
        """Make the running work notice the abort request."""


async def _wait_latch(latch: Latch[None]) -> None:
    await latch
