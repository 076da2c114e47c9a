"""A slider that recomputes an image: an exclusive, debounced worker (latest wins).

Dragging the slider starts a worker for every value it passes. With
``exclusive=True`` a new start quits the one still computing (it ends
``aborted`` at its next ``yield``), and with ``debounce=`` a start waits a
moment first: while the slider moves, the starts replace each other without
ever running, and only the value where it rests is computed.

Without a display it drags the slider by itself, twice (the second drag
while the first result is being computed), and prints what ran.
"""

import argparse
import sys
import threading
from collections.abc import Generator

import numpy as np
from _common import ensure_display, make_image_view, quiet_offscreen_warnings

HEADLESS = ensure_display()

from qtpy.QtCore import Qt, QTimer  # noqa: E402
from qtpy.QtWidgets import QApplication, QSlider, QVBoxLayout, QWidget  # noqa: E402

from threadworker import thread_worker  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--size", type=int, default=256, help="image side in pixels")
parser.add_argument("--row-ms", type=float, default=2.0, help="extra work per row (ms)")
args = parser.parse_args()


@thread_worker(exclusive=True, debounce=0.05)
def rings(frequency: int) -> Generator[None, None, tuple[int, np.ndarray]]:
    """Concentric rings of *frequency*, one row at a time (a quit stops between rows)."""
    side = args.size
    x = np.linspace(-1, 1, side)
    image = np.empty((side, side))
    pause = threading.Event()  # stands in for heavier work per row
    for row in range(side):
        image[row] = np.sin(frequency * np.hypot(x, x[row]) * np.pi)
        pause.wait(args.row_ms / 1000)
        yield
    return frequency, image


if HEADLESS:
    quiet_offscreen_warnings()
app = QApplication([])
window = QWidget()
window.setWindowTitle("threadworker: latest wins")
layout = QVBoxLayout(window)
view = make_image_view(args.size)
slider = QSlider(Qt.Orientation.Horizontal)
slider.setRange(1, 60)
layout.addWidget(view)
layout.addWidget(slider)
window.show()

values_seen: list[int] = []  # every value the slider passed
ran: list[int] = []  # the values whose computation started
superseded: list[int] = []  # started, then replaced by a newer value


def recompute(value: int) -> None:
    values_seen.append(value)
    worker = rings(value)
    worker.started.connect(lambda: computing(value))
    # Aborted after it started: a newer value replaced it mid-computation (the
    # ones replaced during their debounce wait never start).
    worker.aborted.connect(lambda: superseded.append(value) if value in ran else None)
    worker.returned.connect(show)
    worker.start()


def computing(value: int) -> None:
    ran.append(value)
    if HEADLESS and value == 30:  # the first drag rests here: drag on while it computes
        QTimer.singleShot(0, lambda: drag(range(31, 61)))


def show(result: tuple[int, np.ndarray]) -> None:
    frequency, image = result
    view.show_array(image)
    if HEADLESS and frequency == 60:
        print(
            f"slider passed {len(values_seen)} values; computed {len(ran)} of them "
            f"{ran}; {len(superseded)} superseded while computing; showing {frequency}"
        )
        app.quit()


def drag(values: range) -> None:
    for value in values:  # a hand's drag: every value, one right after another
        slider.setValue(value)


slider.valueChanged.connect(recompute)
if HEADLESS:
    QTimer.singleShot(0, lambda: drag(range(1, 31)))
    QTimer.singleShot(60_000, lambda: app.exit(1))  # a bound, should it never finish
sys.exit(app.exec())
