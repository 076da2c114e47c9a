"""Faults to inject: what the state machine draws from besides ordinary use.

Exceptions raised by callbacks (``Exception`` and ``BaseException``
subclasses other than ``KeyboardInterrupt``/``SystemExit``), worker code that
raises a ``BaseException``, executors that refuse work, and, for worker
processes, steps of :func:`process_jobs.scripted` that kill the process or
produce values that cannot cross (see ``PROCESS_STEPS``).

Rules that expose a bug listed in issue #12 and not fixed yet stay out of the
default run: list its item in :data:`KNOWN_BUGS` (they come back with
``THREADWORKER_MACHINE_ITEMS=4,10``, item numbers). The items once listed
(1, 4, 7, 9, 10, 11: BaseException callbacks, refusing executors, values that
fail to unpickle at home, ``async for`` from another loop, quit racing start,
controls from several threads at once) are fixed: every rule runs.
"""

from __future__ import annotations

import concurrent.futures
import os

#: Issue #12 items whose rules are off by default, with what they expose.
KNOWN_BUGS: dict[int, str] = {}

_ENABLED = {
    int(item) for item in os.environ.get("THREADWORKER_MACHINE_ITEMS", "").split(",") if item
}


def allowed(item: int) -> bool:
    """Whether rules exposing issue #12's *item* run."""
    return item not in KNOWN_BUGS or item in _ENABLED


class CallbackFault(Exception):
    """A bug in a callback."""


class CallbackBaseFault(BaseException):
    """A callback raising a BaseException that is not KeyboardInterrupt/SystemExit."""


class WorkBaseFault(BaseException):
    """Worker code raising a BaseException (e.g. a library's own cancellation)."""


def callback_faults() -> list[type[BaseException]]:
    """What a raising callback may raise."""
    return [CallbackFault, *([CallbackBaseFault] if allowed(7) else [])]


def executors() -> list[str]:
    """Where the machine's thread workers may run (``executor=``)."""
    return ["default", "thread-executor", *(["refusing"] if allowed(9) else [])]


def make_executor(kind: str) -> concurrent.futures.ThreadPoolExecutor | None:
    """The executor for *kind*: None (threadworker's own), a live one, or a shut one.

    A shut one refuses the work: the worker ends ``errored`` (a RuntimeError
    with the executor's error as ``__cause__``), then ``finished``, never
    ``started``; ``start()`` itself does not raise.
    """
    if kind == "default":
        return None
    executor = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="machine-executor")
    if kind == "refusing":
        executor.shutdown()  # submit() now raises RuntimeError
    return executor


#: Extra script steps for a worker process (see ``process_jobs.scripted``):
#: ``die`` ends the process (``WorkerProcessDied``); ``unpicklable`` yields or
#: returns a lock, which cannot cross; ``unloadable`` one that pickles in the
#: child but fails to unpickle in the parent (item 1).
PROCESS_STEPS = ["die", "unpicklable", *(["unloadable"] if allowed(1) else [])]
