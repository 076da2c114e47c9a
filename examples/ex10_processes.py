"""Example 10: beyond threads — CPU-bound work in worker processes (no Qt needed).

Pure-Python number crunching holds the GIL: in threads it stalls the event
loop (or the GUI) however it is scheduled. ``executor="process"`` runs the
same code in worker processes with the same signals and awaits; generators
stream their values back, and ``quit()`` can stop even a function that never
returns, by ending its process.

Processes import this file to find the functions: they must live at module
level, and the program's main code must sit under ``if __name__ == "__main__":``.
"""

import argparse
import asyncio
import os
import time
from collections.abc import Generator

from threadworker import configure, create_worker, current_worker, progress, thread_worker


def crunch(n: int) -> int:
    """Pure-Python CPU work: it holds the GIL the whole time."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


@thread_worker(executor="process")
def partial_sums(chunks: int, size: int) -> Generator[tuple[int, int], None, int]:
    """Stream a partial result per chunk, from another process."""
    total = 0
    for _ in progress(range(chunks), desc="chunks"):
        total += crunch(size)
        yield os.getpid(), total
    return total


def stuck() -> None:
    """A function that never returns and never checks abort_requested."""
    worker = current_worker()
    assert worker is not None  # a stand-in, in the worker process
    while True:
        pass


async def worst_gap_while(work: "asyncio.Future[object]") -> float:
    """The longest wait a 10 ms loop timer saw while *work* ran, in ms."""
    worst = 0.0
    last = time.perf_counter()
    while not work.done():
        await asyncio.sleep(0.010)
        now = time.perf_counter()
        worst = max(worst, (now - last) * 1000)
        last = now
    return worst


async def four_workers(executor: str, n: int) -> tuple[float, float]:
    start = time.perf_counter()
    workers = [create_worker(crunch, n, _executor=executor) for _ in range(4)]
    everything = asyncio.ensure_future(asyncio.gather(*workers))
    worst = await worst_gap_while(everything)
    await everything
    return time.perf_counter() - start, worst


async def main(n: int, chunks: int) -> None:
    configure(max_processes=4, terminate_after=0.5)
    # Start the processes first, as a pool's threads exist before they are used.
    await asyncio.gather(*(create_worker(crunch, 1, _executor="process") for _ in range(4)))

    for executor, label in (("thread", "threads"), ("process", "processes")):
        seconds, worst = await four_workers(executor, n)
        print(f"in {label}: 4 workers took {seconds:.2f} s; worst loop-timer gap {worst:.0f} ms")

    worker = partial_sums(chunks, n // 10)
    pids = set()
    async for pid, total in worker:
        pids.add(pid)
        print(f"  partial sum {total}")
    bar = worker.pbar
    assert bar is not None
    print(
        f"streamed {chunks} values from process {pids} (this one is {os.getpid()}): "
        f"returned {await worker.returned}; progress {bar.desc} {bar.n}/{bar.total}"
    )

    runaway = create_worker(stuck, _executor="process", _start_thread=True)
    await asyncio.sleep(0.2)
    asked = time.perf_counter()
    await runaway.quit()  # asks, then ends the process after terminate_after
    await runaway.aborted  # one-shot signals are latched: this returns at once
    print(f"stuck worker quit: aborted after {time.perf_counter() - asked:.1f} s (process ended)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3_000_000, help="loop length per worker")
    parser.add_argument("--chunks", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.n, args.chunks))
