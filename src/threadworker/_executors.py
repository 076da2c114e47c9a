"""Where a worker's code runs: the ``executor=`` option.

- ``None`` or ``"thread"``: threadworker's threads (the default).
- ``"process"``: threadworker's worker processes (``_process_pool``), which
  stream generators, take send/pause/resume/quit, and can be killed.
- a thread executor (``ThreadPoolExecutor``): its threads; generators too.
- any other ``concurrent.futures.Executor`` (``ProcessPoolExecutor``, a
  dask ``ClientExecutor``, ...): plain functions, submitted to it.
- a ``dask.distributed.Client``: its cluster, through ``client.get_executor``;
  a generator runs in a dask task of its own, streamed home (``_run_on_dask``).
"""

from __future__ import annotations

import concurrent.futures
import importlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ._callables import WRAPPED_ATTRIBUTE as WRAPPED_ATTRIBUTE
from ._dask_async_executor import AsyncClientExecutor
from ._pool import ThreadPool

__all__ = [
    "IN_THREAD",
    "ClientLike",
    "ExecutorSpec",
    "Placement",
    "check_picklable",
    "portable_function",
    "resolve_executor",
]


class ClientLike(Protocol):
    """What threadworker uses of a ``dask.distributed.Client`` (typed without dask)."""

    def get_executor(self, **kwargs: Any) -> concurrent.futures.Executor:
        """A ``concurrent.futures.Executor`` that submits to the cluster."""
        ...


#: What ``executor=`` accepts.
ExecutorSpec = Literal["thread", "process"] | concurrent.futures.Executor | ClientLike | None


@dataclass(frozen=True)
class Placement:
    """A resolved ``executor=``: the kind of place, and the executor if any."""

    kind: Literal["thread", "process", "thread-executor", "executor", "dask"]
    executor: concurrent.futures.Executor | None = None
    #: The ``dask.distributed.Client`` of a generator on a cluster (kind "dask").
    client: Any = None

    @property
    def crosses_processes(self) -> bool:
        """Whether functions, arguments and values are pickled to get there."""
        return self.kind in ("process", "executor", "dask")


IN_THREAD = Placement("thread")
IN_PROCESS = Placement("process")


def resolve_executor(spec: object, *, generator: bool, name: str) -> Placement:
    """Turn an ``executor=`` value into a :class:`Placement`.

    Raises
    ------
    ValueError
        For an unknown executor name.
    TypeError
        For something that is not an executor, or a generator given an
        executor that can only run plain functions.
    """
    if spec is None or spec == "thread":
        return IN_THREAD
    if spec == "process":
        return IN_PROCESS
    if isinstance(spec, str):
        raise ValueError(
            f"executor must be 'thread', 'process' or a concurrent.futures.Executor, not {spec!r}"
        )
    if _is_dask_client(spec):
        if generator:
            return Placement("dask", client=spec)
        # pure=False: every worker is a run of its own, even with equal arguments
        # (dask would otherwise share one task, and cancel it for both).
        if getattr(spec, "asynchronous", False):
            spec = AsyncClientExecutor(spec)  # dask's own cannot cancel for it
        else:
            spec = spec.get_executor(pure=False)  # type: ignore[attr-defined]
    if isinstance(spec, concurrent.futures.ThreadPoolExecutor | ThreadPool):
        return Placement("thread-executor", spec)
    if isinstance(spec, concurrent.futures.Executor):
        if generator:
            raise TypeError(
                f"{name} is a generator function, and {type(spec).__name__} can only run "
                "plain functions: use executor='process' (threadworker's processes stream "
                "what a generator yields), the dask Client itself, or a thread executor"
            )
        return Placement("executor", spec)
    raise TypeError(
        "executor must be 'thread', 'process', a concurrent.futures.Executor or a "
        f"dask.distributed Client, not {type(spec).__name__}: {spec!r}"
    )


def _is_dask_client(obj: object) -> bool:
    # Recognised without importing dask: only a program that made a Client has it.
    module = type(obj).__module__ or ""
    return module.split(".")[0] == "distributed" and hasattr(obj, "get_executor")


def check_picklable(func: Callable[..., Any], placement: Placement) -> None:
    """Fail early, with the fix, for a function that cannot reach a process.

    Only for executors that use :mod:`pickle` (threadworker's processes and
    ``ProcessPoolExecutor``); dask uses cloudpickle, which takes lambdas.
    Arguments are pickled later, off the home thread: a bad one ends the
    worker in ``errored`` with the same explanation.

    Raises
    ------
    TypeError
        If *func* cannot be pickled.
    """
    if not (
        placement.kind == "process"
        or isinstance(placement.executor, concurrent.futures.ProcessPoolExecutor)
    ):
        return
    try:
        pickle.dumps(portable_function(func, placement), pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        from ._process_pool import cannot_pickle_call

        raise cannot_pickle_call(func, exc) from exc


def portable_function(func: Callable[..., Any], placement: Placement) -> Callable[..., Any]:
    """*func*, or a stand-in that pickles where *func* itself cannot.

    ``@thread_worker`` puts its wrapper where the function was defined, so
    pickle — which finds functions by module and name — finds the wrapper,
    not the function, and refuses. The stand-in is found by the same name
    and unwrapped in the worker process.
    """
    module_name = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not placement.crosses_processes or module_name is None or qualname is None:
        return func
    if (
        placement.kind in ("executor", "dask")
        and module_name == "__main__"
        and not isinstance(placement.executor, concurrent.futures.ProcessPoolExecutor)
    ):
        return func  # dask & co. pickle __main__'s functions by value: nothing to find
    found = _find(module_name, qualname)
    if found is not func and getattr(found, WRAPPED_ATTRIBUTE, None) is func:
        return _DecoratedFunction(module_name, qualname)
    return func


def _find(module_name: str, qualname: str) -> object:
    obj: object = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return obj


class _DecoratedFunction:
    """The function under a ``@thread_worker`` wrapper, pickled by the wrapper's name."""

    def __init__(self, module_name: str, qualname: str) -> None:
        self.module_name = module_name
        self.qualname = qualname

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _load_decorated(self.module_name, self.qualname)(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (_load_decorated, (self.module_name, self.qualname))


def _load_decorated(module_name: str, qualname: str) -> Callable[..., Any]:
    function: Callable[..., Any] = getattr(_find(module_name, qualname), WRAPPED_ATTRIBUTE)
    return function
