"""The pure generator driver, stepped by hand: no threads involved."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from threadworker._stepper import NOTHING, GeneratorDriver


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
