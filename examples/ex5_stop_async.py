"""Example 5, async style: ``async for`` until STOP, and ``await worker.quit()``.

The loop ends quietly when the worker is quit; awaiting ``quit()`` confirms
the generator has stopped (its ``finally`` blocks have run).
"""

import asyncio
import time
from collections.abc import Generator

from _common import ensure_display, example_args, make_image_view, quiet_offscreen_warnings

HEADLESS = ensure_display()

import numpy as np  # noqa: E402
import qasync  # noqa: E402
from qtpy.QtWidgets import QApplication, QPushButton, QVBoxLayout, QWidget  # noqa: E402

from threadworker import thread_worker  # noqa: E402

args = example_args(__doc__.splitlines()[0], click_after=5)


@thread_worker
def yield_random_images_forever() -> Generator[np.ndarray, None, None]:
    i = 0
    try:
        while True:
            yield np.random.rand(512, 512) * np.cos(i * 0.2)
            i += 1
            time.sleep(0.05)
    finally:
        print("generator closed")


async def main() -> None:
    window = QWidget()
    layout = QVBoxLayout(window)
    view = make_image_view()
    button = QPushButton("STOP!")
    layout.addWidget(view)
    layout.addWidget(button)
    window.show()
    worker = yield_random_images_forever()

    async def stop() -> None:
        await worker.quit()  # completes once the worker has finished
        print(f"quit confirmed after {view.frames_shown} frames")

    stopping: list[asyncio.Future[None]] = []
    button.clicked.connect(lambda: stopping.append(asyncio.ensure_future(stop())))
    async for image in worker:  # starts the worker; ends quietly when quit
        view.show_array(image, -0.8, 0.8)
        if HEADLESS and view.frames_shown == args.click_after:
            button.click()
    await asyncio.gather(*stopping)


if HEADLESS:
    quiet_offscreen_warnings()
app = QApplication([])
qasync.run(main())
