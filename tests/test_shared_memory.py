"""Big values to and from worker processes through shared memory (``_shared_memory``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import shm_jobs as jobs
from threadworker import WorkerAborted, WorkerProcessDied, configure, create_worker
from threadworker import _shared_memory as shm
from threadworker._byte_budget import ByteBudget
from threadworker._segment_ring import SegmentRing

WAIT = 30  # seconds; generous: a worker process is started per test
BIG = 1 << 20  # well above the threshold
pytestmark = pytest.mark.skipif(not shm.AVAILABLE, reason="no /dev/shm here")


def join_couriers() -> None:
    """Wait for the threads of worker processes that have ended (they clean up)."""
    for thread in threading.enumerate():
        if thread.name.startswith("threadworker-process-") and "sender" not in thread.name:
            thread.join(WAIT)


async def test_frames_arrive_whole_writable_and_stay_valid_once_kept() -> None:
    kept: list[Any] = []
    worker = create_worker(jobs.frames, 40, BIG, _executor="process")
    it = aiter(worker)
    pid = await asyncio.wait_for(anext(it), WAIT)
    async for frame in it:
        kept.append(frame)  # kept past the callback: its segment must not be reused
    assert len(kept) == 40
    for index, frame in enumerate(kept):
        assert frame.shape == (BIG // 8,)
        assert frame.flags.writeable
        assert (frame == index).all()
    kept[0][:] = -1  # the receiver owns it: writing is fine, and touches no other frame
    assert (kept[1] == 1).all()
    # They came through shared memory: the process keeps its segments for reuse.
    assert shm.leftover_segments(os.getpid(), pid)


async def test_a_reused_buffer_arrives_as_it_was_yielded() -> None:
    kept = []
    async for frame in create_worker(jobs.frames_reusing_one_buffer, 30, BIG, _executor="process"):
        kept.append(frame)
    assert [float(frame[0]) for frame in kept] == [float(i) for i in range(30)]
    assert all((frame == i).all() for i, frame in enumerate(kept))


async def test_the_pipe_path_can_be_forced() -> None:
    configure(shared_memory=False)
    worker = create_worker(jobs.frames, 5, BIG, _executor="process")
    it = aiter(worker)
    pid = await asyncio.wait_for(anext(it), WAIT)
    received = [frame async for frame in it]
    assert [float(frame[0]) for frame in received] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert shm.leftover_segments(os.getpid(), pid) == []


async def test_a_big_return_value() -> None:
    result = await asyncio.wait_for(create_worker(jobs.big_array, BIG, _executor="process"), WAIT)
    assert (result == np.arange(BIG // 8)).all()
    assert result.flags.writeable


async def test_big_arguments_of_every_buffer_kind() -> None:
    array = np.arange(BIG // 8, dtype=np.float64)
    data = bytes(range(256)) * (BIG // 256)
    mutable = bytearray(data)
    worker = create_worker(jobs.describe, array, data, mutable, _executor="process")
    result = await asyncio.wait_for(worker, WAIT)
    assert result == [
        ("ndarray", float(array.sum())),
        ("bytes", float(sum(data))),
        ("bytearray", float(sum(data))),
    ]
    # What this process made for the job is gone with it.
    assert shm.leftover_segments(os.getpid(), os.getpid()) == []


async def test_big_values_sent_to_a_process_generator() -> None:
    worker = create_worker(jobs.sum_sent, _executor="process")
    totals: list[float] = []
    worker.yielded.connect(totals.append)
    worker.start()
    for scale in (1.0, 2.0):
        await asyncio.wait_for(worker.send(np.full(BIG // 8, scale)), WAIT)
    await asyncio.wait_for(worker.quit(), WAIT)
    assert 3.0 * (BIG // 8) in totals
    assert shm.leftover_segments(os.getpid(), os.getpid()) == []


@pytest.mark.parametrize("end", ["exit", "sigkill", "quit"])
async def test_no_segment_outlives_a_process_that_crashed_or_was_killed(
    end: str, tmp_path: Path
) -> None:
    configure(terminate_after=0.2)
    marker = tmp_path / "home has a frame"
    worker = create_worker(jobs.frames_then, 20, BIG, end, str(marker), _executor="process")
    it = aiter(worker)
    pid = await asyncio.wait_for(anext(it), WAIT)
    await asyncio.wait_for(anext(it), WAIT)  # a frame arrived: segments exist
    assert shm.leftover_segments(os.getpid(), pid)
    marker.touch()  # now it may end
    if end == "quit":
        async for frame in it:  # up to the last frame: then it hangs, and only a kill ends it
            if float(frame[0]) == 19.0:
                break
        worker.quit()
        with pytest.raises(WorkerAborted):
            await asyncio.wait_for(worker, WAIT)
    else:
        with pytest.raises(WorkerProcessDied):
            await asyncio.wait_for(worker, WAIT)
    join_couriers()
    assert shm.leftover_segments(os.getpid(), pid) == []


async def test_a_fast_producer_is_held_back_by_the_byte_budget(tmp_path: Path) -> None:
    frame = 256 * 1024
    configure(max_bytes_in_flight=4 * frame)
    log = tmp_path / "made"
    lead = 0
    received = 0
    async for _ in create_worker(jobs.counted_frames, 300, frame, str(log), _executor="process"):
        received += 1
        if received == 1:
            # A slow consumer: the producer gets a head start to run as far as it
            # may (not a synchronisation: the bound below holds whatever it does).
            await asyncio.sleep(1.0)
        lead = max(lead, int(log.read_text()) - received)
    assert received == 300
    # Ahead of the home by at most the budget here and there, a batch and one frame
    # being made; without a budget the process runs hundreds of frames ahead.
    assert lead <= 16


# -- the parts on their own -------------------------------------------------------------------
def test_the_ring_reuses_a_segment_given_back() -> None:
    ring = SegmentRing(8 * BIG)
    try:
        first = ring.take(BIG)
        second = ring.take(BIG)
        assert first.name != second.name
        ring.give_back(first.name)
        assert ring.take(BIG - 100).name == first.name  # close enough in size
        assert ring.take(BIG // 4).name not in (first.name, second.name)  # far too big
    finally:
        ring.close()
    assert shm.leftover_segments(os.getpid(), os.getpid()) == []


def test_a_value_keeps_its_segment_after_it_is_decoded() -> None:
    import pickle

    ring = SegmentRing(8 * BIG)
    given_back: list[str] = []
    shm.returning_to(given_back.append)
    try:
        encoded = shm.encode(np.full(BIG // 8, 7.0), threshold=shm.THRESHOLD, ring=ring)
        value = pickle.loads(pickle.dumps(encoded))
        view = value[10:]
        del value
        assert given_back == []  # a view of it lives on
        assert (view == 7.0).all()
        del view
        assert given_back == [encoded.name]
    finally:
        ring.close()


def test_the_byte_budget_lets_one_big_value_pass_alone() -> None:
    budget = ByteBudget(100)
    budget.acquire(500, lambda: False)  # nothing in flight: it passes
    assert budget.used == 500
    blocked = threading.Event()
    done = threading.Event()

    def second() -> None:
        blocked.set()
        budget.acquire(10, lambda: False)
        done.set()

    thread = threading.Thread(target=second)
    thread.start()
    blocked.wait(WAIT)
    budget.release(500)
    assert done.wait(WAIT)
    thread.join(WAIT)
    assert budget.used == 10


# -- executors (dask's path): no copy added ---------------------------------------------------
_made: list[Any] = []


def make_array() -> Any:
    array = np.ones(BIG // 8)
    _made.append(array)
    return array


async def test_an_executor_result_arrives_as_the_very_object_it_made() -> None:
    # dask's Client executor takes this path too: threadworker hands the future's
    # result on as it is, without pickling or copying it.
    _made.clear()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = await asyncio.wait_for(create_worker(make_array, _executor=pool), WAIT)
    assert result is _made[0]
