"""The thread-to-home channel: order, batching, backpressure, slices."""

from __future__ import annotations

import threading
from collections import deque
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


class WatchedCondition(threading.Condition):
    """A condition that says when a producer starts waiting on it."""

    def __init__(self) -> None:
        super().__init__(threading.Lock())
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


def test_an_item_put_between_a_failed_pop_and_the_flag_reset_is_delivered() -> None:
    # The lost wake-up of issue #12 item 17: the producer still saw the drain
    # scheduled (so it posted nothing), the drain had already found the
    # channel empty. The drain's re-check must deliver the item, in the same
    # drain, and keep later puts from posting a second one.
    home = ManualHome()
    got: list[int] = []
    channel: Channel

    def handle(item: int) -> None:
        got.append(item)
        if item == 1:
            channel.put(2)  # during the drain: no second wake-up

    class LatePut(deque[int]):
        fired = False

        def popleft(self) -> int:
            if not self and not LatePut.fired:
                LatePut.fired = True
                channel.put(1)  # lands now; the producer saw the flag still set
                raise IndexError("pop from an empty deque")
            return super().popleft()

    channel = Channel(home.post, home.post, handle, lambda: False)
    channel._items = LatePut()
    channel.put(0)
    assert home.run_all() == 1
    assert got == [0, 1, 2]
    assert home.posted == []
    channel.put(3)  # the drain finished: the next put wakes the home again
    assert len(home.posted) == 1


def test_a_waiting_producer_is_woken_when_the_drain_stalls_with_room() -> None:
    # The drain makes room, then stalls (an async iterator is full): the
    # producer must be let go now, not when the channel empties.
    home = ManualHome()
    channel = Channel(home.post, home.post, lambda item: None, lambda: True, capacity=100)
    channel._cond = cond = WatchedCondition()
    for i in range(100):
        channel.put(i)
    producer = threading.Thread(target=channel.put, args=(100,))
    producer.start()
    try:
        assert cond.waiting.wait(10)  # full: the producer waits
        home.run_all()  # 64 delivered, then the drain stalls
        producer.join(10)
        assert not producer.is_alive(), "the producer was not woken"
    finally:
        channel.stop_blocking()
        producer.join(10)


def test_a_drain_unblocked_during_its_check_goes_on() -> None:
    # blocked() is True at the drain's check, False at the stall's re-check
    # (the consumer caught up meanwhile): no resume will come, so the drain
    # must go on by itself.
    home = ManualHome()
    got: list[int] = []
    answers = iter([True, False])
    channel = Channel(home.post, home.post, got.append, lambda: next(answers, False))
    for i in range(200):
        channel.put(i)
    home.run_all()
    assert got == list(range(200))


def test_resume_reposts_one_drain_per_stall() -> None:
    home = ManualHome()
    got: list[int] = []
    blocked = [True]
    channel = Channel(home.post, home.post, got.append, lambda: blocked[0])
    channel.resume()  # not stalled: nothing to do
    assert home.posted == []
    for i in range(100):
        channel.put(i)
    home.run_all()
    assert got == list(range(64))
    blocked[0] = False
    channel.resume()
    channel.resume()  # the first one already re-posted the drain
    assert len(home.posted) == 1
    home.run_all()
    assert got == list(range(100))
    channel.resume()  # drained: nothing stalled any more
    assert home.posted == []


def test_the_default_capacity_blocks_the_producer_at_1024_items() -> None:
    home = ManualHome()
    channel = Channel(home.post, home.post, lambda item: None, lambda: False)
    channel._cond = cond = WatchedCondition()

    def produce() -> None:
        for i in range(1025):
            channel.put(i)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        assert cond.waiting.wait(10)
        assert len(channel._items) == 1024
    finally:
        channel.stop_blocking()
        producer.join(10)


class _PutBeforeEmpty(deque[object]):
    """A deque whose pop on empty first lets a producer put: the racy interleaving."""

    def __init__(self, before_empty: Callable[[], None]) -> None:
        super().__init__()
        self.before_empty: Callable[[], None] | None = before_empty

    def popleft(self) -> object:
        if not self and self.before_empty is not None:
            act, self.before_empty = self.before_empty, None
            act()  # lands after the failed pop, before the drain clears its flag
            raise IndexError("pop from an empty deque")
        return super().popleft()


def _racing_put(channel: Channel, item: object) -> Callable[[], None]:
    def put_from_producer() -> None:
        producer = threading.Thread(target=channel.put, args=(item,))
        producer.start()
        producer.join(10)

    return put_from_producer


def test_a_put_racing_the_end_of_a_drain_is_not_stranded() -> None:
    # The producer sees "a drain is scheduled" and posts none; the drain has
    # just failed to pop. Only the drain's re-check delivers the item.
    home = ManualHome()
    got: list[object] = []
    channel = Channel(home.post, home.post, got.append, lambda: False)
    channel.put("first")

    items = _PutBeforeEmpty(_racing_put(channel, "late"))
    items.extend(channel._items)
    channel._items = items
    home.run_all()
    assert got == ["first", "late"]
    assert not channel._items
    channel.put("next")  # and the channel still wakes the home afterwards
    home.run_all()
    assert got == ["first", "late", "next"]


