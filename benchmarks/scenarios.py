"""Benchmark scenarios: one function per (scenario, peer), run in a child process.

Each function takes a size dict and returns a dict of measurements. Times are
seconds; the harness (``run.py``) turns them into ratios taken in one run.
Peers:

- ``tw`` — threadworker in plain asyncio (``asyncio.run``);
- ``tw_qt`` — threadworker in a Qt app driven by ``app.exec()``;
- ``tw_qasync`` — threadworker inside a qasync loop;
- ``superqt`` — superqt's ``thread_worker`` (QThreadPool + queued Qt signals);
- ``qasync_exec`` — qasync's ``loop.run_in_executor``;
- ``to_thread`` — ``asyncio.to_thread``;
- ``raw`` — a thread and a ``queue.SimpleQueue`` hand-off: the floor.
"""

from __future__ import annotations

import asyncio
import os
import queue
import random
import statistics
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

Result = dict[str, Any]
Sizes = dict[str, int]


def noop() -> None:
    return None


def rss_mib() -> float:
    """The process's resident memory now, in MiB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


# -- Qt plumbing --------------------------------------------------------------------------


def qt_app() -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qtpy.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def run_qt(start: Callable[[Callable[[], None]], None], limit: float = 120.0) -> None:
    """Run ``start(done)`` inside ``app.exec()`` until ``done()`` is called."""
    from qtpy.QtCore import QTimer

    app = qt_app()
    QTimer.singleShot(0, lambda: start(app.quit))
    QTimer.singleShot(int(limit * 1000), app.quit)
    app.exec()


def run_qasync(coro_factory: Callable[[], Any]) -> Any:
    import qasync

    qt_app()
    return qasync.run(coro_factory())


# -- round trip: start a trivial function worker → value on the main thread ---------------


def round_trip_tw(sizes: Sizes) -> Result:
    from threadworker import FunctionWorker

    async def main() -> float:
        start = time.perf_counter()
        for _ in range(sizes["round_trips"]):
            await FunctionWorker(noop)
        return time.perf_counter() - start

    return {"seconds": asyncio.run(main())}


def round_trip_to_thread(sizes: Sizes) -> Result:
    async def main() -> float:
        start = time.perf_counter()
        for _ in range(sizes["round_trips"]):
            await asyncio.to_thread(noop)
        return time.perf_counter() - start

    return {"seconds": asyncio.run(main())}


def round_trip_raw(sizes: Sizes) -> Result:
    tasks: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
    results: queue.SimpleQueue[object] = queue.SimpleQueue()

    def serve() -> None:
        while (task := tasks.get()) is not None:
            results.put(task())

    thread = threading.Thread(target=serve)
    thread.start()
    start = time.perf_counter()
    for _ in range(sizes["round_trips"]):
        tasks.put(noop)
        results.get()
    elapsed = time.perf_counter() - start
    tasks.put(None)
    thread.join()
    return {"seconds": elapsed}


def round_trip_tw_qasync(sizes: Sizes) -> Result:
    from threadworker import FunctionWorker

    async def main() -> float:
        start = time.perf_counter()
        for _ in range(sizes["round_trips"]):
            await FunctionWorker(noop)
        return time.perf_counter() - start

    return {"seconds": run_qasync(main)}


def round_trip_qasync_exec(sizes: Sizes) -> Result:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        for _ in range(sizes["round_trips"]):
            await loop.run_in_executor(None, noop)
        return time.perf_counter() - start

    return {"seconds": run_qasync(main)}


def _round_trip_chain(make_worker: Callable[[], Any], sizes: Sizes) -> Result:
    remaining = [sizes["round_trips"]]
    start = [0.0]
    elapsed = [0.0]

    def begin(done: Callable[[], None]) -> None:
        def next_one(*_: object) -> None:
            if remaining[0] == 0:
                elapsed[0] = time.perf_counter() - start[0]
                done()
                return
            remaining[0] -= 1
            worker = make_worker()
            worker.returned.connect(next_one)
            worker.start()

        start[0] = time.perf_counter()
        next_one()

    run_qt(begin)
    return {"seconds": elapsed[0]}


def round_trip_tw_qt(sizes: Sizes) -> Result:
    from threadworker import FunctionWorker

    qt_app()
    return _round_trip_chain(lambda: FunctionWorker(noop), sizes)


def round_trip_superqt(sizes: Sizes) -> Result:
    from superqt.utils import FunctionWorker

    qt_app()
    return _round_trip_chain(lambda: FunctionWorker(noop), sizes)


# -- burst: N function workers at once → all returned -------------------------------------


def burst_tw(sizes: Sizes) -> Result:
    from threadworker import FunctionWorker

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(FunctionWorker(noop) for _ in range(sizes["burst"])))
        return time.perf_counter() - start

    return {"seconds": asyncio.run(main())}


def burst_to_thread(sizes: Sizes) -> Result:
    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(asyncio.to_thread(noop) for _ in range(sizes["burst"])))
        return time.perf_counter() - start

    return {"seconds": asyncio.run(main())}


def _burst_qt(worker_class: Any, sizes: Sizes) -> Result:
    qt_app()
    elapsed = [0.0]

    def begin(done: Callable[[], None]) -> None:
        left = [sizes["burst"]]
        start = time.perf_counter()

        def one_done(*_: object) -> None:
            left[0] -= 1
            if left[0] == 0:
                elapsed[0] = time.perf_counter() - start
                done()

        for _ in range(sizes["burst"]):
            worker = worker_class(noop)
            worker.returned.connect(one_done)
            worker.start()

    run_qt(begin)
    return {"seconds": elapsed[0]}


def burst_tw_qt(sizes: Sizes) -> Result:
    from threadworker import FunctionWorker

    return _burst_qt(FunctionWorker, sizes)


def burst_superqt(sizes: Sizes) -> Result:
    from superqt.utils import FunctionWorker

    return _burst_qt(FunctionWorker, sizes)


# -- yield throughput: one generator, N ints → a main-thread consumer ---------------------


def ints(n: int) -> Generator[int, None, None]:
    yield from range(n)


def yields_tw_iter(sizes: Sizes) -> Result:
    from threadworker import GeneratorWorker

    async def main() -> tuple[float, int]:
        start = time.perf_counter()
        count = 0
        async for _ in GeneratorWorker(ints, sizes["yields"]):
            count += 1
        return time.perf_counter() - start, count

    seconds, count = asyncio.run(main())
    return {"seconds": seconds, "delivered": count, "per_second": count / seconds}


def yields_tw_connect(sizes: Sizes) -> Result:
    from threadworker import GeneratorWorker

    async def main() -> tuple[float, int]:
        got = [0]

        def on_value(_: int) -> None:
            got[0] += 1

        worker = GeneratorWorker(ints, sizes["yields"])
        worker.yielded.connect(on_value)
        start = time.perf_counter()
        worker.start()
        await worker.finished
        return time.perf_counter() - start, got[0]

    seconds, count = asyncio.run(main())
    return {"seconds": seconds, "delivered": count, "per_second": count / seconds}


def _yields_qt(worker_class: Any, sizes: Sizes) -> Result:
    qt_app()
    got = [0]
    elapsed = [0.0]

    def begin(done: Callable[[], None]) -> None:
        start = time.perf_counter()

        def on_value(_: int) -> None:
            got[0] += 1

        def finished() -> None:
            elapsed[0] = time.perf_counter() - start
            done()

        worker = worker_class(ints, sizes["yields"])
        worker.yielded.connect(on_value)
        worker.finished.connect(finished)
        worker.start()

    run_qt(begin)
    return {"seconds": elapsed[0], "delivered": got[0], "per_second": got[0] / elapsed[0]}


def yields_tw_qt(sizes: Sizes) -> Result:
    from threadworker import GeneratorWorker

    return _yields_qt(GeneratorWorker, sizes)


def yields_superqt(sizes: Sizes) -> Result:
    from superqt.utils import GeneratorWorker

    return _yields_qt(GeneratorWorker, sizes)


def yields_raw(sizes: Sizes) -> Result:
    channel: queue.SimpleQueue[int | None] = queue.SimpleQueue()

    def produce() -> None:
        for value in ints(sizes["yields"]):
            channel.put(value)
        channel.put(None)

    start = time.perf_counter()
    thread = threading.Thread(target=produce)
    thread.start()
    count = 0
    while channel.get() is not None:
        count += 1
    seconds = time.perf_counter() - start
    thread.join()
    return {"seconds": seconds, "delivered": count, "per_second": count / seconds}


# -- ui stall: a 10 ms main-thread timer while work runs ----------------------------------


def forever_ints() -> Generator[int, None, None]:
    i = 0
    while True:
        yield i
        i += 1


def cpu_bound(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def _ticker_until(done: Callable[[], bool]) -> Any:
    """Gaps (ms) between ticks of a 10 ms loop timer until *done()*: the GUI's view."""

    async def tick() -> list[float]:
        gaps: list[float] = []
        last = time.perf_counter()
        while not done():
            await asyncio.sleep(0.010)
            now = time.perf_counter()
            gaps.append((now - last) * 1000)
            last = now
        return gaps

    return tick()


