"""The pure generator driver, stepped by hand: no threads involved."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Generator
from typing import Any

from threadworker._stepper import NOTHING, Event, GeneratorDriver, drive


def echo() -> Generator[Any, Any, str]:
    received: list[Any] = []
    try:
        while True:
            value = yield received[-1] if received else "first"
            received.append(value)
            if value == "end":
                return "ended"
    finally:
        received.append("closed")


def test_first_step_is_next_and_sends_wait_a_step() -> None:
    driver = GeneratorDriver(echo())
    driver.queue_send("early", "token-1")
    action = driver.next_action()
    assert action == ("step", NOTHING, None)
    assert driver.step(action[1]) == ("yielded", "first")
    assert driver.next_action() == ("step", "early", "token-1")


def test_steps_with_nothing_queued_send_none() -> None:
    driver = GeneratorDriver(echo())
    driver.step()
    assert driver.next_action() == ("step", NOTHING, None)
    assert driver.step(NOTHING) == ("yielded", None)


def test_send_none_is_a_real_value() -> None:
    driver = GeneratorDriver(echo())
    driver.step()
    driver.queue_send(None, "t")
    assert driver.next_action() == ("step", None, "t")


def test_pause_resume_transitions_are_honoured_in_order() -> None:
    driver = GeneratorDriver(echo())
    driver.step()
    assert driver.request_pause()
    assert not driver.request_pause()  # already requested
    assert driver.request_resume()
    assert driver.request_pause()
    assert driver.next_action() == ("pause",)
    assert driver.next_action() == ("resume",)
    assert driver.next_action() == ("pause",)
    assert driver.next_action() == ("wait",)
    assert driver.pause_requested
    assert driver.paused


def test_abort_wins_over_everything_and_closes() -> None:
    driver = GeneratorDriver(echo())
    driver.step()
    driver.request_pause()
    driver.request_abort()
    assert driver.next_action() == ("abort",)
    assert driver.close() == ("aborted", None)


def test_return_and_errors_are_outcomes() -> None:
    driver = GeneratorDriver(echo())
    driver.step()
    assert driver.step("end") == ("returned", "ended")

    def broken() -> Generator[int, None, None]:
        yield 1
        raise ValueError("x")

    failing = GeneratorDriver(broken())
    failing.step()
    kind, exc = failing.step()
    assert kind == "errored"
    assert isinstance(exc, ValueError)


def test_close_reports_a_raising_finally() -> None:
    def bad_cleanup() -> Generator[int, None, None]:
        try:
            yield 1
        finally:
            raise OSError("cleanup failed")

    driver = GeneratorDriver(bad_cleanup())
    driver.step()
    kind, exc = driver.close()
    assert kind == "errored"
    assert isinstance(exc, OSError)


def test_take_unsent_returns_tokens_of_undelivered_sends() -> None:
    driver = GeneratorDriver(echo())
    driver.queue_send(1, "a")
    driver.queue_send(2, "b")
    assert driver.take_unsent() == ["a", "b"]
    assert driver.take_unsent() == []


def test_events_print_and_pickle() -> None:
    event = Event("errored", ValueError("x"))
    assert repr(Event("received", 3)) == "Event('received', 3)"
    copy = pickle.loads(pickle.dumps(event))
    assert type(copy) is Event
    assert copy.kind == "errored"
    assert isinstance(copy.payload, ValueError)
    assert str(copy.payload) == "x"


def test_attention_is_needed_only_while_something_is_requested() -> None:
    driver = GeneratorDriver(echo())
    assert not needs_attention(driver)  # the worker thread may step lock-free
    driver.step()
    driver.queue_send("value", "token")
    assert needs_attention(driver)
    assert driver.next_action() == ("step", "value", "token")
    assert not needs_attention(driver)  # the send was taken: back to the fast path
    driver.request_pause()
    assert driver.next_action() == ("pause",)
    assert needs_attention(driver)  # paused: the thread must wait, not step
    driver.request_resume()
    assert driver.next_action() == ("resume",)
    assert not needs_attention(driver)


def test_take_requests_hands_each_request_over_once() -> None:
    driver: GeneratorDriver[Any, Any, Any] = GeneratorDriver()
    driver.request_pause()
    driver.queue_send(1, "a")
    driver.request_resume()
    assert driver.take_requests() == (["pause", "resume"], [(1, "a")])
    assert driver.take_requests() == ([], [])


def test_a_driver_made_before_its_generator_steps_it_once_attached() -> None:
    driver: GeneratorDriver[Any, Any, Any] = GeneratorDriver()
    driver.queue_send("early", "token")  # a request that arrived first
    driver.attach(echo())
    assert driver.step() == ("yielded", "first")
    assert driver.next_action() == ("step", "early", "token")


def test_drive_puts_values_events_and_exactly_one_outcome_in_order() -> None:
    def gen() -> Generator[int, Any, str]:
        got = yield 1
        got = yield got
        return f"got {got}"

    driver: GeneratorDriver[int, Any, str] = GeneratorDriver(gen())
    control = threading.Condition()
    put: list[Any] = []
    driver.step()  # what drive() does first, by hand: 1 was yielded
    driver.queue_send("a", "t1")  # the slow path: steps with a value
    driver.queue_send("b", "t2")
    drive(driver, control, put.append)
    kinds = [(e.kind, e.payload) if isinstance(e, Event) else e for e in put]
    assert kinds == [("received", "t1"), "a", ("received", "t2"), ("returned", "got b")]


def test_drive_fast_path_steps_until_the_outcome() -> None:
    driver: GeneratorDriver[int, Any, None] = GeneratorDriver(iter_three())
    put: list[Any] = []
    drive(driver, threading.Condition(), put.append)
    assert put[:3] == [0, 1, 2]
    assert len(put) == 4
    assert put[3].kind == "returned"


def iter_three() -> Generator[int, Any, None]:
    yield from range(3)


def needs_attention(driver: GeneratorDriver[Any, Any, Any]) -> bool:
    """Read the flag through a call: mypy would narrow it otherwise."""
    return driver.attention
