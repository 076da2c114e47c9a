"""A KeyboardInterrupt or SystemExit from a callback under ``app.exec()``.

It ends ``app.exec()`` the way it would end a script (shown by
``sys.excepthook``, exit status 130, or the ``SystemExit`` status), and
delivery survives it: the rest of the batch is still delivered, and later
workers deliver as usual.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import Any

import pytest

pytest.importorskip("qtpy")
from pytestqt.qtbot import QtBot
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication

from threadworker import FunctionWorker, GeneratorWorker

WAIT_MS = 10_000


def count(n: int) -> Generator[int, None, str]:
    yield from range(n)
    return "counted"


def _app() -> QApplication:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return app


def _exec_until_finished(worker: Any) -> int:
    """Run ``app.exec()`` with a watchdog; the worker's ``finished`` quits it."""
    app = _app()
    worker.finished.connect(app.quit)
    QTimer.singleShot(WAIT_MS, lambda: app.exit(99))  # a bound, not a wait
    return app.exec()


@pytest.mark.parametrize(
    ("raised", "status"),
    [(KeyboardInterrupt(), 130), (SystemExit(3), 3), (SystemExit(None), 0)],
    ids=["KeyboardInterrupt", "SystemExit(3)", "SystemExit(None)"],
)
def test_an_interrupt_in_a_callback_ends_app_exec_and_delivery_survives(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, raised: BaseException, status: int
) -> None:
    hooked: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: hooked.append(kind))
    app = _app()
    got: list[int] = []
    events: list[str] = []

    def interrupt_at_two(value: int) -> None:
        if value == 2:
            raise raised

    worker = GeneratorWorker(count, 5)
    worker.yielded.connect(interrupt_at_two)
    worker.yielded.connect(got.append)  # after the raising one: still called
    worker.returned.connect(lambda value: events.append("returned"))
    worker.finished.connect(lambda: events.append("finished"))
    QTimer.singleShot(0, worker.start)
    QTimer.singleShot(WAIT_MS, lambda: app.exit(99))  # a bound, not a wait
    assert app.exec() == status  # as the interrupt would end a script
    if isinstance(raised, KeyboardInterrupt):
        assert hooked == [KeyboardInterrupt]  # shown, as Python shows it
    qtbot.waitUntil(lambda: "finished" in events, timeout=WAIT_MS)
    assert got == [0, 1, 2, 3, 4]  # the rest of the batch was delivered
    assert events == ["returned", "finished"]

    # Later workers deliver as usual.
    later = FunctionWorker(lambda: "later")
    results: list[str] = []
    later.returned.connect(results.append)
    QTimer.singleShot(0, later.start)
    assert _exec_until_finished(later) == 0
    assert results == ["later"]
