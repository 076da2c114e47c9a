"""Example 6, async style: leaving ``async with`` quits and waits for the worker.

``--mode stream``: the endless generator stops at its next ``yield``, so the
program exits at once. ``--mode function``: a function cannot be interrupted;
leaving the block waits until it returns, and says so.
"""

import argparse
import asyncio
import time
from collections.abc import Generator

from _common import ensure_display

ensure_display()

import numpy as np  # noqa: E402
import qasync  # noqa: E402
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
    time.sleep(args.seconds)
    return "done"


async def main() -> None:
    worker = yield_random_images_forever() if args.mode == "stream" else long_function()
    async with worker:  # started here; quit and awaited on the way out
        await asyncio.sleep(0.3)  # the user closes the window now
        closed_at = time.perf_counter()
        print(f"{args.mode}: window closed while the worker runs")
        if args.mode == "function":
            print("function: waiting for long_function to finish before exiting…")
    print(f"{args.mode}: exited {time.perf_counter() - closed_at:.2f} s after the close")


app = QApplication([])
qasync.run(main())
