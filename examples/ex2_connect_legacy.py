"""Example 2, callback style: ``connect=`` and ``start_thread=`` in the decorator.

Equivalent to example 1: the decorator connects ``returned`` and starts the
worker as soon as the function is called.
"""

from _common import ensure_display, example_args, make_image_view, quiet_offscreen_warnings

HEADLESS = ensure_display()

import numpy as np  # noqa: E402
from qtpy.QtWidgets import QApplication  # noqa: E402

from threadworker import thread_worker  # noqa: E402

args = example_args(__doc__.splitlines()[0], frames=1024)

if HEADLESS:
    quiet_offscreen_warnings()
app = QApplication([])
view = make_image_view()
view.show()


def show(image: np.ndarray) -> None:
    view.show_array(image)
    print(f"returned: a {image.shape} image, shown")
    if HEADLESS:
        app.quit()


@thread_worker(connect={"returned": show}, start_thread=True)
def average_large_image() -> np.ndarray:
    return np.random.rand(args.frames, 512, 512).mean(0)


average_large_image()
app.exec()