def _asyncio_ticker(seconds: float) -> Any:
    end = time.perf_counter() + seconds
    return _ticker_until(lambda: time.perf_counter() >= end)


def _stall_result(gaps: list[float]) -> Result:
    return {
        "p99_gap_ms": percentile(gaps, 99),
        "max_gap_ms": max(gaps),
        "median_gap_ms": statistics.median(gaps),
        "ticks": len(gaps),
    }


def stall_idle_asyncio(sizes: Sizes) -> Result:
    return _stall_result(asyncio.run(_asyncio_ticker(sizes["stall_seconds"] / 1000)))


def stall_yield_tw(sizes: Sizes) -> Result:
    from threadworker import GeneratorWorker

    async def main() -> list[float]:
        got = [0]
        worker = GeneratorWorker(forever_ints)
        worker.yielded.connect(lambda _: got.__setitem__(0, got[0] + 1))
        async with worker:
            gaps: list[float] = await _asyncio_ticker(sizes["stall_seconds"] / 1000)
        return gaps

    return _stall_result(asyncio.run(main()))


def stall_cpu_tw(sizes: Sizes) -> Result:
    from threadworker import FunctionWorker

    async def main() -> list[float]:
        workers = [FunctionWorker(cpu_bound, sizes["cpu_loop"]) for _ in range(4)]
        for worker in workers:
            worker.start()
        gaps: list[float] = await _asyncio_ticker(sizes["stall_seconds"] / 1000)
        await asyncio.gather(*workers)
        return gaps

    return _stall_result(asyncio.run(main()))


