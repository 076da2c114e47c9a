"""How a worker is placed and started: its executor, its host, its home, its launch.

``start()`` (and ``await``, ``async with``) find the home of the calling code
and its scope, let an application adopt the worker (napari), and hand the
work to the worker's runner; a runner that refuses ends the worker
``errored``, saying who refused. ``WorkerBase`` inherits this part.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, cast

from ._current import current_worker_var
from ._executors import Placement, check_picklable, portable_function, resolve_executor
from ._latch import DoneFlag
from ._runner import Runner, function_runner
from ._scope import current_scope
from ._upper_layers import napari_adapter
from ._warnings import WarningHooks, install_warning_router, warning_hooks
from ._worker_delivery import _CREATED, _RUNNING, WorkerHost

if TYPE_CHECKING:
    from ._dispatch import Dispatcher
    from ._policy import WorkerPolicy
    from ._worker import WorkerBase
    from ._worker_scope import WorkerScope

__all__ = ["WorkerStart"]


class WorkerStart:
    """The starting part of ``WorkerBase``, which inherits it."""

    # The worker's state this part reads and writes (set by WorkerBase.__init__).
    _state: str
    _state_lock: threading.Lock
    _func: Callable[..., Any]
    _name: str
    _is_generator: bool
    _scope: WorkerScope | None
    _dispatcher: Dispatcher | None
    _launched: bool
    _never_ran: bool
    _abort_requested: bool
    _thread_done: DoneFlag
    _warning_hooks: WarningHooks | None
    _placement: Placement
    _remote_func: Callable[..., Any]
    _runner: Runner
    _host: WorkerHost | None
    _policy: WorkerPolicy | None

    if TYPE_CHECKING:  # the worker's own

        @property
        def is_running(self) -> bool: ...
        def _release_holds(self) -> None: ...
        def _ensure_started(self) -> None: ...
        def _finish(self, outcome: str, payload: Any) -> None: ...
        def _launch(self, context: contextvars.Context) -> None: ...
        def _request_abort(self) -> None: ...
        def _signal_owner_name(self) -> str: ...

    def _find_host(self) -> None:
        """Let the application adopt this worker: napari, when it is loaded.

        Called when the worker is made by ``create_worker`` and when it
        starts (a viewer opened in between still gets it). ``sys.modules`` is
        checked, never imported from: without napari (or before the
        application imported it) nothing napari is imported.
        """
        if self._host is None and "napari" in sys.modules:
            napari_adapter().adopt(cast("WorkerBase[Any]", self))

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
        runner = self._runner_for(placement)
        with self._state_lock:  # start() in another thread launches one or the other
            if self._state != _CREATED:
                raise RuntimeError(
                    f"{self._signal_owner_name()} already started: set its executor first"
                )
            self._placement = placement
            self._remote_func = remote_func
            self._runner = runner

    def _runner_for(self, placement: Placement) -> Runner:
        """What runs this kind of worker's work in *placement*."""
        return function_runner(placement)

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
            scope.add(cast("WorkerBase[Any]", self))
            self._release_holds()  # the scope holds it while it runs
            self._scope = scope
            self._dispatcher = scope.dispatcher
            self._state = _RUNNING
        install_warning_router()
        self._warning_hooks = warning_hooks()
        context = contextvars.copy_context()
        context.run(current_worker_var.set, cast("WorkerBase[Any]", self))
        # Issue 15: latest-wins quits the group's previous worker; debounce delays the launch.
        if self._policy is not None and self._policy.on_start(
            cast("WorkerBase[Any]", self), context
        ):
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
        return self._runner.refusal(self)

    def _check_has_function(self) -> None:
        if self._func is _no_function:
            raise TypeError(
                f"{self._signal_owner_name()} was made without a function to run: "
                "pass one (FunctionWorker(func, ...)) or use create_worker(func)"
            )


def _no_function(*args: Any, **kwargs: Any) -> NoReturn:
    """What a worker made without a function runs: nothing (start() refuses)."""
    raise TypeError("this worker was made without a function to run")
