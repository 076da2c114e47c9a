"""Example 1, async style: await a long computation while the window stays live.

The same ``np.random.rand(1024, 512, 512).mean(0)``, awaited inside a qasync
loop: ``await worker`` starts it and gives its return value, and the GUI
keeps ticking while we wait.
"""

import asyncio

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
def average_large_image() -> np.ndarray:
    return np.random.rand(args.frames, 512, 512).mean(0)


async def ticker(counter: list[int]) -> None:
    while True:
        await asyncio.sleep(0.01)
        counter[0] += 1


async def main() -> None:
    view = make_image_view()
    view.setWindowTitle("mean of random frames")
    view.show()
    ticks = [0]
    tick_task = asyncio.ensure_future(ticker(ticks))
    image = await average_large_image()  # starts the worker; the loop keeps running
    view.show_array(image)
    print(f"returned: a {image.shape} image; the GUI ticked {ticks[0]} times meanwhile")
    tick_task.cancel()
    await until_window_closed(HEADLESS)


if HEADLESS:
    quiet_offscreen_warnings()
app = QApplication([])
qasync.run(main())
