"""The tests' dask cluster: two worker processes on loopback, started by the test."""

from __future__ import annotations

import asyncio
from typing import Any


def local_cluster(distributed: Any) -> Any:
    """A ``LocalCluster`` of two single-thread worker processes, no dashboard."""
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        # Its HTTP server on a free loopback port, not 8787 (maybe taken).
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        host="127.0.0.1",
    )


def scheduler_tasks_named(client: Any, prefix: str) -> list[str]:
    """The keys of the scheduler's tasks whose names start with *prefix*."""

    def keys(dask_scheduler: Any) -> list[str]:
        return [str(key) for key in dask_scheduler.tasks]

    return [key for key in client.run_on_scheduler(keys) if key.startswith(prefix)]


async def until_released(client: Any, prefix: str) -> None:
    """Return once the scheduler has forgotten every task named *prefix* (poll)."""
    while scheduler_tasks_named(client, prefix):
        await asyncio.sleep(0.02)


async def until_running(client: Any) -> None:
    """Return once a dask worker is processing a task (poll)."""
    while not any(client.processing().values()):
        await asyncio.sleep(0.02)