def stall_cpu_to_thread(sizes: Sizes) -> Result:
    async def main() -> list[float]:
        jobs = [
            asyncio.ensure_future(asyncio.to_thread(cpu_bound, sizes["cpu_loop"])) for _ in range(4)
        ]
        gaps: list[float] = await _asyncio_ticker(sizes["stall_seconds"] / 1000)
        await asyncio.gather(*jobs)
        return gaps

    return _stall_result(asyncio.run(main()))


def _qt_ticker(sizes: Sizes, start_work: Callable[[], Callable[[], None]]) -> Result:
    from qtpy.QtCore import QTimer

    qt_app()
    gaps: list[float] = []

    def begin(done: Callable[[], None]) -> None:
        stop_work = start_work()
        timer = QTimer()
        timer.setInterval(10)
        last = [time.perf_counter()]
        end = last[0] + sizes["stall_seconds"] / 1000

        def tick() -> None:
            now = time.perf_counter()
            gaps.append((now - last[0]) * 1000)
            last[0] = now
            if now >= end:
                timer.stop()
                stop_work()
                done()

        timer.timeout.connect(tick)
        timer.start()
        begin.timer = timer  # type: ignore[attr-defined]  # keep it alive

    run_qt(begin)
    return _stall_result(gaps)


def stall_idle_qt(sizes: Sizes) -> Result:
    return _qt_ticker(sizes, lambda: lambda: None)


def _yield_flat_out(worker_class: Any) -> Callable[[], Callable[[], None]]:
    def start() -> Callable[[], None]:
        worker = worker_class(forever_ints)
        worker.yielded.connect(lambda _: None)
        worker.start()
        start.worker = worker  # type: ignore[attr-defined]
        return worker.quit  # type: ignore[no-any-return]

    return start


def _cpu_four(worker_class: Any, sizes: Sizes) -> Callable[[], Callable[[], None]]:
    def start() -> Callable[[], None]:
        workers = [worker_class(cpu_bound, sizes["cpu_loop"]) for _ in range(4)]
        for worker in workers:
            worker.start()
        start.workers = workers  # type: ignore[attr-defined]
        return lambda: None

    return start


def stall_yield_tw_qt(sizes: Sizes) -> Result:
    from threadworker import GeneratorWorker

    return _qt_ticker(sizes, _yield_flat_out(GeneratorWorker))


def stall_yield_superqt(sizes: Sizes) -> Result:
    from superqt.utils import GeneratorWorker

    return _qt_ticker(sizes, _yield_flat_out(GeneratorWorker))


def stall_cpu_tw_qt(sizes: Sizes) -> Result:
    from threadworker import FunctionWorker

    return _qt_ticker(sizes, _cpu_four(FunctionWorker, sizes))


def stall_cpu_superqt(sizes: Sizes) -> Result:
    from superqt.utils import FunctionWorker

    return _qt_ticker(sizes, _cpu_four(FunctionWorker, sizes))


# -- control latency: pause / resume / quit of a generator yielding every 1 ms ------------


