"""Example 2, async style: a worker connected and started by the decorator.

``connect=`` starts the worker when the function is called; awaiting its
``finished`` signal waits for the callback to have run.
"""

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


async def main() -> None:
    view = make_image_view()
    view.show()

    @thread_worker(connect={"returned": view.show_array}, start_thread=True)
    def average_large_image() -> np.ndarray:
        return np.random.rand(args.frames, 512, 512).mean(0)

    worker = average_large_image()  # already started: connect= implies it
    await worker.finished
    print(f"returned: shown {view.frames_shown} image(s); value {(await worker).shape}")
    await until_window_closed(HEADLESS)


if HEADLESS:
    quiet_offscreen_warnings()
app = QApplication([])
qasync.run(main())
