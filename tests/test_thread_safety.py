"""Public methods called from many threads at once: nothing lost, no zombie.

Each test makes threads call one method (or a mix) at the same moment, many
times, with a tiny switch interval so that the interpreter switches threads
between almost every bytecode, and then checks an invariant that a lost
update would break. Every wait is bounded; nothing depends on timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
import threading
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

import process_jobs as jobs
from threadworker import (
    FunctionWorker,
    GeneratorWorker,
    TerminalProgress,
    WorkerBase,
    create_worker,
)
from threadworker._latch import Latch

WAIT = 20
THREADS = 4


@pytest.fixture(autouse=True)
def _switch_often() -> Iterator[None]:
    """Make the interpreter switch threads as often as it can: races show."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def together(*calls: Callable[[], object]) -> list[object]:
    """Run each call in its own thread, released at once; return results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        barrier.wait(WAIT)
        try:
            results[index] = call()
        except Exception as exc:
            results[index] = exc

    threads = [
        threading.Thread(target=run, args=(i, call), name=f"hammer-{i}")
        for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(t.is_alive() for t in threads), "a hammer thread is stuck"
    return results


class Probe:
    """What an endless generator did: entered its body, and was closed."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.closed = threading.Event()

    def ended_if_entered(self) -> bool:
        return not self.entered.is_set() or self.closed.wait(WAIT)


def endless(probe: Probe) -> Generator[int, Any, None]:
    probe.entered.set()
    try:
        while True:
            yield 1
    finally:
        probe.closed.set()


# -- start and quit (issue 12, items 10 and 11) ----------------------------------------------


async def test_quit_racing_start_never_leaves_a_zombie() -> None:
    for _ in range(300):
        probe = Probe()
        await _race_start_and_quit(GeneratorWorker(endless, probe))
        assert probe.ended_if_entered()  # no generator left running


async def test_quit_racing_start_of_a_process_generator_ends_it(tmp_path: Path) -> None:
    for i in range(20):
        marker = str(tmp_path / f"closed-{i}")
        await _race_start_and_quit(create_worker(jobs.numbers_forever, marker, _executor="process"))


async def _race_start_and_quit(worker: WorkerBase[Any]) -> None:
    """Start *worker* here while another thread quits it, at the same moment."""
    ready = threading.Event()
    go: list[bool] = []

    def quit_now() -> None:
        ready.set()
        while not go:  # spins, not blocks: it runs the moment start() does
            pass
        worker.quit()

    quitter = threading.Thread(target=quit_now, name="hammer-quit")
    quitter.start()
    assert ready.wait(WAIT)
    go.append(True)
    with contextlib.suppress(RuntimeError):  # quit() won: the worker never runs
        worker.start()
    quitter.join(WAIT)
    await asyncio.wait_for(worker.finished, WAIT)
    assert not worker.is_running
    assert worker._thread_done.wait(WAIT)
    assert worker._fired.keys() >= {"aborted", "finished"}