def ticking() -> Generator[int, None, None]:
    i = 0
    while True:
        yield i
        i += 1
        time.sleep(0.001)


def _control_protocol(
    make_worker: Callable[[], Any],
    post_later: Callable[[float, Callable[[], None]], None],
    sizes: Sizes,
    done: Callable[[], None],
) -> Result:
    """Pause/resume a ticking generator, then quit fresh ones, at random moments.

    Each request comes from ``post_later``: an independent thread sleeps a
    random time, then hands the request to the GUI thread, as a click would.
    (A loop timer would not do: the loop wakes at every yield, so timer
    requests land just after one and always wait a whole tick.) Latency is
    from the request to the confirming signal on the GUI thread.
    """
    rng = random.Random(1)
    # Delays span many 1 ms ticks, so requests land at uniformly random phases.
    delay = (0.002, 0.020)
    pauses: list[float] = []
    resumes: list[float] = []
    quits: list[float] = []
    state: dict[str, Any] = {"rounds": sizes["control_rounds"], "quits": sizes["quit_rounds"]}

    def request(kind: str) -> None:
        state["t"] = time.perf_counter()
        getattr(state["worker"], kind)()

    def on_paused() -> None:
        pauses.append(time.perf_counter() - state["t"])
        post_later(rng.uniform(0.001, 0.003), lambda: request("resume"))

    def on_resumed() -> None:
        resumes.append(time.perf_counter() - state["t"])
        state["rounds"] -= 1
        if state["rounds"]:
            post_later(rng.uniform(*delay), lambda: request("pause"))
        else:
            state["worker"].finished.connect(next_quit)
            state["worker"].quit()

    def next_quit() -> None:
        if state["quits"] == 0:
            done()
            return
        state["quits"] -= 1
        worker = make_worker()
        state["worker"] = worker
        first = [True]

        def on_first(_: int) -> None:
            if first[0]:
                first[0] = False
                post_later(rng.uniform(*delay), lambda: request("quit"))

        worker.yielded.connect(on_first)
        worker.finished.connect(on_quit)
        worker.start()

    def on_quit() -> None:
        quits.append(time.perf_counter() - state["t"])
        next_quit()

    worker = make_worker()
    state["worker"] = worker
    worker.paused.connect(on_paused)
    worker.resumed.connect(on_resumed)
    started = [False]

    def on_first_value(_: int) -> None:
        if not started[0]:
            started[0] = True
            post_later(rng.uniform(*delay), lambda: request("pause"))

    worker.yielded.connect(on_first_value)
    worker.start()
    return {"pauses": pauses, "resumes": resumes, "quits": quits}


def _control_result(samples: Result) -> Result:
    pauses, resumes, quits = samples["pauses"], samples["resumes"], samples["quits"]
    return {
        "pause_median_ms": statistics.median(pauses) * 1000,
        "resume_median_ms": statistics.median(resumes) * 1000,
        "quit_median_ms": statistics.median(quits) * 1000,
        "pause_p90_ms": percentile(pauses, 90) * 1000,
        "resume_p90_ms": percentile(resumes, 90) * 1000,
        "quit_p90_ms": percentile(quits, 90) * 1000,
    }


def _clicker(
    post: Callable[[Callable[[], None]], None],
) -> Callable[[float, Callable[[], None]], None]:
    def post_later(delay: float, fn: Callable[[], None]) -> None:
        def click() -> None:
            time.sleep(delay)
            post(fn)

        threading.Thread(target=click, daemon=True).start()

    return post_later


def control_tw(sizes: Sizes) -> Result:
    from threadworker import GeneratorWorker

    async def main() -> Result:
        loop = asyncio.get_running_loop()
        finished = asyncio.Event()
        samples = _control_protocol(
            lambda: GeneratorWorker(ticking),
            _clicker(loop.call_soon_threadsafe),
            sizes,
            finished.set,
        )
        await finished.wait()
        return _control_result(samples)

    return asyncio.run(main())


def _control_qt(worker_class: Any, sizes: Sizes) -> Result:
    from qtpy import QtCore

    qt_app()

    class Poster(QtCore.QObject):  # type: ignore[misc]
        posted = QtCore.Signal(object)  # type: ignore[attr-defined]

        def __init__(self) -> None:
            super().__init__()
            self.posted.connect(self.run, QtCore.Qt.ConnectionType.QueuedConnection)

        @QtCore.Slot(object)  # type: ignore[attr-defined, untyped-decorator]
        def run(self, fn: Callable[[], None]) -> None:
            fn()

    poster = Poster()
    result: Result = {}

    def begin(done: Callable[[], None]) -> None:
        result.update(
            _control_protocol(
                lambda: worker_class(ticking), _clicker(poster.posted.emit), sizes, done
            )
        )

    run_qt(begin)
    return _control_result(result)


