"""Work for worker processes: module-level, so a child process can unpickle it.

Kept apart from the test modules so a worker process imports only this
(and threadworker), not pytest and the tests.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any

from threadworker import current_worker, progress, thread_worker


def pid_and_square(x: int) -> tuple[int, int]:
    return os.getpid(), x * x


def echo(value: Any) -> Any:
    return value


def add(a: int, b: int, *, times: int = 1) -> int:
    return (a + b) * times


def fail_here(message: str) -> None:
    raise ValueError(message)


class NeedsTwoArguments(Exception):
    """An exception pickle can dump but not load (its __init__ takes two)."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a}/{b}")


def fail_unloadable() -> None:
    raise NeedsTwoArguments("first", "second")


def return_lock() -> threading.Lock:
    return threading.Lock()


def spin_forever(marker: str | None = None) -> None:
    if marker is not None:
        Path(marker).write_text("spinning")
    while True:
        pass


def sleep_until_quit(marker: str) -> str:
    Path(marker).write_text("running")
    worker = current_worker()
    assert worker is not None
    while not worker.abort_requested:
        time.sleep(0.005)
    return "stopped"


def exit_hard(code: int) -> None:
    os._exit(code)


def report_progress(n: int) -> int:
    for _ in progress(range(n), desc="steps"):
        pass
    return n


def warn_once(text: str) -> int:
    warnings.warn(text, UserWarning, stacklevel=1)
    return 1


def count(n: int) -> Generator[int, None, str]:
    yield from range(n)
    return f"counted {n}"


def count_then_fail(n: int) -> Generator[int, None, None]:
    yield from range(n)
    raise KeyError("after the values")


def accumulate() -> Generator[int, int | None, None]:
    total = 0
    while True:
        received = yield total
        if received is not None:
            total += received


def numbers_forever(marker: str) -> Generator[int, None, None]:
    i = 0
    try:
        while True:
            yield i
            i += 1
    finally:
        Path(marker).write_text("closed")


def yield_then_spin() -> Generator[int, None, None]:
    yield 1
    while True:
        pass


def yield_a_lock() -> Generator[Any, None, None]:
    yield 1
    yield threading.Lock()
    yield 3


def slow_numbers() -> Generator[int, None, None]:
    i = 0
    while True:
        yield i
        i += 1
        time.sleep(0.001)


@thread_worker(executor="process")
def decorated_square(x: int) -> int:
    return x * x


@thread_worker(executor="process")
def decorated_count(n: int) -> Generator[int, None, None]:
    yield from range(n)


def big_blocks(count: int, size: int) -> Generator[bytes, None, None]:
    for i in range(count):
        yield bytes([i % 256]) * size


def maybe_fail(i: int) -> int:
    if i % 7 == 3:
        raise ValueError(f"job {i} fails")
    if i % 11 == 5:
        time.sleep(0.05)
    return i * 2


def steps(i: int) -> Generator[int, int | None, int]:
    total = 0
    for step in range(i % 5 + 1):
        got = yield step
        total += got or 0
    if i % 9 == 4:
        raise KeyError(i)
    return total


class Planned(Exception):
    """An exception a scripted worker raises on purpose."""


def _log(path: str, line: str) -> None:
    with open(path, "a") as log:
        log.write(line + "\n")


def scripted(script: list[str], log: str) -> Generator[int, Any, None]:
    """The state machine's generator, logging what it received and raised."""
    for i, step in enumerate(script):
        if step == "yield":
            value = yield i
            if value is not None:
                _log(log, f"received {value}")
        elif step == "sleep":
            time.sleep(0.001)
        elif step == "raise":
            _log(log, "raised")
            raise Planned("planned")
        else:
            return


def scripted_function(script: list[str], log: str) -> int:
    for step in script:
        if step == "sleep":
            time.sleep(0.001)
        elif step == "raise":
            _log(log, "raised")
            raise Planned("planned")
    return 1


def big_chunks(count: int, size: int) -> Generator[bytes, None, int]:
    """Yield *count* values of *size* bytes as fast as the parent takes them."""
    for _ in range(count):
        yield bytes(size)
    return count
