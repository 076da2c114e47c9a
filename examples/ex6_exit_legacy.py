"""Example 6, callback style: closing the window with workers still running.

``--mode stream``: an endless generator (example 5) is running; closing the
window exits at once — the generator is asked to stop at its next ``yield``.
``--mode function``: a long function (example 1) is running; a function
cannot be interrupted, so quitting waits for it (up to ``shutdown_timeout``)
and says so. Without a display the window is closed after a moment.
"""

import time
from collections.abc import Generator

from _common import ensure_display, quiet_offscreen_warnings

HEADLESS = ensure_display()

import argparse  # noqa: E402

import numpy as np  # noqa: E402
from qtpy.QtCore import QTimer  # noqa: E402
from qtpy.QtWidgets import QApplication  # noqa: E402

from threadworker import thread_worker  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--mode", choices=["stream", "function"], default="stream")
parser.add_argument("--seconds", type=float, default=3.0, help="how long the function runs")
args = parser.parse_args()


@thread_worker
def yield_random_images_forever() -> Generator[np.ndarray, None, None]:
    try:
        while True:
            yield np.random.rand(64, 64)
            time.sleep(0.05)
    finally:
        print("stream: generator stopped at its next yield")


@thread_worker
def long_function() -> str:
    time.sleep(args.seconds)  # stands in for np.random.rand(1024, 512, 512).mean(0)
    return "done"


if HEADLESS:
    quiet_offscreen_warnings()
app = QApplication([])
worker = yield_random_images_forever() if args.mode == "stream" else long_function()
if args.mode == "function":
    app.aboutToQuit.connect(
        lambda: print("function: waiting for long_function to finish before exiting…")
    )
worker.finished.connect(lambda: print(f"{args.mode}: worker finished"))
worker.start()
closed_at = [0.0]


def close_window() -> None:
    closed_at[0] = time.perf_counter()
    print(f"{args.mode}: window closed while the worker runs")
    app.quit()


QTimer.singleShot(300 if HEADLESS else 2000, close_window)
app.exec()  # on quit, threadworker ends its workers before returning
print(f"{args.mode}: exited {time.perf_counter() - closed_at[0]:.2f} s after the close")
