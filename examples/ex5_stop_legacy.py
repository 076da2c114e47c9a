"""Example 5, callback style: an endless generator and a STOP button.

A frame every 50 ms, forever, until STOP is clicked: the button is connected
to ``worker.quit``, and ``finished`` disconnects the button. Without a
display the "user" clicks STOP after a few frames.
"""

import time
from collections.abc import Generator

from _common import ensure_display, example_args, make_image_view, quiet_offscreen_warnings

HEADLESS = ensure_display()

import numpy as np  # noqa: E402
from qtpy.QtWidgets import QApplication, QPushButton, QVBoxLayout, QWidget  # noqa: E402

from threadworker import thread_worker  # noqa: E402

args = example_args(__doc__.splitlines()[0], click_after=5)

if HEADLESS:
    quiet_offscreen_warnings()
app = QApplication([])
window = QWidget()
layout = QVBoxLayout(window)
view = make_image_view()
button = QPushButton("STOP!")
layout.addWidget(view)
layout.addWidget(button)
window.show()


def update_layer(new_image: np.ndarray) -> None:
    view.show_array(new_image, -0.8, 0.8)
    if HEADLESS and view.frames_shown == args.click_after:
        button.click()  # the user has seen enough


@thread_worker
def yield_random_images_forever() -> Generator[np.ndarray, None, None]:
    i = 0
    while True:  # infinite loop!
        yield np.random.rand(512, 512) * np.cos(i * 0.2)
        i += 1
        time.sleep(0.05)


worker = yield_random_images_forever()
worker.yielded.connect(update_layer)
# add a button that, when clicked, stops the worker
button.clicked.connect(worker.quit)
worker.finished.connect(button.clicked.disconnect)
worker.aborted.connect(lambda: print(f"aborted after {view.frames_shown} frames"))
if HEADLESS:
    worker.finished.connect(app.quit)
worker.start()
app.exec()
