"""Signals as callback hooks and awaitable events, outside any worker."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from threadworker import FunctionWorker, Signal, SignalInstance
from threadworker._signal import ITERATOR_HIGH_WATER

WAIT = 10


class Owner:
    """A minimal signal owner: everything is on the calling thread."""

    changed: Signal[int] = Signal(nargs=1)
    done: Signal[None] = Signal(once=True)

    def __init__(self) -> None:
        self.reported: list[BaseException] = []

    def _post_to_home(self, fn: Callable[..., object], *args: object) -> bool:
        return False

    def _report_exception(self, exc: BaseException, message: str) -> None:
        self.reported.append(exc)

    def _signal_owner_name(self) -> str:
        return "Owner"

    def _signal_created(self, signal: SignalInstance[Any]) -> None:
        pass


class Receiver:
    def __init__(self) -> None:
        self.got: list[int] = []

    def on_changed(self, value: int) -> None:
        self.got.append(value)


def test_class_access_gives_the_declaration_and_instances_get_their_own() -> None:
    assert isinstance(Owner.changed, Signal)
    a, b = Owner(), Owner()
    assert isinstance(a.changed, SignalInstance)
    assert a.changed is a.changed
    assert a.changed is not b.changed
    assert str(a.changed) != str(b.changed)  # pytest-qt keys signals by str()
    assert a.changed.signal == "Owner.changed"
    assert a.changed.name == "changed"


def test_connect_emit_disconnect_in_order() -> None:
    owner = Owner()
    seen: list[str] = []
    first = owner.changed.connect(lambda v: seen.append(f"first {v}"))
    owner.changed.connect(lambda v: seen.append(f"second {v}"))
    owner.changed.emit(1)
    owner.changed.disconnect(first)
    owner.changed.emit(2)
    owner.changed.disconnect()
    owner.changed.emit(3)
    assert seen == ["first 1", "second 1", "second 2"]


def test_connect_works_as_a_decorator() -> None:
    owner = Owner()
    seen: list[int] = []

    @owner.changed.connect
    def on_change(value: int) -> None:
        seen.append(value)

    owner.changed.emit(5)
    assert seen == [5]
    assert callable(on_change)


def test_callbacks_with_fewer_parameters_get_the_leading_arguments() -> None:
    owner = Owner()
    seen: list[str] = []
    owner.changed.connect(lambda: seen.append("no args"))
    owner.changed.emit(9)
    assert seen == ["no args"]


def test_bound_methods_are_held_weakly_and_dead_ones_skipped() -> None:
    owner = Owner()
    receiver = Receiver()
    owner.changed.connect(receiver.on_changed)
    owner.changed.emit(1)
    assert receiver.got == [1]
    del receiver
    gc.collect()
    owner.changed.emit(2)  # no error: the dead receiver is dropped
    assert not owner.changed.has_receivers()


def test_lambdas_are_held_strongly() -> None:
    owner = Owner()
    seen: list[int] = []
    owner.changed.connect(lambda v: seen.append(v))
    gc.collect()
    owner.changed.emit(4)
    assert seen == [4]


def test_disconnect_unknown_callback_raises() -> None:
    owner = Owner()
    with pytest.raises(ValueError, match="is not connected"):
        owner.changed.disconnect(print)


def test_connect_rejects_non_callables() -> None:
    owner = Owner()
    with pytest.raises(TypeError, match="needs a callable"):
        owner.changed.connect(42)  # type: ignore[type-var]


def test_emit_checks_the_argument_count() -> None:
    owner = Owner()
    with pytest.raises(TypeError, match="emitted with 1 argument"):
        owner.changed.emit()


def test_raising_callback_is_reported_and_later_ones_still_run() -> None:
    owner = Owner()
    seen: list[int] = []

    def bad(_: int) -> None:
        raise RuntimeError("boom")

    owner.changed.connect(bad)
    owner.changed.connect(seen.append)
    owner.changed.emit(1)
    assert seen == [1]
    assert [str(e) for e in owner.reported] == ["boom"]


def test_chaining_into_another_signal() -> None:
    source, target = Owner(), Owner()
    seen: list[int] = []
    target.changed.connect(seen.append)
    source.changed.connect(target.changed)
    source.changed.emit(7)
    assert seen == [7]


async def test_await_repeating_signal_waits_for_the_next_emission() -> None:
    owner = Owner()
    owner.changed.emit(1)  # before anyone waits: not latched
    waiter = asyncio.ensure_future(owner.changed)
    await asyncio.sleep(0)
    owner.changed.emit(2)
    assert await asyncio.wait_for(waiter, WAIT) == 2


async def test_await_one_shot_signal_is_latched() -> None:
    owner = Owner()
    owner.done.emit()
    await asyncio.wait_for(owner.done, WAIT)  # returns at once


async def test_async_iteration_over_a_signal_ends_when_closed() -> None:
    owner = Owner()
    collected: list[int] = []

    async def collect() -> None:
        async for value in owner.changed:
            collected.append(value)

    task = asyncio.ensure_future(collect())
    await asyncio.sleep(0)
    for i in range(3):
        owner.changed.emit(i)
    owner.changed._close(RuntimeError("closed"))
    await asyncio.wait_for(task, WAIT)
    assert collected == [0, 1, 2]


async def test_awaiting_from_a_loop_in_another_thread() -> None:
    gate = threading.Event()
    worker = FunctionWorker(lambda: "cross-thread" if gate.wait(WAIT) else "timed out")
    # Started here first: awaiting ``returned`` would start it in the other loop.
    worker.start()

    def other_thread() -> str:
        async def wait() -> str:
            return await worker.returned

        return asyncio.run(wait())

    result = asyncio.ensure_future(asyncio.to_thread(other_thread))
    await asyncio.sleep(0.01)  # the other loop subscribes (bounded by WAIT below)
    gate.set()
    assert await asyncio.wait_for(result, WAIT) == "cross-thread"


def test_signal_declaration_validates_nargs() -> None:
    with pytest.raises(ValueError, match="nargs must be 0 or 1"):
        Signal(nargs=2)


def test_builtin_callbacks_without_signature_get_all_arguments(
    capsys: pytest.CaptureFixture[str],
) -> None:
    owner = Owner()
    owner.changed.connect(print)
    owner.changed.emit(3)
    assert capsys.readouterr().out == "3\n"


def test_calling_a_signal_emits_it_dropping_extra_arguments() -> None:
    owner = Owner()
    seen: list[int] = []
    owner.changed.connect(seen.append)
    owner.changed(5, True)  # PyQt passes ``checked`` to clicked slots
    assert seen == [5]


def test_the_value_path_calls_weak_and_strong_callbacks_and_reports_errors() -> None:
    # _emit_value: what a generator worker uses for every yielded value.
    owner = Owner()
    receiver = Receiver()
    seen: list[int] = []

    def bad(_: int) -> None:
        raise RuntimeError("value boom")

    owner.changed.connect(receiver.on_changed)  # held weakly
    owner.changed.connect(bad)
    owner.changed.connect(seen.append)
    owner.changed.connect(lambda: seen.append(-1))  # takes no argument
    owner.changed._emit_value(4)
    assert receiver.got == [4]
    assert seen == [4, -1]
    assert [str(e) for e in owner.reported] == ["value boom"]


def test_dead_receivers_are_dropped_on_either_path() -> None:
    owner = Owner()
    for emit in (owner.changed.emit, owner.changed._emit_value):
        receiver = Receiver()
        owner.changed.connect(receiver.on_changed)
        del receiver
        gc.collect()
        emit(1)
        assert owner.changed._slots == []


def test_a_method_of_an_extension_object_is_held_weakly() -> None:
    owner = Owner()
    values: deque[int] = deque()
    owner.changed.connect(values.append)
    owner.changed.emit(1)
    assert list(values) == [1]
    assert owner.changed.has_receivers()
    del values
    gc.collect()
    assert not owner.changed.has_receivers()


def test_chaining_into_a_qt_like_signal_emits_it() -> None:
    class QtLikeSignal:
        """Like a PyQt bound signal: callable, but calling it raises."""

        def __init__(self) -> None:
            self.emitted: list[tuple[Any, ...]] = []

        def emit(self, *args: Any) -> None:
            self.emitted.append(args)

        def connect(self, slot: Any) -> None:
            pass

        def __call__(self, *args: Any) -> None:
            raise TypeError("native signals are not callable")

    owner = Owner()
    target = QtLikeSignal()
    owner.changed.connect(target)
    owner.changed.emit(9)
    assert target.emitted == [(9,)]
    owner.changed.disconnect(target)
    assert not owner.changed.has_receivers()


async def test_a_fired_one_shot_signal_ends_its_iterators() -> None:
    owner = Owner()
    seen: list[None] = []

    async def collect() -> None:
        async for value in owner.done:
            seen.append(value)

    task = asyncio.ensure_future(collect())
    await asyncio.sleep(0)
    owner.done.emit()
    owner.done._close(None)  # fired and latched: nothing more will come
    await asyncio.wait_for(task, WAIT)
    assert seen == [None]


async def test_a_full_iterator_congests_until_read_down_to_half() -> None:
    owner = Owner()
    spaced: list[str] = []
    owner.changed._on_space = lambda: spaced.append("space")
    iterator = aiter(owner.changed)
    assert not congested(owner.changed)
    for i in range(ITERATOR_HIGH_WATER):
        owner.changed.emit(i)
    assert congested(owner.changed)
    for _ in range(ITERATOR_HIGH_WATER // 2):
        await anext(iterator)
    assert spaced == ["space"]  # half read: delivery may go on
    assert not congested(owner.changed)
    del iterator  # abandoned: delivery must not wait for it
    gc.collect()
    assert spaced == ["space", "space"]
    assert not congested(owner.changed)


def congested(signal: SignalInstance[Any]) -> bool:
    """Read the property through a call: mypy would narrow it otherwise."""
    return signal._congested


class _PushBeforeWaiting(deque[Any]):
    """A buffer that is found empty just as a value arrives from another thread."""

    def __init__(self, arrive: Callable[[], None]) -> None:
        super().__init__()
        self.arrive: Callable[[], None] | None = arrive

    def __len__(self) -> int:
        size = super().__len__()
        if size == 0 and self.arrive is not None:
            act, self.arrive = self.arrive, None
            act()  # the value lands now; the reader acts on what it read before
        return size


async def test_a_value_pushed_as_the_reader_starts_waiting_wakes_it() -> None:
    # The reader saw an empty buffer; the value arrives before it publishes
    # its wake-up future, so the pusher wakes nobody. Only the reader's
    # re-check after publishing finds the value.
    owner = Owner()
    iterator = owner.changed.__aiter__()

    def emit_from_another_thread() -> None:
        pusher = threading.Thread(target=owner.changed.emit, args=(7,))
        pusher.start()
        pusher.join(WAIT)

    iterator._buffer = _PushBeforeWaiting(emit_from_another_thread)  # type: ignore[attr-defined]
    assert await asyncio.wait_for(iterator.__anext__(), WAIT) == 7


class _CloseBeforeListing(deque[Any]):
    """Awaiters' latches; listing the first lets another thread close the signal first."""

    def __init__(self, close: Callable[[], None]) -> None:
        super().__init__()
        self.close: Callable[[], None] | None = close

    def append(self, latch: Any) -> None:
        if self.close is not None:
            act, self.close = self.close, None
            act()  # the close drains the (still empty) list now
        super().append(latch)