async def test_quit_between_the_checks_of_start_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The interleaving of the zombie, forced: quit() runs while start() is under way."""
    from threadworker import _scope
    from threadworker import _worker_start as _worker

    probe = Probe()
    worker = GeneratorWorker(endless, probe)
    real_scope = _scope.current_scope

    def scope_after_a_quit() -> Any:
        quitter = threading.Thread(target=worker.quit, name="hammer-quit")
        quitter.start()
        quitter.join(WAIT)
        return real_scope()

    monkeypatch.setattr(_worker, "current_scope", scope_after_a_quit)
    with pytest.raises(RuntimeError, match="a worker runs once"):
        worker.start()
    await asyncio.wait_for(worker.finished, WAIT)
    assert not worker.is_running
    assert not probe.entered.is_set()  # never launched


async def test_start_from_many_threads_starts_once() -> None:
    # The loop's scope is made here, on its thread, by a first worker: a
    # thread that only has the loop set must find it, not make it.
    await asyncio.wait_for(FunctionWorker(lambda: None), WAIT)
    for _ in range(30):
        await _start_from_many_threads()


async def _start_from_many_threads() -> None:
    loop = asyncio.get_running_loop()
    worker = FunctionWorker(lambda: "done")
    started: list[object] = []
    worker.started.connect(lambda: started.append(1))

    def start() -> None:
        asyncio.set_event_loop(loop)  # this thread's home is the test's loop
        try:
            worker.start()
        finally:
            asyncio.set_event_loop(None)

    results = together(*[start] * THREADS)
    errors = [r for r in results if r is not None]
    assert len(errors) == THREADS - 1
    assert all(isinstance(e, RuntimeError) and "a worker runs once" in str(e) for e in errors), (
        errors
    )
    assert await asyncio.wait_for(worker.returned, WAIT) == "done"
    await asyncio.wait_for(worker.finished, WAIT)
    assert started == [1]


@pytest.mark.parametrize("started", [False, True], ids=["created", "running"])
async def test_quit_from_many_threads_ends_once_and_every_latch_completes(
    started: bool,
) -> None:
    for _ in range(30):
        await _quit_from_many_threads(started)


async def _quit_from_many_threads(started: bool) -> None:
    probe = Probe()
    worker = GeneratorWorker(endless, probe)
    ends: list[str] = []
    worker.aborted.connect(lambda: ends.append("aborted"))
    worker.finished.connect(lambda: ends.append("finished"))
    if started:
        worker.start()
    latches = together(*[worker.quit] * THREADS)
    for latch in latches:
        assert isinstance(latch, Latch), latch
        await asyncio.wait_for(latch, WAIT)  # none lost
    await asyncio.wait_for(worker.finished, WAIT)
    assert ends == ["aborted", "finished"]
    assert not worker.is_running
    assert probe.ended_if_entered()


# -- connect and disconnect (item 11) --------------------------------------------------------


def _callbacks(count: int, calls: list[int], base: int) -> list[Callable[[], None]]:
    def make(i: int) -> Callable[[], None]:
        return lambda: calls.append(i)

    return [make(base + i) for i in range(count)]


async def test_connects_from_many_threads_are_all_kept() -> None:
    per_thread = 50
    for _ in range(10):
        worker = FunctionWorker(lambda: None)  # each thread reads .returned first
        calls: list[int] = []
        batches = [_callbacks(per_thread, calls, t * per_thread) for t in range(THREADS)]

        def connect_all(batch: list[Callable[[], None]], w: WorkerBase[Any] = worker) -> None:
            for callback in batch:
                w.returned.connect(callback)

        together(*[lambda b=batch: connect_all(b) for batch in batches])
        worker.returned.emit(None)  # not started: emitted here
        assert sorted(calls) == list(range(THREADS * per_thread))


async def test_disconnects_and_connects_from_many_threads_lose_nothing() -> None:
    for _ in range(10):
        _swap_callbacks_from_many_threads(per_thread=50)


def _swap_callbacks_from_many_threads(per_thread: int) -> None:
    worker = FunctionWorker(lambda: None)
    calls: list[int] = []
    old = [_callbacks(per_thread, calls, t * per_thread) for t in range(THREADS)]
    new = [_callbacks(per_thread, calls, 10_000 + t * per_thread) for t in range(THREADS)]
    for batch in old:
        for callback in batch:
            worker.returned.connect(callback)

    def swap(out: list[Callable[[], None]], into: list[Callable[[], None]]) -> None:
        for gone, added in zip(out, into, strict=True):
            worker.returned.disconnect(gone)
            worker.returned.connect(added)

    results = together(*[lambda o=o, n=n: swap(o, n) for o, n in zip(old, new, strict=True)])
    assert results == [None] * THREADS  # no ValueError: every disconnect found its callback
    worker.returned.emit(None)
    assert sorted(calls) == [10_000 + i for i in range(THREADS * per_thread)]


class _Receiver:
    def __init__(self, calls: list[int]) -> None:
        self.calls = calls

    def take(self) -> None:
        self.calls.append(-1)


async def test_connects_are_kept_while_emissions_drop_dead_receivers() -> None:
    """The emitting thread drops deleted receivers while others connect: none lost.

    Each thread connects a receiver that dies at once (the next emission
    drops it), then a callback it disconnects again: a connect lost to the
    drop makes that disconnect fail, a disconnect undone by it leaves the
    callback connected.
    """
    rounds = 300
    worker = FunctionWorker(lambda: None)
    signal = worker.returned
    calls: list[int] = []
    stop = threading.Event()

    def emit_until_stopped() -> None:
        while not stop.is_set():
            signal.emit(None)

    def connect_and_disconnect(base: int) -> None:
        for i in range(rounds):
            signal.connect(_Receiver(calls).take)  # held weakly: dies at once
            callback = signal.connect(lambda *, i=base + i: calls.append(i))
            signal.disconnect(callback)
        signal.connect(lambda *, i=base: calls.append(i))  # the one that stays

    emitter = threading.Thread(target=emit_until_stopped, name="hammer-emit")
    emitter.start()
    try:
        bases = [t * rounds for t in range(THREADS)]
        results = together(*[lambda b=b: connect_and_disconnect(b) for b in bases])
    finally:
        stop.set()
        emitter.join(WAIT)
    assert results == [None] * THREADS  # every disconnect found its callback
    calls.clear()
    signal.emit(None)
    assert sorted(calls) == bases


# -- generator controls (item 11) --------------------------------------------------------------


def collect(total: int) -> Generator[int, int | None, list[int]]:
    got: list[int] = []
    while len(got) < total:
        value = yield len(got)
        if value is not None:
            got.append(value)
    return got


async def test_sends_from_many_threads_all_arrive_in_each_threads_order() -> None:
    per_thread = 200
    worker: GeneratorWorker[int, int, list[int]] = GeneratorWorker(collect, THREADS * per_thread)
    paused = worker.pause()  # the sends queue while it is paused: no busy stepping
    worker.start()
    await asyncio.wait_for(paused, WAIT)
    latches: list[list[Latch[None]]] = [[] for _ in range(THREADS)]

    def send_some(t: int) -> None:
        for i in range(per_thread):
            latches[t].append(worker.send(t * per_thread + i))

    await asyncio.to_thread(together, *[lambda t=t: send_some(t) for t in range(THREADS)])
    worker.resume()
    got = await asyncio.wait_for(worker, WAIT)
    assert sorted(got) == list(range(THREADS * per_thread))
    for t in range(THREADS):
        mine = [v for v in got if t * per_thread <= v < (t + 1) * per_thread]
        assert mine == sorted(mine)  # each thread's sends in the order it made them
    for latch in (latch for batch in latches for latch in batch):
        await asyncio.wait_for(latch, WAIT)


async def test_toggles_from_many_threads_each_flip_the_state() -> None:
    per_thread = 300  # far fewer may run one thread after the other: no race
    probe = Probe()
    worker = GeneratorWorker(endless, probe)
    toggles = THREADS * per_thread  # even: it ends paused, as it began
    transitions: list[str] = []
    all_reported = asyncio.Event()

    def record(kind: str) -> None:
        transitions.append(kind)
        if len(transitions) == 1 + toggles:
            all_reported.set()

    worker.paused.connect(lambda: record("paused"))
    worker.resumed.connect(lambda: record("resumed"))
    paused = worker.pause()  # runs only between toggles
    worker.start()
    await asyncio.wait_for(paused, WAIT)

    def toggle_some() -> list[Latch[None]]:
        return [worker.toggle_pause() for _ in range(per_thread)]

    results = await asyncio.to_thread(together, *[toggle_some] * THREADS)
    for batch in results:
        assert isinstance(batch, list), batch
        for latch in batch:
            await asyncio.wait_for(latch, WAIT)
    # A pause latch completes at the next ``paused``, which may be an earlier
    # request's: wait for every transition to be reported before reading the state.
    await asyncio.wait_for(all_reported.wait(), WAIT)
    assert worker.is_paused
    # Every toggle is a transition, made and reported: none was swallowed.
    assert len(transitions) == 1 + toggles
    assert transitions == ["paused", "resumed"] * (toggles // 2) + ["paused"]
    await asyncio.wait_for(worker.quit(), WAIT)
    assert probe.ended_if_entered()


async def test_pause_resume_send_and_quit_from_many_threads_at_once() -> None:
    """A mix of every control: each call's awaitable completes, the worker ends once."""
    for _ in range(10):
        await _every_control_from_many_threads()


