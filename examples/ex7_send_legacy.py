"""Example 7, callback style: two-way communication with ``send``.

The generator receives values with ``x = yield``: a spin box's
``valueChanged`` is connected straight to ``worker.send``. Every value sent
reaches the generator, in order, one per ``yield``.
"""

import time
from collections.abc import Generator

from _common import ensure_display, quiet_offscreen_warnings, when_headless

HEADLESS = ensure_display()

from qtpy.QtWidgets import QApplication, QLabel, QSpinBox, QVBoxLayout, QWidget  # noqa: E402

from threadworker import thread_worker  # noqa: E402

if HEADLESS:
    quiet_offscreen_warnings()
app = QApplication([])
window = QWidget()
layout = QVBoxLayout(window)
spin = QSpinBox()
spin.setRange(1, 10)
label = QLabel("…")
layout.addWidget(spin)
layout.addWidget(label)
window.show()


@thread_worker
def multiples() -> Generator[str, int | None, None]:
    factor, i = 1, 0
    while True:
        received = yield f"{i} x {factor} = {i * factor}"
        if received is not None:
            print(f"generator received {received}")
            factor = received
        i += 1
        time.sleep(0.02)


worker = multiples()
worker.yielded.connect(label.setText)
spin.valueChanged.connect(worker.send)  # each new value goes into the thread
worker.finished.connect(lambda: print(f"last line shown: {label.text()}"))
if HEADLESS:
    worker.finished.connect(app.quit)
    when_headless(HEADLESS, 200, lambda: spin.setValue(3))
    when_headless(HEADLESS, 400, lambda: spin.setValue(7))
    when_headless(HEADLESS, 600, worker.quit)
worker.start()
app.exec()