async def test_an_await_racing_the_close_of_its_signal_is_not_lost() -> None:
    # The awaiter saw the signal open; the close runs before its latch is
    # listed. Only its re-check after listing ends the wait.
    owner = Owner()
    signal = owner.changed

    def close_from_another_thread() -> None:
        closer = threading.Thread(target=signal._close, args=(LookupError("closed"),))
        closer.start()
        closer.join(WAIT)

    signal._waiters = _CloseBeforeListing(close_from_another_thread)
    with pytest.raises(LookupError):
        await asyncio.wait_for(signal, WAIT)


async def test_awaiters_listed_from_other_threads_during_an_emission_are_not_lost() -> None:
    owner = Owner()
    signal = owner.changed
    results: list[int] = []

    def await_in_another_loop() -> None:
        async def wait() -> None:
            results.append(await asyncio.wait_for(signal, WAIT))

        asyncio.run(wait())

    threads = [threading.Thread(target=await_in_another_loop) for _ in range(8)]
    for thread in threads:
        thread.start()
    # Emit until every awaiter got a value: none is dropped by a swap.
    for value in range(10_000):
        if len(results) == len(threads):
            break
        signal.emit(value)
        await asyncio.sleep(0.001)
    for thread in threads:
        thread.join(WAIT)
    assert len(results) == len(threads)