def control_tw_qt(sizes: Sizes) -> Result:
    from threadworker import GeneratorWorker

    return _control_qt(GeneratorWorker, sizes)


def control_superqt(sizes: Sizes) -> Result:
    from superqt.utils import GeneratorWorker

    return _control_qt(GeneratorWorker, sizes)


# -- flood memory: 1 KiB yields, a slow consumer ------------------------------------------


def kib_blocks(n: int) -> Generator[bytearray, None, None]:
    for _ in range(n):
        yield bytearray(1024)


def _flood(
    subscribe_and_run: Callable[[Callable[[bytearray], None]], None], sizes: Sizes
) -> Result:
    base = rss_mib()
    peak = [base]
    got = [0]

    def consume(_: bytearray) -> None:
        got[0] += 1
        time.sleep(0.0001)
        if got[0] % 500 == 0:
            peak[0] = max(peak[0], rss_mib())

    start = time.perf_counter()
    subscribe_and_run(consume)
    return {
        "rss_growth_mib": peak[0] - base,
        "delivered": got[0],
        "lost": sizes["flood"] - got[0],
        "seconds": time.perf_counter() - start,
    }


def flood_tw(sizes: Sizes) -> Result:
    from threadworker import GeneratorWorker

    def run(consume: Callable[[bytearray], None]) -> None:
        async def main() -> None:
            worker = GeneratorWorker(kib_blocks, sizes["flood"])
            worker.yielded.connect(consume)
            worker.start()
            await worker.finished

        asyncio.run(main())

    return _flood(run, sizes)


def _flood_qt(worker_class: Any, sizes: Sizes) -> Result:
    qt_app()

    def run(consume: Callable[[bytearray], None]) -> None:
        def begin(done: Callable[[], None]) -> None:
            worker = worker_class(kib_blocks, sizes["flood"])
            worker.yielded.connect(consume)
            worker.finished.connect(done)
            worker.start()
            begin.worker = worker  # type: ignore[attr-defined]

        run_qt(begin, limit=600)

    return _flood(run, sizes)


def flood_tw_qt(sizes: Sizes) -> Result:
    from threadworker import GeneratorWorker

    return _flood_qt(GeneratorWorker, sizes)


def flood_superqt(sizes: Sizes) -> Result:
    from superqt.utils import GeneratorWorker

    return _flood_qt(GeneratorWorker, sizes)


def flood_raw(sizes: Sizes) -> Result:
    def run(consume: Callable[[bytearray], None]) -> None:
        channel: queue.SimpleQueue[bytearray | None] = queue.SimpleQueue()

        def produce() -> None:
            for block in kib_blocks(sizes["flood"]):
                channel.put(block)
            channel.put(None)

        thread = threading.Thread(target=produce)
        thread.start()
        while (block := channel.get()) is not None:
            consume(block)
        thread.join()

    return _flood(run, sizes)


# -- scale: many generator workers alive at once; many queued function workers ------------


def hundred_ticks() -> Generator[int, None, None]:
    for i in range(100):
        yield i
        time.sleep(0.001)


def scale_tw(sizes: Sizes) -> Result:
    from threadworker import FunctionWorker, GeneratorWorker

    async def generators(n: int) -> Result:
        base = rss_mib()
        start = time.perf_counter()
        workers = [GeneratorWorker(hundred_ticks) for _ in range(n)]
        received = [0]
        for worker in workers:
            worker.yielded.connect(lambda _: received.__setitem__(0, received[0] + 1))
            worker.start()
        peak = rss_mib()
        await asyncio.gather(*(w.finished for w in workers))
        return {
            "seconds": time.perf_counter() - start,
            "kib_per_worker": (max(peak, rss_mib()) - base) * 1024 / n,
            "values": received[0],
        }

    async def functions(n: int) -> Result:
        base = rss_mib()
        start = time.perf_counter()
        await asyncio.gather(*(FunctionWorker(noop) for _ in range(n)))
        return {
            "seconds": time.perf_counter() - start,
            "kib_per_worker": (rss_mib() - base) * 1024 / n,
        }

    out: Result = {}
    for n in (100, 300, 1000):
        if n <= sizes["scale_max"]:
            out[f"generators_{n}"] = asyncio.run(generators(n))
    out[f"functions_{sizes['scale_functions']}"] = asyncio.run(functions(sizes["scale_functions"]))
    return out


