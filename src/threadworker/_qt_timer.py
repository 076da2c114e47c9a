"""One-shot Qt timers for the ``app.exec()`` home (timeouts and debounce)."""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import Qt, QTimer

__all__ = ["QtTimer"]


class QtTimer:
    """Call *fn* once after *delay* seconds from the thread that made it.

    A precise timer: Qt's default (coarse) timers may fire 5 % late, which
    a timeout of seconds would notice. The handle owns the ``QTimer``: keep
    it until the call is made or cancelled.
    """

    def __init__(self, delay: float, fn: Callable[[], object]) -> None:
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(fn)
        self._timer.start(max(0, round(delay * 1000)))

    def cancel(self) -> None:
        """Stop the timer: the call is not made."""
        self._timer.stop()
