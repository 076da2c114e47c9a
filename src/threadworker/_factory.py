"""Making workers: ``create_worker``, ``@thread_worker``, ``as_generator_function``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar, overload

from ._callables import check_callable, makes_generator
from ._executors import WRAPPED_ATTRIBUTE, ExecutorSpec, resolve_executor
from ._function_worker import FunctionWorker
from ._generator_worker import GeneratorWorker
from ._policy import check_policy_options, make_policy
from ._progress import ProgressSpec, make_pbar
from ._worker import WorkerBase

__all__ = ["as_generator_function", "create_worker", "thread_worker"]

P = ParamSpec("P")
R = TypeVar("R")
Y = TypeVar("Y")
S = TypeVar("S")

#: ``{"returned": show}`` or ``{"yielded": [draw, log]}``.
ConnectSpec = Mapping[str, Callable[..., Any] | Sequence[Callable[..., Any]]]


@overload
def create_worker(
    func: Callable[..., Generator[Y, S, R]],
    *args: Any,
    _start_thread: bool | None = None,
    _connect: ConnectSpec | None = None,
    _worker_class: type[WorkerBase[Any]] | None = None,
    _ignore_errors: bool = False,
    _progress: ProgressSpec = None,
    _executor: ExecutorSpec = None,
    _timeout: float | None = None,
    _exclusive: bool | str = False,
    _debounce: float | None = None,
    **kwargs: Any,
) -> GeneratorWorker[Y, S, R]: ...
@overload
def create_worker(
    func: Callable[..., R],
    *args: Any,
    _start_thread: bool | None = None,
    _connect: ConnectSpec | None = None,
    _worker_class: type[WorkerBase[Any]] | None = None,
    _ignore_errors: bool = False,
    _progress: ProgressSpec = None,
    _executor: ExecutorSpec = None,
    _timeout: float | None = None,
    _exclusive: bool | str = False,
    _debounce: float | None = None,
    **kwargs: Any,
) -> FunctionWorker[R]: ...
def create_worker(
    func: Callable[..., Any],
    *args: Any,
    _start_thread: bool | None = None,
    _connect: ConnectSpec | None = None,
    _worker_class: type[WorkerBase[Any]] | None = None,
    _ignore_errors: bool = False,
    _progress: ProgressSpec = None,
    _executor: ExecutorSpec = None,
    _timeout: float | None = None,
    _exclusive: bool | str = False,
    _debounce: float | None = None,
    **kwargs: Any,
) -> WorkerBase[Any]:
    """Make a worker that runs ``func(*args, **kwargs)`` in another thread.

    Picks :class:`GeneratorWorker` for generator functions (and for
    callables that make generators: objects with a generator ``__call__``,
    ``staticmethod`` or ``partial`` objects and ``functools.wraps`` wrappers
    of generator functions) and :class:`FunctionWorker` otherwise.

    Parameters
    ----------
    func : callable
        The function (or generator function) to run.
    *args, **kwargs
        Passed to *func*.
    _start_thread : bool, optional
        Start the worker now. Default: start if *_connect* is given.
    _connect : dict, optional
        Signal names mapped to a callback or a list of callbacks to connect,
        e.g. ``{"returned": show, "errored": [log, alert]}``.
    _worker_class : type, optional
        A :class:`WorkerBase` subclass to use instead of the automatic choice.
    _ignore_errors : bool
        If true, an exception nobody handles is dropped instead of being
        reported to the loop's exception handler (or ``sys.excepthook``).
    _progress : bool or dict, optional
        Give the worker a ``pbar``: ``True`` (indeterminate) or
        ``{"total": N, "desc": "..."}`` (each ``yield`` is a step), as napari.
    _executor : str or Executor, optional
        Where the work runs: ``"thread"`` (default: threadworker's threads),
        ``"process"`` (threadworker's worker processes: CPU-bound work that
        does not stall the GUI; generators stream back and can be steered),
        or any ``concurrent.futures.Executor`` (a ``ThreadPoolExecutor``, a
        ``ProcessPoolExecutor``, ``dask.distributed.Client.get_executor()``)
        or a ``dask.distributed.Client``. What crosses to another process
        (function, arguments, results, yielded and sent values) is pickled.
    _timeout : float, optional
        Seconds the worker may run, counted from its start; then it is quit
        and ends ``errored`` with a :class:`~threadworker.WorkerTimeout`.
        None (default): no limit.
    _exclusive : bool or str
        Latest wins: starting this worker quits the still-running worker of
        its group on the same home (which ends ``aborted``). ``True``: one
        group per function; a string: a named group shared by functions.
    _debounce : float, optional
        With *_exclusive*: a start waits this many seconds, and a newer start
        of the group within the window replaces it (the replaced worker ends
        ``aborted`` without running).

    Returns
    -------
    WorkerBase
        The worker; started if asked to.

    Raises
    ------
    TypeError
        For a bad *func*, *_connect*, *_worker_class*, *_executor* or policy option (or a
        function that cannot be pickled to reach a process); the message says why.
    ValueError
        For an unknown executor name, or a bad *_timeout*, *_exclusive* or
        *_debounce* (negative, empty, or *_debounce* without *_exclusive*).
    """
    policy = make_policy(func, timeout=_timeout, exclusive=_exclusive, debounce=_debounce)
    if _worker_class is None:
        check_callable(func, "create_worker")
        worker_class: type[WorkerBase[Any]] = (
            GeneratorWorker if makes_generator(func) else FunctionWorker
        )
    elif isinstance(_worker_class, type) and issubclass(_worker_class, WorkerBase):
        worker_class = _worker_class
    else:
        raise TypeError(
            f"_worker_class must be a subclass of WorkerBase (e.g. FunctionWorker), "
            f"not {_worker_class!r}"
        )
    worker = worker_class(func, *args, **kwargs)
    worker._ignore_errors = bool(_ignore_errors)
    worker._policy = policy  # issue 15: timeout / exclusive / debounce
    if _executor is not None:
        worker._use_executor(_executor)
    if _progress:
        worker._pbar = make_pbar(
            worker, _progress, is_generator=isinstance(worker, GeneratorWorker)
        )
    worker._find_host()  # napari's viewer knows of it from now, as of its own workers
    if _connect is not None:
        _connect_all(worker, _connect)
    if _start_thread is None:
        _start_thread = _connect is not None
    if _start_thread:
        worker.start()
    return worker


def _connect_all(worker: WorkerBase[Any], spec: object) -> None:
    if not isinstance(spec, Mapping):
        raise TypeError(
            f"connect must be a dict of signal name to callback(s), e.g. "
            f'{{"returned": show}}, not {type(spec).__name__}: {spec!r}'
        )
    from ._signal import SignalInstance

    for name, callbacks in spec.items():
        signal = getattr(worker, name, None) if isinstance(name, str) else None
        if not isinstance(signal, SignalInstance):
            valid = sorted(
                attr for attr in dir(type(worker)) if _is_signal(getattr(type(worker), attr, None))
            )
            raise TypeError(
                f"connect names {name!r}, which is not a signal of {type(worker).__name__}; "
                f"valid names: {', '.join(valid)}"
            )
        if callable(callbacks):
            callbacks = [callbacks]
        if not isinstance(callbacks, Sequence) or isinstance(callbacks, str):
            raise TypeError(
                f"connect[{name!r}] must be a callable or a list of callables, not {callbacks!r}"
            )
        for callback in callbacks:
            if not callable(callback):
                raise TypeError(f"connect[{name!r}] holds {callback!r}, which is not callable")
            signal.connect(callback)


def _is_signal(obj: object) -> bool:
    from ._signal import Signal

    return isinstance(obj, Signal)


class _ThreadWorkerDecorator(Protocol):
    @overload
    def __call__(  # type: ignore[overload-overlap]
        self, function: Callable[P, Generator[Y, S, R]]
    ) -> Callable[P, GeneratorWorker[Y, S, R]]: ...
    @overload
    def __call__(self, function: Callable[P, R]) -> Callable[P, FunctionWorker[R]]: ...


@overload
def thread_worker(  # type: ignore[overload-overlap]
    function: Callable[P, Generator[Y, S, R]],
    *,
    start_thread: bool | None = None,
    connect: ConnectSpec | None = None,
    worker_class: type[WorkerBase[Any]] | None = None,
    ignore_errors: bool = False,
    progress: ProgressSpec = None,
    executor: ExecutorSpec = None,
    timeout: float | None = None,
    exclusive: bool | str = False,
    debounce: float | None = None,
) -> Callable[P, GeneratorWorker[Y, S, R]]: ...
@overload
def thread_worker(
    function: Callable[P, R],
    *,
    start_thread: bool | None = None,
    connect: ConnectSpec | None = None,
    worker_class: type[WorkerBase[Any]] | None = None,
    ignore_errors: bool = False,
    progress: ProgressSpec = None,
    executor: ExecutorSpec = None,
    timeout: float | None = None,
    exclusive: bool | str = False,
    debounce: float | None = None,
) -> Callable[P, FunctionWorker[R]]: ...
@overload
def thread_worker(
    function: None = None,
    *,
    start_thread: bool | None = None,
    connect: ConnectSpec | None = None,
    worker_class: type[WorkerBase[Any]] | None = None,
    ignore_errors: bool = False,
    progress: ProgressSpec = None,
    executor: ExecutorSpec = None,
    timeout: float | None = None,
    exclusive: bool | str = False,
    debounce: float | None = None,
) -> _ThreadWorkerDecorator: ...
def thread_worker(
    function: Callable[..., Any] | None = None,
    *,
    start_thread: bool | None = None,
    connect: ConnectSpec | None = None,
    worker_class: type[WorkerBase[Any]] | None = None,
    ignore_errors: bool = False,
    progress: ProgressSpec = None,
    executor: ExecutorSpec = None,
    timeout: float | None = None,
    exclusive: bool | str = False,
    debounce: float | None = None,
) -> Any:
    """Make a function return a worker instead of running when called.

    Use bare (``@thread_worker``) or with options
    (``@thread_worker(connect={"returned": show})``). Calling the decorated
    function builds a worker via :func:`create_worker`; each option can be
    overridden per call with the underscored keyword (``_start_thread=True``,
    ``_connect=...``, ``_worker_class=...``, ``_ignore_errors=...``,
    ``_executor=...``, ``_timeout=...``, ``_exclusive=...``, ``_debounce=...``).

    Parameters
    ----------
    function : callable, optional
        The function or generator function to decorate.
    start_thread : bool, optional
        Start the worker when the function is called. Default: start if
        *connect* is given.
    connect : dict, optional
        Signal names mapped to callbacks, connected before starting.
    worker_class : type, optional
        A :class:`WorkerBase` subclass to use.
    ignore_errors : bool
        Drop exceptions nobody handles instead of reporting them.
    progress : bool or dict, optional
        Give workers a ``pbar``, as napari: ``True`` or ``{"total": N, "desc": ...}``.
    executor : str or Executor, optional
        Where the work runs: ``"thread"`` (default), ``"process"``, a
        ``concurrent.futures.Executor`` or a dask ``Client`` (see
        :func:`create_worker`).
    timeout : float, optional
        Seconds each worker may run before it is quit and ends ``errored``
        with a :class:`~threadworker.WorkerTimeout` (``_timeout=`` per call).
    exclusive : bool or str
        Latest wins: starting a worker quits the still-running one of the
        same group on the same home. ``True``: one group for this function;
        a string: a group shared with other functions (``_exclusive=``).
    debounce : float, optional
        With *exclusive*: each start waits this many seconds; only the last
        start of a burst runs (``_debounce=``).

    Returns
    -------
    callable
        The decorated function (or, without *function*, a decorator), with the
        original name, docstring and signature.

    Raises
    ------
    TypeError
        If *function* is not a plain or generator function (coroutine
        functions are rejected with the fix), or *connect* is malformed.
    ValueError
        For a bad *timeout*, *exclusive* or *debounce*.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., WorkerBase[Any]]:
        check_callable(func, "@thread_worker")
        if connect is not None:
            _validate_connect_shape(connect)
        check_policy_options(timeout, exclusive, debounce)  # fails here, not per call
        if executor is not None:  # a bad executor fails here, not at the first call
            is_generator = makes_generator(func)
            resolve_executor(executor, generator=is_generator, name=_name(func))

        @functools.wraps(func)
        def make_worker(*args: Any, **kwargs: Any) -> WorkerBase[Any]:
            kwargs.setdefault("_start_thread", start_thread)
            kwargs.setdefault("_connect", connect)
            kwargs.setdefault("_worker_class", worker_class)
            kwargs.setdefault("_ignore_errors", ignore_errors)
            kwargs.setdefault("_progress", progress)
            kwargs.setdefault("_executor", executor)
            kwargs.setdefault("_timeout", timeout)
            kwargs.setdefault("_exclusive", exclusive)
            # A call that turns exclusive off drops the decorator's debounce with it
            # (debounce only means something within an exclusive group).
            kwargs.setdefault("_debounce", None if kwargs["_exclusive"] is False else debounce)
            worker: WorkerBase[Any] = create_worker(func, *args, **kwargs)
            return worker

        # Lets a worker process find func under the name make_worker took.
        setattr(make_worker, WRAPPED_ATTRIBUTE, func)
        return make_worker

    return decorate if function is None else decorate(function)


def _validate_connect_shape(connect: object) -> None:
    if not isinstance(connect, Mapping):
        raise TypeError(
            f"connect must be a dict of signal name to callback(s), e.g. "
            f'{{"returned": show}}, not {type(connect).__name__}: {connect!r}'
        )


def as_generator_function(func: Callable[P, R]) -> Callable[P, Generator[None, None, R]]:
    """Turn a function into a generator function that yields once, then returns its result.

    superqt's shape: the generator yields ``None`` before calling *func* (so a
    worker emits one ``yielded``, and can be paused or quit before the call),
    then returns what *func* returns. Useful to give a plain function the
    generator worker's thread and signals.
    """

    @functools.wraps(func)
    def genwrapper(*args: P.args, **kwargs: P.kwargs) -> Generator[None, None, R]:
        yield
        return func(*args, **kwargs)

    return genwrapper


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or repr(func)
