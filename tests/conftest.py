"""Shared fixtures: every async test runs on plain asyncio and on qasync.

Every test is checked for leaks: no ``threadworker-*`` thread, no worker
process and no shared memory segment in ``/dev/shm`` may outlive it, and
nothing may reach a loop's exception handler unless the test takes it
with the ``loop_errors`` fixture.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyqt6")

import pytest
from hypothesis import HealthCheck, settings

# The state machine's budget: "ci" keeps the suite fast; run thousands of
# examples with ``pytest --hypothesis-profile=long``.
_slow = [HealthCheck.too_slow]
settings.register_profile(
    "ci", max_examples=40, stateful_step_count=20, deadline=None, suppress_health_check=_slow
)
settings.register_profile(
    "long", max_examples=2000, stateful_step_count=40, deadline=None, suppress_health_check=_slow
)
settings.load_profile("ci")

_loop_errors: list[dict[str, Any]] = []


def _record(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    _loop_errors.append(context)


def _asyncio_loop() -> asyncio.AbstractEventLoop:
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_record)
    return loop


def _qasync_loop() -> asyncio.AbstractEventLoop:
    from qt_loops import new_qasync_loop

    loop = new_qasync_loop()
    loop.set_exception_handler(_record)
    return loop


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Run each async test twice: on asyncio's loop and on qasync's."""
    return {"asyncio": _asyncio_loop, "qasync": _qasync_loop}


@pytest.fixture
def loop_errors() -> list[dict[str, Any]]:
    """What reached the loop's exception handler; a test taking it owns it."""
    return _loop_errors


def _close_qt_scopes() -> None:
    from threadworker import _scope

    with _scope._scopes_lock:
        scopes = list(_scope._scopes.values())
    for scope in scopes:
        if type(scope.dispatcher).__name__ == "QtDispatcher" and not scope.closed:
            scope.close_blocking(deliver=True)
            scope.dispatcher.close()


def worker_threads() -> list[threading.Thread]:
    """Threads threadworker started that are still alive."""
    return [t for t in threading.enumerate() if t.name.startswith("threadworker-") and t.is_alive()]


def worker_processes() -> list[multiprocessing.process.BaseProcess]:
    """Worker processes threadworker started that are still alive."""
    return [p for p in multiprocessing.active_children() if p.name == "threadworker-process"]


def shared_memory_segments() -> set[str]:
    """This process's worker processes' shared memory segments in ``/dev/shm`` (issue 16)."""
    from threadworker._shared_memory import leftover_segments

    return set(leftover_segments(os.getpid()))


@pytest.fixture(autouse=True)
def _check_no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    _loop_errors.clear()
    segments_before = shared_memory_segments()
    yield
    _close_qt_scopes()
    # Grace join: a finished worker's thread may still be returning.
    deadline = time.monotonic() + 5
    for thread in worker_threads():
        thread.join(max(0.0, deadline - time.monotonic()))
    for process in worker_processes():
        process.join(max(0.0, deadline - time.monotonic()))
    leaked: list[object] = [*worker_threads(), *worker_processes()]
    # Ended with its worker processes: their couriers, joined above, remove them.
    leaked += sorted(shared_memory_segments() - segments_before)
    errors = list(_loop_errors)
    _loop_errors.clear()
    taken = "loop_errors" in request.fixturenames
    assert not leaked, f"workers outlived the test: {leaked}"
    assert taken or not errors, f"unexpected errors reached the loop: {errors}"