async def _every_control_from_many_threads() -> None:
    probe = Probe()
    worker = GeneratorWorker(endless, probe)
    ends: list[str] = []
    worker.finished.connect(lambda: ends.append("finished"))
    worker.start()

    def controls() -> list[Latch[None]]:
        return [worker.pause(), worker.send(1), worker.resume(), worker.toggle_pause()]

    results = await asyncio.to_thread(together, *[controls] * THREADS, worker.quit)
    for result in results:
        for latch in result if isinstance(result, list) else [result]:
            assert isinstance(latch, Latch), latch
            with contextlib.suppress(Exception):  # done or ended by the quit: not lost
                await asyncio.wait_for(latch, WAIT)
            assert latch.done()
    await asyncio.wait_for(worker.finished, WAIT)
    assert ends == ["finished"]
    assert probe.ended_if_entered()


async def test_emits_from_many_threads_all_arrive_home_in_each_threads_order() -> None:
    per_thread = 300
    probe = Probe()
    worker = GeneratorWorker(endless, probe)
    paused = worker.pause()  # held before its first step: it yields nothing itself
    worker.start()
    await asyncio.wait_for(paused, WAIT)
    home = threading.get_ident()
    got: list[tuple[int, int]] = []
    all_arrived = asyncio.Event()

    def on_yield(value: tuple[int, int]) -> None:
        assert threading.get_ident() == home  # every callback runs at home
        got.append(value)
        if len(got) == THREADS * per_thread:
            all_arrived.set()

    worker.yielded.connect(on_yield)

    def emit_some(t: int) -> None:
        for i in range(per_thread):
            worker.yielded.emit((t, i))

    results = await asyncio.to_thread(together, *[lambda t=t: emit_some(t) for t in range(THREADS)])
    assert results == [None] * THREADS
    await asyncio.wait_for(all_arrived.wait(), WAIT)
    for t in range(THREADS):
        assert [i for source, i in got if source == t] == list(range(per_thread))
    await asyncio.wait_for(worker.quit(), WAIT)
    assert probe.ended_if_entered()