def scale_to_thread(sizes: Sizes) -> Result:
    async def functions(n: int) -> Result:
        base = rss_mib()
        start = time.perf_counter()
        await asyncio.gather(*(asyncio.to_thread(noop) for _ in range(n)))
        return {
            "seconds": time.perf_counter() - start,
            "kib_per_worker": (rss_mib() - base) * 1024 / n,
        }

    n = sizes["scale_functions"]
    return {f"functions_{n}": asyncio.run(functions(n))}


# -- beyond threads: process workers ------------------------------------------------------
# Functions run in worker processes must be importable there: they live here, at
# module level, and the harness puts this folder on sys.path (which children inherit).


def _cpu_four_on(executor: str, sizes: Sizes) -> Result:
    from threadworker import configure, create_worker

    async def main() -> Result:
        if executor == "process":
            configure(max_processes=4)
            # Warm: processes exist before timing, as pool threads do.
            await asyncio.gather(*(create_worker(noop, _executor="process") for _ in range(4)))
        workers = [
            create_worker(cpu_bound, sizes["cpu_loop"], _executor=executor, _start_thread=True)
            for _ in range(4)
        ]
        start = time.perf_counter()
        finished_at: list[float] = []
        for worker in workers:
            worker.finished.connect(lambda: finished_at.append(time.perf_counter()))
        gaps: list[float] = await _ticker_until(lambda: len(finished_at) == 4)
        await asyncio.gather(*workers)
        return {**_stall_result(gaps), "seconds": max(finished_at) - start}

    result: Result = asyncio.run(main())
    return result


def cpu4_threads(sizes: Sizes) -> Result:
    return _cpu_four_on("thread", sizes)


def cpu4_processes(sizes: Sizes) -> Result:
    return _cpu_four_on("process", sizes)


def cpu4_idle(sizes: Sizes) -> Result:
    return stall_idle_asyncio(sizes)


def process_round_trip_tw(sizes: Sizes) -> Result:
    from threadworker import create_worker

    async def main() -> float:
        await create_worker(noop, _executor="process")  # warm: the process exists
        start = time.perf_counter()
        for _ in range(sizes["process_round_trips"]):
            await create_worker(noop, _executor="process")
        return time.perf_counter() - start

    return {"seconds": asyncio.run(main())}


def process_round_trip_executor(sizes: Sizes) -> Result:
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:

        async def main() -> float:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(pool, noop)  # warm
            start = time.perf_counter()
            for _ in range(sizes["process_round_trips"]):
                await asyncio.wrap_future(pool.submit(noop))
            return time.perf_counter() - start

        return {"seconds": asyncio.run(main())}


def _process_yields(executor: str, sizes: Sizes) -> Result:
    from threadworker import create_worker

    async def main() -> tuple[float, int]:
        await create_worker(noop, _executor=executor)  # warm
        start = time.perf_counter()
        count = 0
        async for _ in create_worker(ints, sizes["process_yields"], _executor=executor):
            count += 1
        return time.perf_counter() - start, count

    seconds, count = asyncio.run(main())
    return {"seconds": seconds, "delivered": count, "per_second": count / seconds}


def process_yields_process(sizes: Sizes) -> Result:
    return _process_yields("process", sizes)


def process_yields_thread(sizes: Sizes) -> Result:
    return _process_yields("thread", sizes)


# -- policies (issue 15): debounce bursts and timeout latency --------------------------


def _debounce_burst(
    start_all: Callable[[Callable[[], Any], Callable[[int, float], None]], None],
) -> Result:
    """100 (``debounce_starts``) rapid starts of one exclusive, debounced worker."""
    from threadworker import thread_worker

    runs: list[int] = []

    @thread_worker(exclusive=True, debounce=0.05)
    def recompute(i: int) -> int:
        runs.append(i)
        return i

    out: Result = {}

    def report(value: int, seconds: float) -> None:
        out.update(runs=len(runs), last=value, seconds=seconds)

    start_all(recompute, report)
    return out


def debounce_burst_tw(sizes: Sizes) -> Result:
    def start_all(make: Callable[..., Any], report: Callable[[int, float], None]) -> None:
        async def main() -> None:
            start = time.perf_counter()
            workers = [make(i) for i in range(sizes["debounce_starts"])]
            for worker in workers:
                worker.start()
            value = await workers[-1]
            report(value, time.perf_counter() - start)

        asyncio.run(main())

    return _debounce_burst(start_all)


