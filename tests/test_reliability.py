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

from threadworker import FunctionWorker, GeneratorWorker

WAIT = 10


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
