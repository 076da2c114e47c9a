"""The thread-to-home channel: order, batching, backpressure, slices."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from threadworker._channel import Channel


class ManualHome:
    """A home thread we pump by hand."""

    def __init__(self) -> None:
        self.posted: list[Callable[[], None]] = []
        self.lock = threading.Lock()

    def post(self, fn: Callable[[], None]) -> None:
        with self.lock:
            self.posted.append(fn)

    def run_all(self) -> int:
        ran = 0
        while True:
            with self.lock:
                if not self.posted:
                    return ran
                fn = self.posted.pop(0)
            fn()
            ran += 1


def test_items_arrive_in_order_with_one_wakeup_per_batch() -> None:
    home = ManualHome()
    got: list[int] = []
    channel = Channel(home.post, home.post, got.append, lambda: False)
    for i in range(100):
        channel.put(i)
    assert len(home.posted) == 1  # one wake-up for the whole batch
    home.run_all()
    assert got == list(range(100))


def test_producer_blocks_when_full_until_the_home_drains() -> None:
    home = ManualHome()
    got: list[int] = []
    channel = Channel(home.post, home.post, got.append, lambda: False, capacity=4)
    done = threading.Event()

    def produce() -> None:
        for i in range(10):
            channel.put(i)
        done.set()

    producer = threading.Thread(target=produce)
    producer.start()
    while not done.is_set():
        home.run_all()
        done.wait(0.001)  # the producer refills; we drain again
    producer.join(10)
    home.run_all()
    assert got == list(range(10))


def test_stop_blocking_releases_a_full_producer() -> None:
    home = ManualHome()
    channel = Channel(home.post, home.post, lambda item: None, lambda: False, capacity=1)
    channel.put(0)
    released = threading.Event()

    def produce() -> None:
        channel.put(1)  # blocks: full
        released.set()

    producer = threading.Thread(target=produce)
    producer.start()
    channel.stop_blocking()
    assert released.wait(10)
    producer.join(10)


def test_blocked_consumer_stalls_then_resume_continues() -> None:
    home = ManualHome()
    got: list[int] = []
    blocked = [True]
    channel = Channel(home.post, home.post, got.append, lambda: blocked[0])
    for i in range(200):
        channel.put(i)
    home.run_all()
    assert got == list(range(64))  # stalled at the first backpressure check
    blocked[0] = False
    channel.resume()
    home.run_all()
    assert got == list(range(200))


def test_long_drains_yield_to_the_home_between_slices() -> None:
    home = ManualHome()
    got: list[int] = []
    wait = threading.Event()

    def slow(item: int) -> None:
        wait.wait(0.0001)  # each item takes a moment: a slice ends early
        got.append(item)

    channel = Channel(home.post, home.post, slow, lambda: False)
    for i in range(200):
        channel.put(i)
    ran = home.run_all()
    assert got == list(range(200))
    assert ran > 1  # the drain re-posted itself instead of hogging the home


def test_items_after_a_keyboard_interrupt_are_delivered_by_the_next_drain() -> None:
    home = ManualHome()
    got: list[int] = []

    def handle(item: int) -> None:
        if item == 3:
            raise KeyboardInterrupt  # a callback interrupted by the user
        got.append(item)

    channel = Channel(home.post, home.post, handle, lambda: False)
    for i in range(6):
        channel.put(i)
    with pytest.raises(KeyboardInterrupt):
        home.run_all()
    assert got == [0, 1, 2]
    home.run_all()  # the drain re-posted itself before the interrupt went on
    assert got == [0, 1, 2, 4, 5]
    channel.put(6)  # and the channel still wakes its home
    home.run_all()
    assert got == [0, 1, 2, 4, 5, 6]