def debounce_burst_tw_qt(sizes: Sizes) -> Result:
    def start_all(make: Callable[..., Any], report: Callable[[int, float], None]) -> None:
        def start(done: Callable[[], None]) -> None:
            begin = time.perf_counter()
            workers = [make(i) for i in range(sizes["debounce_starts"])]
            workers[-1].returned.connect(
                lambda value: (report(value, time.perf_counter() - begin), done())
            )
            for worker in workers:
                worker.start()

        run_qt(start)

    return _debounce_burst(start_all)


def waits_for_quit() -> Generator[None, None, None]:
    """Yield every 0.2 ms until quit: a timeout's quit takes effect at once."""
    pause = threading.Event()
    while True:
        yield
        pause.wait(0.0002)


TIMEOUT_LIMIT = 0.02  # seconds


def _lateness_result(late: list[float]) -> Result:
    return {
        "rounds": len(late),
        "median_late_ms": statistics.median(late),
        "p99_late_ms": percentile(late, 99),
        "max_late_ms": max(late),
    }


def _timeout_rounds_async(sizes: Sizes) -> Any:
    from threadworker import WorkerTimeout, create_worker

    async def main() -> Result:
        late = []
        for _ in range(sizes["timeout_rounds"]):
            worker = create_worker(waits_for_quit, _timeout=TIMEOUT_LIMIT)
            start = time.perf_counter()
            try:
                await worker
            except WorkerTimeout:
                late.append((time.perf_counter() - start - TIMEOUT_LIMIT) * 1000)
        return _lateness_result(late)

    return main


def timeout_latency_tw(sizes: Sizes) -> Result:
    result: Result = asyncio.run(_timeout_rounds_async(sizes)())
    return result


def timeout_latency_tw_qasync(sizes: Sizes) -> Result:
    result: Result = run_qasync(_timeout_rounds_async(sizes))
    return result


def timeout_latency_tw_qt(sizes: Sizes) -> Result:
    from threadworker import create_worker

    late: list[float] = []

    def start(done: Callable[[], None]) -> None:
        def round_(remaining: int) -> None:
            if remaining == 0:
                done()
                return
            worker = create_worker(waits_for_quit, _timeout=TIMEOUT_LIMIT)
            begin = time.perf_counter()

            def ended(_: BaseException) -> None:
                late.append((time.perf_counter() - begin - TIMEOUT_LIMIT) * 1000)
                round_(remaining - 1)

            worker.errored.connect(ended)
            worker.start()

        round_(sizes["timeout_rounds"])

    run_qt(start)
    return _lateness_result(late)


# -- big frames across processes (issue 16) ----------------------------------------------


def frames(count: int, shape: tuple[int, ...]) -> Generator[Any, None, None]:
    """A camera: a new float64 frame each step, filled (the work a thread pays too)."""
    import numpy as np

    for index in range(count):
        yield np.full(shape, float(index))


def peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _frames(
    executor: str,
    shape: tuple[int, ...],
    count: int,
    *,
    pipe: bool = False,
    threshold: int | None = None,
) -> Result:
    from threadworker import _shared_memory, configure, create_worker

    if threshold is not None:  # the crossover: every size through shared memory
        _shared_memory.THRESHOLD = threshold

    async def main() -> tuple[float, int]:
        configure(shared_memory=not pipe)
        await create_worker(noop, _executor=executor)  # warm: the process exists
        start = time.perf_counter()
        received = 0
        async for frame in create_worker(frames, count, shape, _executor=executor):
            assert frame.flat[-1] == received  # each frame whole, and in order
            received += 1
        return time.perf_counter() - start, received

    seconds, received = asyncio.run(main())
    nbytes = 8 * received
    for side in shape:
        nbytes *= side
    return {
        "seconds": seconds,
        "per_second": received / seconds,
        "mb_per_second": nbytes / seconds / 1e6,
        "peak_rss_mib": peak_rss_mib(),
    }


_SMALL_FRAME = (512, 512)  # 2 MiB of float64
_BIG_FRAME = (1024, 1024, 4)  # 32 MiB


def frames_2mib_process(sizes: Sizes) -> Result:
    return _frames("process", _SMALL_FRAME, sizes["frames_2mib"])


