"""The scope of a home: abandoned workers, and the delivery settings of ``configure``."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from threadworker import FunctionWorker, WorkerAborted, configure

WAIT = 10


def test_a_worker_abandoned_with_its_loop_fails_later_awaits_at_once() -> None:
    # Its loop closed while it still ran: its outcome can never be delivered,
    # so it ends "aborted" then, and a later await says so instead of hanging.
    release = threading.Event()

    def stuck() -> str:
        release.wait(WAIT)
        return "too late"

    loop = asyncio.new_event_loop()
    events: list[str] = []

    async def begin() -> FunctionWorker[str]:
        configure(shutdown_timeout=0.01)
        worker = FunctionWorker(stuck)
        worker.aborted.connect(lambda: events.append("aborted"))
        worker.finished.connect(lambda: events.append("finished"))
        worker.start()
        await worker.started
        return worker

    try:
        worker = loop.run_until_complete(begin())
    finally:
        with pytest.warns(RuntimeWarning, match="abandoned 1 worker"):
            loop.close()
    try:
        assert events == ["aborted", "finished"]  # delivered on its loop, as it closed

        async def later() -> str:
            return await asyncio.wait_for(worker, WAIT)

        with pytest.raises(WorkerAborted, match="abandoned"):
            asyncio.run(later())
    finally:
        release.set()
        worker._thread_done.wait(WAIT)


async def test_max_bytes_in_flight_is_validated() -> None:
    with pytest.raises(ValueError, match="max_bytes_in_flight must be at least 1"):
        configure(max_bytes_in_flight=0)
    with pytest.raises(TypeError, match="must be an int"):
        configure(max_bytes_in_flight=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be an int"):
        configure(max_bytes_in_flight=True)
    configure(max_bytes_in_flight=2**20)


async def test_times_and_switches_are_validated_with_the_fix() -> None:
    # inf or 1e300 overflowed thread.join at the loop's close; nan meant 0.
    options: dict[str, Any]
    for name in ("terminate_after", "shutdown_timeout"):
        for bad in (float("inf"), float("nan"), 1e300, -1):
            options = {name: bad}
            with pytest.raises(ValueError, match=f"{name} must be a number of seconds from 0"):
                configure(**options)
        options = {name: "1"}
        with pytest.raises(TypeError, match=f"{name} must be a number of seconds"):
            configure(**options)
    configure(terminate_after=2, shutdown_timeout=0.5)  # ints and floats
    for switch in ("no", 0):  # "no" used to mean True
        options = {"shared_memory": switch}
        with pytest.raises(TypeError, match="shared_memory must be True or False"):
            configure(**options)
    configure(shared_memory=True)