async def test_state_read_from_many_threads_is_always_a_state_the_worker_had() -> None:
    # Readers hammer is_running / is_paused / abort_requested while the home pauses,
    # resumes and quits: a reader never sees a state the worker never had (paused
    # but not running before the quit, running again after the end).
    probe = Probe()
    worker = GeneratorWorker(endless, probe)
    worker.start()
    stop = threading.Event()
    ended = threading.Event()
    seen: list[tuple[bool, bool, bool]] = []
    bad: list[str] = []

    def read() -> None:
        while not stop.is_set():
            was_ended = ended.is_set()  # before the reads: what they may see
            running, paused = worker.is_running, worker.is_paused
            aborting = worker.abort_requested
            if was_ended and running:
                bad.append("running after finished")
            if paused and not running and not aborting and not ended.is_set():
                bad.append("paused but not running")
            seen.append((running, paused, aborting))

    readers = [threading.Thread(target=read, name=f"reader-{i}") for i in range(THREADS)]
    for reader in readers:
        reader.start()
    try:
        for _ in range(20):
            await asyncio.wait_for(worker.pause(), WAIT)
            await asyncio.wait_for(worker.resume(), WAIT)
        await asyncio.wait_for(worker.quit(), WAIT)
        await asyncio.wait_for(worker.finished, WAIT)
        ended.set()
        await asyncio.sleep(0.01)  # readers look at the ended worker too
    finally:
        stop.set()
        for reader in readers:
            reader.join(WAIT)
    assert bad == []
    assert seen
    assert not worker.is_running
    assert probe.ended_if_entered()


# -- progress (found while hammering) ----------------------------------------------------------


async def test_views_made_in_many_threads_share_the_one_progress_bar() -> None:
    for _ in range(300):
        worker = FunctionWorker(lambda: None)
        views = together(*[lambda w=worker: TerminalProgress(w, file=io.StringIO())] * THREADS)
        bars = {id(view.bar) for view in views if isinstance(view, TerminalProgress)}
        assert len(views) == THREADS
        assert bars == {id(worker.pbar)}  # one bar: what the work reports, every view shows