def frames_2mib_pipe(sizes: Sizes) -> Result:
    return _frames("process", _SMALL_FRAME, sizes["frames_2mib"] // 4, pipe=True)


def frames_2mib_thread(sizes: Sizes) -> Result:
    return _frames("thread", _SMALL_FRAME, sizes["frames_2mib"] * 4)


def frames_32mib_process(sizes: Sizes) -> Result:
    return _frames("process", _BIG_FRAME, sizes["frames_32mib"])


def frames_32mib_pipe(sizes: Sizes) -> Result:
    return _frames("process", _BIG_FRAME, max(2, sizes["frames_32mib"] // 4), pipe=True)


def frames_32mib_thread(sizes: Sizes) -> Result:
    return _frames("thread", _BIG_FRAME, sizes["frames_32mib"] * 4)


def _crossover(size: int, *, pipe: bool) -> Result:
    return _frames("process", (size // 8,), 2000, pipe=pipe, threshold=1024)


def crossover_peers() -> dict[str, Callable[[Sizes], Result]]:
    """Values of 16 KiB to 1 MiB, shared memory vs pipe: where the threshold goes."""
    peers: dict[str, Callable[[Sizes], Result]] = {}
    for kib in (8, 16, 32, 64, 128, 256, 1024):
        peers[f"shm_{kib}k"] = lambda _sizes, n=kib * 1024: _crossover(n, pipe=False)
        peers[f"pipe_{kib}k"] = lambda _sizes, n=kib * 1024: _crossover(n, pipe=True)
    return peers


def dask_yields_dask(sizes: Sizes) -> Result:
    """A generator on a dask LocalCluster (one worker process), streamed home."""
    import distributed

    from threadworker import create_worker

    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # Its HTTP server on a free loopback port, not 8787 (maybe taken).
            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            host="127.0.0.1",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):

        async def main() -> tuple[float, int]:
            await create_worker(ints, 10, _executor=client)  # warm: the task path is loaded
            start = time.perf_counter()
            count = 0
            async for _ in create_worker(ints, sizes["process_yields"], _executor=client):
                count += 1
            return time.perf_counter() - start, count

        seconds, count = asyncio.run(main())
    return {"seconds": seconds, "delivered": count, "per_second": count / seconds}


SCENARIOS: dict[str, dict[str, Callable[[Sizes], Result]]] = {
    "round_trip": {
        "tw": round_trip_tw,
        "to_thread": round_trip_to_thread,
        "raw": round_trip_raw,
        "tw_qasync": round_trip_tw_qasync,
        "qasync_exec": round_trip_qasync_exec,
        "tw_qt": round_trip_tw_qt,
        "superqt": round_trip_superqt,
    },
    "burst": {
        "tw": burst_tw,
        "to_thread": burst_to_thread,
        "tw_qt": burst_tw_qt,
        "superqt": burst_superqt,
    },
    "yield_throughput": {
        "tw_iter": yields_tw_iter,
        "tw": yields_tw_connect,
        "tw_qt": yields_tw_qt,
        "superqt": yields_superqt,
        "raw": yields_raw,
    },
    "ui_stall_yield": {
        "idle_asyncio": stall_idle_asyncio,
        "tw": stall_yield_tw,
        "idle_qt": stall_idle_qt,
        "tw_qt": stall_yield_tw_qt,
        "superqt": stall_yield_superqt,
    },
    "ui_stall_cpu": {
        "tw": stall_cpu_tw,
        "to_thread": stall_cpu_to_thread,
        "tw_qt": stall_cpu_tw_qt,
        "superqt": stall_cpu_superqt,
    },
    "control_latency": {
        "tw": control_tw,
        "tw_qt": control_tw_qt,
        "superqt": control_superqt,
    },
    "flood_memory": {
        "tw": flood_tw,
        "tw_qt": flood_tw_qt,
        "superqt": flood_superqt,
        "raw": flood_raw,
    },
    "scale": {
        "tw": scale_tw,
        "to_thread": scale_to_thread,
    },
    "cpu_4_workers": {
        "idle": cpu4_idle,
        "tw_thread": cpu4_threads,
        "tw_process": cpu4_processes,
    },
    "process_round_trip": {
        "tw_process": process_round_trip_tw,
        "pool_submit": process_round_trip_executor,
    },
    "process_yields": {
        "tw_process": process_yields_process,
        "tw_thread": process_yields_thread,
    },
    "debounce_burst": {
        "tw": debounce_burst_tw,
        "tw_qt": debounce_burst_tw_qt,
    },
    "timeout_latency": {
        "tw": timeout_latency_tw,
        "tw_qasync": timeout_latency_tw_qasync,
        "tw_qt": timeout_latency_tw_qt,
    },
    "frames_2mib": {
        "tw_process": frames_2mib_process,
        "tw_pipe": frames_2mib_pipe,
        "tw_thread": frames_2mib_thread,
    },
    "frames_32mib": {
        "tw_process": frames_32mib_process,
        "tw_pipe": frames_32mib_pipe,
        "tw_thread": frames_32mib_thread,
    },
    "crossover": crossover_peers(),
    "dask_yields": {
        "tw_dask": dask_yields_dask,
        "tw_process": process_yields_process,
    },
}
