"""Example 4, async style: ``async for`` over the images as they build up.

Iterating a generator worker starts it and gives every yielded value, in
order, on the GUI thread.
"""

from collections.abc import Generator

from _common import (
    ensure_display,
    example_args,
    make_image_view,
    quiet_offscreen_warnings,
    until_window_closed,
)

HEADLESS = ensure_display()

import numpy as np  # noqa: E402
import qasync  # noqa: E402
from qtpy.QtWidgets import QApplication  # noqa: E402

from threadworker import thread_worker  # noqa: E402

args = example_args(__doc__.splitlines()[0], frames=1024)


@thread_worker
def large_random_images() -> Generator[np.ndarray, None, None]:
    cumsum = np.zeros((512, 512))
    for i in range(args.frames):
        cumsum += np.random.rand(512, 512)
        if i % 16 == 0:
            yield cumsum / (i + 1)


async def main() -> None:
    view = make_image_view()
    view.show()
    async for image in large_random_images():
        view.show_array(image, 0.45, 0.55)
    print(f"yielded {view.frames_shown} intermediate images, then finished")
    await until_window_closed(HEADLESS)


if HEADLESS:
    quiet_offscreen_warnings()
app = QApplication([])
qasync.run(main())
