"""Example 1, callback style: a long computation that does not freeze the window.

``np.random.rand(1024, 512, 512).mean(0)`` takes seconds. Run in the GUI
thread it would freeze the window; as a worker, the window stays live (a
10 ms timer keeps ticking) and the image appears when ``returned`` fires.
"""

from _common import (
    ensure_display,
    example_args,
    make_image_view,
    quiet_offscreen_warnings,
)

HEADLESS = ensure_display()

import numpy as np  # noqa: E402
from qtpy.QtCore import QTimer  # noqa: E402
from qtpy.QtWidgets import QApplication  # noqa: E402

from threadworker import thread_worker  # noqa: E402

args = example_args(__doc__.splitlines()[0], frames=1024)


@thread_worker
def average_large_image() -> np.ndarray:
    return np.random.rand(args.frames, 512, 512).mean(0)


if HEADLESS:
    quiet_offscreen_warnings()
app = QApplication([])
view = make_image_view()
view.setWindowTitle("mean of random frames")
view.show()

ticks = [0]
timer = QTimer()
timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
timer.start(10)


def show(image: np.ndarray) -> None:
    view.show_array(image)
    print(f"returned: a {image.shape} image; the GUI ticked {ticks[0]} times meanwhile")


worker = average_large_image()  # create the worker
worker.returned.connect(show)  # connect callbacks
if HEADLESS:
    worker.finished.connect(app.quit)
worker.start()  # start the thread!
app.exec()
