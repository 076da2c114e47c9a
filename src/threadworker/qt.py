"""Qt widgets for threadworker. Importing this module imports Qt (via qtpy).

``WorkerProgress`` shows workers' ``pbar`` models as labelled progress bars
with Cancel and Pause buttons.
"""

from __future__ import annotations

import time
from typing import Any

try:
    from qtpy import QtCore
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget
except ImportError as exc:  # qtpy missing, or qtpy without a binding (its error is one too)
    # Still a ModuleNotFoundError, so code that catches that keeps working.
    raise ModuleNotFoundError(
        f"threadworker.qt needs qtpy and a Qt binding ({exc}): "
        "pip install 'threadworker[qt]' (PyQt6) or 'threadworker[pyside6]'",
        name=exc.name,
    ) from exc

from ._generator_worker import GeneratorWorker
from ._progress import REFRESH_PER_SECOND
from ._worker import WorkerBase

__all__ = ("WorkerProgress",)


class _WorkerRow(QWidget):
    """One worker: its description, bar, Cancel and (for generators) Pause."""

    def __init__(self, worker: WorkerBase[Any], parent: QWidget) -> None:
        super().__init__(parent)
        self.worker = worker
        self.pbar = worker._ensure_pbar()
        self.refreshes = 0
        self._last = 0.0
        self._pending = False
        self.label = QLabel(self.pbar.desc or worker._name)
        self.bar = QProgressBar()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(worker.quit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.bar, 1)
        self.pause_button: QPushButton | None = None
        if isinstance(worker, GeneratorWorker):
            self.pause_button = QPushButton("Pause")
            self.pause_button.clicked.connect(worker.toggle_pause)
            worker.paused.connect(self._show_paused)
            worker.resumed.connect(self._show_resumed)
            layout.addWidget(self.pause_button)
        layout.addWidget(self.cancel_button)
        self.pbar.changed.connect(self._changed)
        self._refresh()

    def _show_paused(self) -> None:
        if self.pause_button is not None:
            self.pause_button.setText("Resume")

    def _show_resumed(self) -> None:
        if self.pause_button is not None:
            self.pause_button.setText("Pause")

    def _changed(self) -> None:
        # At most REFRESH_PER_SECOND redraws, however fast the worker reports.
        wait = self._last + 1 / REFRESH_PER_SECOND - time.monotonic()
        if wait <= 0:
            self._refresh()
        elif not self._pending:
            self._pending = True
            QTimer.singleShot(max(1, round(wait * 1000)), self._refresh)

    def _refresh(self) -> None:
        self._pending = False
        self._last = time.monotonic()
        self.refreshes += 1
        pbar = self.pbar
        if pbar.desc:
            self.label.setText(pbar.desc)
        if pbar.total:  # determinate
            self.bar.setRange(0, pbar.total)
            self.bar.setValue(min(pbar.n, pbar.total))
        else:  # indeterminate: a busy indicator
            self.bar.setRange(0, 0)


class WorkerProgress(QWidget):
    """Labelled progress bars for one or more workers, with Cancel and Pause.

    Each worker gets a row: its ``pbar``'s description, a ``QProgressBar``
    (a busy indicator while ``total`` is 0), a Cancel button that quits the
    worker, and for generator workers a Pause/Resume toggle. A row removes
    itself when its worker finishes; when none is left the widget hides and
    emits ``all_finished``. Redraws are throttled to 30 a second.

    Parameters
    ----------
    *workers : WorkerBase
        Workers to show; each gets a ``pbar`` if it had none.
    parent : QWidget, optional
        The parent widget.
    """

    all_finished = QtCore.Signal()  # type: ignore[attr-defined]

    def __init__(self, *workers: WorkerBase[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self.rows: list[_WorkerRow] = []
        for worker in workers:
            self.add_worker(worker)

    def add_worker(self, worker: WorkerBase[Any]) -> None:
        """Show one more worker."""
        row = _WorkerRow(worker, self)
        self.rows.append(row)
        self._layout.addWidget(row)
        row.pbar.closed.connect(self._row_closed)
        if row.pbar.is_closed:
            self._remove(row)

    def _row_closed(self) -> None:
        for row in [r for r in self.rows if r.pbar.is_closed]:
            self._remove(row)

    def _remove(self, row: _WorkerRow) -> None:
        self.rows.remove(row)
        self._layout.removeWidget(row)
        row.hide()
        row.deleteLater()  # ours alone: nobody else holds the row
        if not self.rows:
            self.hide()
            self.all_finished.emit()
