"""Example 4, callback style: watch a result build up through ``yielded``.

The generator yields the running mean of 1024 random 512x512 frames every 16
frames; each yielded image replaces the one on screen.
"""

from collections.abc import Generator

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
view.setWindowTitle("result")
view.show()


def update_layer(new_image: np.ndarray) -> None:
    view.show_array(new_image, 0.45, 0.55)


def report() -> None:
    print(f"yielded {view.frames_shown} intermediate images, then finished")
    if HEADLESS:
        app.quit()


@thread_worker(connect={"yielded": update_layer, "finished": report})
def large_random_images() -> Generator[np.ndarray, None, None]:
    cumsum = np.zeros((512, 512))
    for i in range(args.frames):
        cumsum += np.random.rand(512, 512)
        if i % 16 == 0:
            yield cumsum / (i + 1)


large_random_images()  # call the function!
app.exec()
