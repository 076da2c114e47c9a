"""Example 9: pure asyncio, no Qt — a terminal progress bar for a generator worker.

The generator yields its progress; ``async for`` draws a bar while the
event loop stays free for other tasks (here, a spinner).
"""

import argparse
import asyncio
import sys
import time
from collections.abc import Generator

from threadworker import thread_worker

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--steps", type=int, default=50)
args = parser.parse_args()


@thread_worker
def crunch(steps: int) -> Generator[int, None, str]:
    for step in range(1, steps + 1):
        time.sleep(0.02)  # blocking work
        yield step
    return f"crunched {steps} steps"


async def spinner(ticks: list[int]) -> None:
    while True:
        await asyncio.sleep(0.01)
        ticks[0] += 1


async def main() -> None:
    ticks = [0]
    spin = asyncio.ensure_future(spinner(ticks))
    worker = crunch(args.steps)
    async for step in worker:
        filled = step * 30 // args.steps
        bar = "#" * filled + "." * (30 - filled)
        end = "\r" if sys.stdout.isatty() else "\n"
        print(f"[{bar}] {step}/{args.steps}", end=end, flush=True)
    spin.cancel()
    print(f"\n{await worker.returned}; the loop ran {ticks[0]} other ticks meanwhile")


asyncio.run(main())
