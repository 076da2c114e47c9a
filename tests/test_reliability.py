"""Hostile use: many workers, control from other threads, widgets that go away."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Generator

import pytest

from threadworker import FunctionWorker, GeneratorWorker

WAIT = 10


# A bound, not a speed check: its child takes ~30 s alone and far longer on a
# loaded machine; the child's own subprocess timeout is the same.
@pytest.mark.timeout(300)
def test_a_hundred_thousand_workers_leave_memory_flat() -> None:
    code = textwrap.dedent(
        """
        import asyncio, gc, json, weakref
        from threadworker import FunctionWorker

        def rss():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024

        class View:
            def show(self, value):
                self.value = value

        async def main():
            view = View()
            refs = []
            samples = {}
            for i in range(100_000):
                worker = FunctionWorker(abs, -1)
                worker.returned.connect(view.show)
                worker.finished.connect(lambda: None)
                await worker
                if i % 10_000 == 0:
                    refs.append(weakref.ref(worker))
                if i in (10_000, 99_999):
                    gc.collect()
                    samples[i] = rss()
            del worker
            gc.collect()
            return samples, sum(r() is not None for r in refs)

        samples, alive = asyncio.run(main())
        print(json.dumps({"growth_mib": samples[99_999] - samples[10_000], "alive": alive}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["alive"] == 0  # every finished worker was collected
    assert report["growth_mib"] < 5, report  # flat, within a few MiB


async def test_control_from_another_worker_thread_works() -> None:
    def ticks() -> Generator[int, None, None]:
        while True:
            yield 0
            threading.Event().wait(0.001)

    target = GeneratorWorker(ticks)
    target.start()
    await asyncio.wait_for(target.yielded, WAIT)

    def controller() -> str:
        target.pause()
        target.resume()
        target.send(None)
        target.quit()  # thread-safe: takes effect at the target's next yield
        return "done"

    assert await asyncio.wait_for(FunctionWorker(controller), WAIT) == "done"
    await asyncio.wait_for(target.finished, WAIT)
    await target.aborted


def test_a_worker_whose_widget_is_closed_mid_run(qtbot: object) -> None:
    from pytestqt.qtbot import QtBot
    from qtpy.QtWidgets import QLabel

    assert isinstance(qtbot, QtBot)
    gate = threading.Event()

    def frames() -> Generator[str, None, str]:
        yield "first"
        gate.wait(WAIT)
        yield "after the close"
        return "done"

    label = QLabel()
    worker = GeneratorWorker(frames)
    worker.yielded.connect(label.setText)
    with qtbot.waitSignal(worker.yielded, timeout=WAIT * 1000):
        worker.start()
    label.close()
    label.deleteLater()
    qtbot.wait(10)  # the deferred delete happens: the C++ label is gone
    with qtbot.waitSignal(worker.finished, timeout=WAIT * 1000):
        gate.set()  # the next value would go to the deleted label: skipped
    assert worker._fired["returned"] == "done"


async def test_process_workers_under_random_control_all_end_once() -> None:
    """Many process workers, two processes, random quits and sends: books balance."""
    import random
    from typing import Any

    import process_jobs as jobs
    from threadworker import configure, create_worker

    configure(max_processes=2, terminate_after=0.1)
    rng = random.Random(7)
    workers: list[Any] = []
    outcomes: list[list[str]] = []
    for i in range(120):
        worker: Any = create_worker(
            jobs.maybe_fail if i % 2 else jobs.steps, i, _executor="process"
        )
        record: list[str] = []
        for name in ("returned", "errored", "aborted"):
            getattr(worker, name).connect(lambda *_, n=name, r=record: r.append(n))
        worker.start()
        workers.append(worker)
        outcomes.append(record)
    for i, worker in enumerate(workers):
        roll = rng.random()
        if roll < 0.2:
            worker.quit()
        elif roll < 0.4 and i % 2 == 0:
            worker.send(i)  # may arrive after the generator ended: its latch says so

    async def finished(worker: Any) -> None:
        await worker.finished

    await asyncio.wait_for(asyncio.gather(*(finished(w) for w in workers)), 60)
    assert all(len(events) == 1 for events in outcomes), outcomes  # exactly one outcome
    for i, (worker, (outcome,)) in enumerate(zip(workers, outcomes, strict=True)):
        if outcome == "returned" and i % 2:
            assert await worker == i * 2
        if outcome == "errored":
            assert (i % 7 == 3) if i % 2 else (i % 9 == 4)
    assert sum(events == ["aborted"] for events in outcomes) >= 10  # quits took effect
