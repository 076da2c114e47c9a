"""Soak: a mixed load of workers under random control and faults, for a while.

Runs generator and function workers with random pause/resume/send/quit,
generators and callbacks that raise, warnings, and workers started from
callbacks and from worker threads — continuously, for ``--seconds`` — and
checks the books: every exception raised in a worker delivered exactly once,
every value sent received exactly once or reported undelivered, no worker
thread left. Prints a report; exits 1 if anything was lost or leaked.

With ``--processes F`` a fraction F of the workers run in worker processes
(``executor="process"``), some of them stuck for good so that only a quit
(which ends their process) stops them; their books: every worker ends with
exactly one outcome, the planned failures and only those end ``errored``,
every send is confirmed or reported undelivered, and no worker process is
left at the end.

Usage: ``python benchmarks/soak.py [--seconds 600] [--concurrency 20] [--processes 0.3]``
(``make soak``, ``make soak-processes``; ``SOAK_SECONDS=60`` for a short one).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import random
import threading
import time
import warnings
from collections.abc import Generator
from typing import Any

from scenarios import rss_mib

from threadworker import (
    FunctionWorker,
    GeneratorWorker,
    WorkerAborted,
    WorkerFinishedError,
    configure,
)


class Books:
    """What was raised, delivered, sent and received."""

    def __init__(self) -> None:
        self.workers = 0
        self.raised = 0  # exceptions raised by worker code
        self.delivered = 0  # ... that reached an errored callback
        self.callback_raises = 0  # callbacks that raised on purpose
        self.reported = 0  # exceptions that reached the loop's handler
        self.sent = 0
        self.received = 0
        self.undelivered = 0  # sends whose awaitable said the worker ended first
        self.values = 0
        self.max_stall_ms = 0.0
        self.lock = threading.Lock()
        # Workers in worker processes: checked by their outcomes.
        self.process_workers = 0
        self.process_outcomes_wrong = 0  # not exactly one, or not the planned one
        self.process_kills = 0  # stuck workers ended by quit


def make_generator(books: Books, rng: random.Random) -> GeneratorWorker[int, Any, None]:
    steps = rng.randint(1, 200)
    fail_at = rng.randint(0, steps) if rng.random() < 0.2 else -1

    def gen() -> Generator[int, Any, None]:
        for i in range(steps):
            if i == fail_at:
                with books.lock:
                    books.raised += 1
                raise RuntimeError("planned generator failure")
            received = yield i
            if received is not None:
                with books.lock:
                    books.received += 1
            if rng.random() < 0.05:
                time.sleep(0.001)

    return GeneratorWorker(gen)


def make_function(books: Books, rng: random.Random) -> FunctionWorker[int]:
    fail = rng.random() < 0.2
    warn = rng.random() < 0.1
    duration = rng.choice([0.0, 0.0, 0.001, 0.005])

    def work() -> int:
        time.sleep(duration)
        if warn:
            warnings.warn("planned warning", UserWarning, stacklevel=1)
        if fail:
            with books.lock:
                books.raised += 1
            raise ValueError("planned function failure")
        return 1

    return FunctionWorker(work)


async def drive_one(books: Books, rng: random.Random) -> None:
    worker: Any = make_generator(books, rng) if rng.random() < 0.6 else make_function(books, rng)
    books.workers += 1
    worker.errored.connect(lambda exc: setattr(books, "delivered", books.delivered + 1))
    worker.warned.connect(lambda w: None)
    if rng.random() < 0.1:

        def bad_callback(*_: object) -> None:
            books.callback_raises += 1
            raise KeyError("planned callback failure")

        worker.finished.connect(bad_callback)
    if isinstance(worker, GeneratorWorker):
        worker.yielded.connect(lambda v: setattr(books, "values", books.values + 1))
    worker.start()
    sends = await steer(worker, books, rng) if isinstance(worker, GeneratorWorker) else []
    if rng.random() < 0.3:
        worker.quit()
    try:
        await asyncio.wait_for(worker, 30)
    except (WorkerAborted, RuntimeError, ValueError):
        pass
    # The generator itself counts what it received.
    await settle(sends, books, count_received=False)


async def steer(worker: Any, books: Books, rng: random.Random) -> list[Any]:
    """Pause, resume, toggle and send at random for a while; return the sends."""
    sends = []
    for _ in range(rng.randint(0, 6)):
        await asyncio.sleep(rng.uniform(0, 0.003))
        action = rng.choice(["pause", "resume", "toggle", "send", "send", "nothing"])
        if action == "send":
            books.sent += 1
            sends.append(worker.send(rng.randint(0, 9)))
        elif action == "pause":
            worker.pause()
        elif action == "resume":
            worker.resume()
        elif action == "toggle":
            worker.toggle_pause()
    worker.resume()
    return sends


async def settle(sends: list[Any], books: Books, *, count_received: bool) -> None:
    """Every send is confirmed received or reported undelivered — within a bound."""
    for send in sends:
        try:
            await asyncio.wait_for(send, 30)
        except WorkerFinishedError:
            books.undelivered += 1
        else:
            books.received += count_received


# -- workers in worker processes: module level, so the processes find them ----------------
def process_generator(steps: int, fail_at: int) -> Generator[int, Any, None]:
    for i in range(steps):
        if i == fail_at:
            raise RuntimeError("planned generator failure")
        yield i
        if i % 50 == 49:
            time.sleep(0.001)


def process_function(duration: float, fail: bool) -> int:
    time.sleep(duration)
    if fail:
        raise ValueError("planned function failure")
    return 1


def process_stuck() -> None:
    while True:  # never returns, never looks at abort_requested: quit must kill it
        time.sleep(0.01)


async def drive_one_in_a_process(books: Books, rng: random.Random) -> None:
    from threadworker import create_worker

    roll = rng.random()
    worker: Any
    if roll < 0.05:
        kind, planned_failure = "stuck", False
        worker = create_worker(process_stuck, _executor="process")
    elif roll < 0.6:
        steps = rng.randint(1, 300)
        fail_at = rng.randint(0, steps) if rng.random() < 0.2 else -1
        kind, planned_failure = "generator", 0 <= fail_at < steps
        worker = create_worker(process_generator, steps, fail_at, _executor="process")
    else:
        fail = rng.random() < 0.2
        kind, planned_failure = "function", fail
        duration = rng.choice([0.0, 0.0, 0.001, 0.01])
        worker = create_worker(process_function, duration, fail, _executor="process")
    books.process_workers += 1
    outcomes: list[str] = []
    for name in ("returned", "errored", "aborted"):
        getattr(worker, name).connect(lambda *_, n=name: outcomes.append(n))
    if kind == "generator":
        worker.yielded.connect(lambda v: setattr(books, "values", books.values + 1))
    worker.start()
    sends = await steer(worker, books, rng) if kind == "generator" else []
    quit_asked = kind == "stuck" or rng.random() < 0.3
    if quit_asked:
        await asyncio.sleep(rng.uniform(0, 0.01))
        worker.quit()
    await asyncio.wait_for(worker.finished, 60)
    # The generator is in another process: its confirmations are the witness.
    await settle(sends, books, count_received=True)
    wrong = len(outcomes) != 1
    if not wrong and outcomes[0] == "errored":
        wrong = not planned_failure  # only planned failures may end in error
    elif not wrong and not quit_asked:
        wrong = planned_failure  # a planned failure nobody quit must end in error
    if kind == "stuck":
        wrong = wrong or outcomes != ["aborted"]
        books.process_kills += 1
    books.process_outcomes_wrong += wrong


async def stall_meter(books: Books, stop: asyncio.Event) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        books.max_stall_ms = max(books.max_stall_ms, (now - last) * 1000)
        last = now


async def soak(
    seconds: float, concurrency: int, seed: int, processes: float = 0.0
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    books = Books()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        books.reported += 1

    loop.set_exception_handler(handler)
    configure(max_threads=4, terminate_after=0.2)
    rng = random.Random(seed)
    stop = asyncio.Event()
    meter = asyncio.ensure_future(stall_meter(books, stop))
    await asyncio.sleep(0.05)
    books.max_stall_ms = 0.0
    rss_start = rss_mib()
    deadline = time.monotonic() + seconds

    async def lane(lane_seed: int) -> None:
        lane_rng = random.Random(lane_seed)
        while time.monotonic() < deadline:
            if lane_rng.random() < processes:
                await drive_one_in_a_process(books, lane_rng)
            else:
                await drive_one(books, lane_rng)

    await asyncio.gather(*(lane(rng.randrange(1 << 30)) for _ in range(concurrency)))
    stop.set()
    await meter
    gc.collect()
    rss_end = rss_mib()
    return {"books": books, "rss_start": rss_start, "rss_end": rss_end}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--processes", type=float, default=0.0, help="fraction of workers in worker processes"
    )
    args = parser.parse_args()
    warnings.simplefilter("default")
    started = time.perf_counter()
    outcome = asyncio.run(soak(args.seconds, args.concurrency, args.seed, args.processes))
    books: Books = outcome["books"]
    leaked = [t.name for t in threading.enumerate() if t.name.startswith("threadworker-")]
    leaked += [p.name for p in multiprocessing.active_children() if p.name.startswith("threadw")]
    # Every worker exception reached an errored callback (all have one), and
    # every planned callback failure reached the loop's exception handler.
    exceptions_lost = (books.raised - books.delivered) + (books.callback_raises - books.reported)
    values_lost = books.sent - books.received - books.undelivered + books.process_outcomes_wrong
    report = {
        "seconds": round(time.perf_counter() - started, 1),
        "workers_run": books.workers,
        "values_delivered": books.values,
        "exceptions_raised": books.raised + books.callback_raises,
        "exceptions_delivered": books.delivered + books.reported,
        "values_sent": books.sent,
        "values_received": books.received,
        "sends_reported_undelivered": books.undelivered,
        "process_workers_run": books.process_workers,
        "process_outcomes_wrong": books.process_outcomes_wrong,
        "stuck_process_workers_ended_by_quit": books.process_kills,
        "max_main_thread_stall_ms": round(books.max_stall_ms, 1),
        "rss_start_mib": round(outcome["rss_start"], 1),
        "rss_end_mib": round(outcome["rss_end"], 1),
        "threads_at_end": len(leaked),
        "lost": exceptions_lost + values_lost,
        "leaked": len(leaked),
    }
    print(json.dumps(report, indent=2))
    ok = report["lost"] == 0 and report["leaked"] == 0
    print("PASS: nothing lost, nothing leaked" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
