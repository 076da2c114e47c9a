"""threadworker's own pool: bounded, named, daemon threads."""

from __future__ import annotations

import threading

import pytest

from threadworker._pool import IDLE_THREAD_NAME, ThreadPool


def test_runs_tasks_and_reuses_idle_threads() -> None:
    pool = ThreadPool(max_threads=2)
    assert pool.submit(lambda: 41 + 1).result(10) == 42
    assert pool.submit(threading.current_thread).result(10).daemon
    assert len(pool._threads) == 1  # the idle thread was reused
    assert pool.stop(timeout=10) == []


def test_never_exceeds_max_threads() -> None:
    pool = ThreadPool(max_threads=2)
    gate = threading.Event()
    futures = [pool.submit(gate.wait, 10) for _ in range(6)]
    assert len(pool._threads) == 2
    gate.set()
    assert all(f.result(10) for f in futures)
    assert pool.stop(timeout=10) == []


def test_stop_abandons_stuck_threads_and_returns_them() -> None:
    pool = ThreadPool(max_threads=1)
    gate = threading.Event()
    started = threading.Event()

    def stuck() -> None:
        threading.current_thread().name = "threadworker-stuck"
        started.set()
        gate.wait(10)

    pool.submit(stuck)
    assert started.wait(10)
    abandoned = pool.stop(timeout=0.01)
    assert [t.name for t in abandoned] == ["threadworker-stuck"]
    gate.set()
    abandoned[0].join(10)
    assert abandoned[0].name == IDLE_THREAD_NAME or not abandoned[0].is_alive()


def test_submit_after_stop_raises_and_cancel_futures() -> None:
    pool = ThreadPool(max_threads=1)
    gate = threading.Event()
    pool.submit(gate.wait, 10)
    queued = pool.submit(lambda: "never")
    pool.stop(timeout=0.0, cancel_futures=True)
    assert queued.cancelled()
    gate.set()
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(lambda: None)
    pool.shutdown(wait=True)


def test_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ThreadPool(max_threads=0)