def test_a_stall_racing_a_resume_does_not_stop_delivery() -> None:
    # The reader makes room between the drain's "blocked?" and its stall:
    # the resume finds nothing stalled yet; the stall's re-check must see it.
    home = ManualHome()
    got: list[int] = []
    calls = [0]
    channel: Channel

    def blocked() -> bool:
        calls[0] += 1
        if calls[0] == 1:
            # First check says blocked; room is made before the stall is recorded.
            channel.resume()
            return True
        return False

    channel = Channel(home.post, home.post, got.append, blocked)
    for i in range(200):
        channel.put(i)
    home.run_all()
    assert got == list(range(200))


def test_a_producer_blocking_as_the_drain_empties_is_woken() -> None:
    # The producer finds the channel full, and the home empties it before the
    # producer says it is waiting: the drain wakes nobody, so only the
    # producer's re-check after publishing its flag lets it through.
    home = ManualHome()
    got: list[int] = []
    channel = Channel(home.post, home.post, got.append, lambda: False, capacity=2)
    channel.put(0)
    channel.put(1)
    real_full = channel._full
    checks = [0]

    def full_then_drained() -> bool:
        checks[0] += 1
        if checks[0] == 1:
            assert real_full()
            home.run_all()  # the whole drain runs in this gap
            return True
        return real_full()

    channel._full = full_then_drained  # type: ignore[method-assign]
    producer = threading.Thread(target=channel.put, args=(2,))
    producer.start()
    producer.join(5)
    stuck = producer.is_alive()
    channel.stop_blocking()  # lets a stuck producer go, so nothing leaks
    producer.join(10)
    home.run_all()
    assert not stuck
    assert got == [0, 1, 2]


def test_backpressure_holds_when_the_home_drains_a_few_at_a_time() -> None:
    # Each drain finds only a few items: the blocked check must still run
    # every few items, counted across drains, not per drain.
    home = ManualHome()
    got: list[int] = []
    reader_has = [0]
    bound = 256

    def handle(item: int) -> None:
        got.append(item)
        reader_has[0] += 1  # an iterator nobody reads

    channel = Channel(home.post, home.post, handle, lambda: reader_has[0] >= bound)
    for i in range(1000):  # fewer than the capacity: put() never blocks here
        channel.put(i)
        if i % 3 == 2:
            home.run_all()  # a drain of three
    home.run_all()
    assert bound <= reader_has[0] <= bound + 64  # at most one check interval past it


def test_large_values_are_bounded_by_bytes_against_a_stalled_home() -> None:
    home = ManualHome()  # never drained while the producer runs
    budget = 8 * 2**20
    channel = Channel(home.post, home.post, lambda item: None, lambda: False, max_bytes=budget)
    chunk = 2**20
    produced = [0]
    stop = threading.Event()

    def produce() -> None:
        while not stop.is_set() and produced[0] < 100:  # without a bound: 100 MiB
            channel.put(bytes(chunk))
            produced[0] += 1

    producer = threading.Thread(target=produce)
    producer.start()
    # The producer fills the budget, then blocks: wait until it sits in put().
    for _ in range(10_000):
        if channel._producer_waiting:
            break
        producer.join(0.001)
    in_flight = channel.bytes_in_flight()
    assert budget <= in_flight <= budget + chunk + 64 * len(channel._items)
    assert produced[0] == len(channel._items) <= budget // chunk + 1
    stop.set()
    channel.stop_blocking()
    producer.join(10)
    home.run_all()
    assert channel.bytes_in_flight() == 0


def test_one_value_larger_than_the_budget_still_passes() -> None:
    home = ManualHome()
    got: list[int] = []
    channel = Channel(
        home.post, home.post, lambda item: got.append(len(item)), lambda: False, max_bytes=1000
    )
    channel.put(bytes(5000))  # an empty channel always takes one
    home.run_all()
    channel.put(bytes(5000))
    home.run_all()
    assert got == [5000, 5000]


def test_an_interrupt_from_a_handler_propagates_and_the_rest_is_delivered_later() -> None:
    home = ManualHome()
    got: list[int] = []

    def handle(item: int) -> None:
        if item == 3:
            raise KeyboardInterrupt
        got.append(item)

    channel = Channel(home.post, home.post, handle, lambda: False)
    for i in range(10):
        channel.put(i)
    try:
        home.run_all()
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the KeyboardInterrupt was swallowed")
    assert got == [0, 1, 2]
    home.run_all()  # the drain was re-posted: delivery survives
    assert got == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    channel.put(10)
    home.run_all()
    assert got[-1] == 10
