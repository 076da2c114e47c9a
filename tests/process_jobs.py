"""Work for worker processes: module-level, so a child process can unpickle it.

Kept apart from the test modules so a worker process imports only this
(and threadworker), not pytest and the tests.
"""

from __future__ import annotations

import ctypes
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


def _fault(step: str, log: str) -> Any:
    """A fault step of the state machine (see ``faults.PROCESS_STEPS``)."""
    _log(log, step)
    if step == "die":
        os._exit(3)
    return threading.Lock() if step == "unpicklable" else NeedsTwoArguments("a", "b")


def scripted(script: list[str], log: str) -> Generator[Any, Any, None]:
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
        elif step in ("die", "unpicklable", "unloadable"):
            yield _fault(step, log)
        else:
            return


def scripted_function(script: list[str], log: str) -> Any:
    for step in script:
        if step == "sleep":
            time.sleep(0.001)
        elif step == "raise":
            _log(log, "raised")
            raise Planned("planned")
        elif step in ("die", "unpicklable", "unloadable"):
            return _fault(step, log)
    return 1


def record_warnings(text: str) -> list[str]:
    """Warn inside ``catch_warnings(record=True)``: what Python's recorder saw."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(text, UserWarning, stacklevel=1)
    return [str(w.message) for w in caught]


def warn_under_ignore(text: str) -> int:
    """Warn where a filter of the worker's own ignores it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.warn(text, UserWarning, stacklevel=1)
    return 1


# -- values and exceptions that misbehave on their way between processes -------------------
class BadStr(Exception):
    """An exception whose ``str()`` raises."""

    def __str__(self) -> str:
        raise RuntimeError("no text for you")


class BadStrUnpicklable(BadStr):
    """An exception whose ``str()`` raises and that refuses to be pickled."""

    def __reduce__(self) -> Any:
        raise TypeError("not this one")


class BadNotes(Exception):
    """An exception that breaks traceback formatting (its notes raise)."""

    @property
    def __notes__(self) -> Any:  # type: ignore[override]
        raise ValueError("notes exploded")


def raise_instance(kind: str) -> None:
    exc: BaseException = {
        "bad-str": BadStr("x"),
        "bad-str-unpicklable": BadStrUnpicklable("x"),
        "bad-notes": BadNotes("with notes"),
        "system-exit": SystemExit(4),
        "keyboard-interrupt": KeyboardInterrupt(),
    }[kind]
    raise exc


def _only_in_the_child(home_pid: int, value: int) -> ChildOnly:
    """Rebuilds a :class:`ChildOnly` anywhere but in the process *home_pid*."""
    if os.getpid() == home_pid:
        raise ImportError("ChildOnly cannot be rebuilt in the home process")
    return ChildOnly(home_pid, value)


class ChildOnly:
    """A value that pickles in a worker process but cannot be unpickled at home."""

    def __init__(self, home_pid: int, value: int) -> None:
        self.home_pid = home_pid
        self.value = value

    def __reduce__(self) -> Any:
        return (_only_in_the_child, (self.home_pid, self.value))


def return_child_only(home_pid: int) -> ChildOnly:
    return ChildOnly(home_pid, 1)


def return_instance_of_a_child_only_module() -> Any:
    """Returns an object whose class lives in a module only the worker process has."""
    import sys
    import types

    module = types.ModuleType("only_in_the_worker_process")
    exec("class Thing:\n    pass\n", module.__dict__)
    sys.modules[module.__name__] = module
    return [1, {"thing": module.Thing()}]


def yield_then_child_only(home_pid: int, where: str) -> Generator[Any, None, Any]:
    """Yields 0, 1, 2 then a :class:`ChildOnly` (or returns it), all in one batch."""
    yield 0
    yield 1
    yield 2
    if where == "return":
        return ChildOnly(home_pid, 3)
    yield ChildOnly(home_pid, 3)
    if where == "yield-then-spin":
        while not current_worker().abort_requested:  # type: ignore[union-attr]
            time.sleep(0.005)
    yield 4
    return "done"


# -- jobs that start processes of their own -------------------------------------------------
def fork_then_spin(pid_file: str, how: str) -> None:
    """Start processes that outlive nothing by themselves, note their pids, then spin."""
    if how in ("fork", "C fork", "escaping C fork"):
        # A C library's fork() runs none of Python's at-fork hooks: the child
        # keeps every descriptor, the worker process's pipe included.
        fork = os.fork if how == "fork" else ctypes.CDLL(None).fork
        pid = fork()
        if pid == 0:  # the grandchild: sleeps, out of the worker's group if asked
            if how == "escaping C fork":
                os.setsid()
            time.sleep(3600)
            os._exit(0)
        pids = [pid]
    else:
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(2)
        pids = [p.pid for p in pool._pool]  # type: ignore[attr-defined]
    Path(pid_file + ".tmp").write_text(" ".join(map(str, pids)))
    os.replace(pid_file + ".tmp", pid_file)
    while True:
        time.sleep(0.01)


def process_is_running(pid: int) -> bool:
    """Whether *pid* runs (a zombie waiting to be reaped has ended); Linux only.

    A helper for the tests, not a job: a killed process whose parent died is
    reaped by whoever adopts it, possibly late.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _only_at_home(home_pid: int) -> HomeOnly:
    """Rebuilds a :class:`HomeOnly` only in the process *home_pid*."""
    if os.getpid() != home_pid:
        raise ImportError("HomeOnly cannot be rebuilt in a worker process")
    return HomeOnly(home_pid)


class HomeOnly:
    """A value that pickles at home but cannot be unpickled in a worker process."""

    def __init__(self, home_pid: int) -> None:
        self.home_pid = home_pid

    def __reduce__(self) -> Any:
        return (_only_at_home, (self.home_pid,))


def raise_base(kind: str) -> None:
    if kind == "system-exit":
        raise SystemExit(4)
    raise KeyboardInterrupt


def yield_then_raise_base(kind: str) -> Generator[int, None, None]:
    yield 1
    raise_base(kind)


def big_blocks_forever(size: int) -> Generator[bytes, None, None]:
    i = 0
    while True:
        yield bytes([i % 256]) * size
        i += 1


def fork_and_return() -> str:
    """Fork a child that returns from the job too (as a careless job's might)."""
    pid = os.fork()
    if pid == 0:
        return "the forked child"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return "the worker process"
        time.sleep(0.005)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return "the worker process, its child killed"


def fork_then_big_blocks(pid_file: str, size: int) -> Generator[bytes, None, None]:
    """A child that holds the pipe, then big values for ever."""
    pid = os.fork()
    if pid == 0:
        time.sleep(3600)
        os._exit(0)
    Path(pid_file).write_text(str(pid))
    yield from big_blocks_forever(size)


class ExitsWhenRebuilt:
    """A value whose unpickling calls ``sys.exit(5)``, wherever it happens."""

    def __reduce__(self) -> Any:
        import sys

        return (sys.exit, (5,))


def return_exits_when_rebuilt() -> ExitsWhenRebuilt:
    return ExitsWhenRebuilt()


def hold_the_gil(marker: str) -> Generator[int, Any, None]:
    """A regular expression that holds the GIL for ever (noted in *marker* first)."""
    import re

    Path(marker).write_text("holding")
    re.match(r"(a+)+$", "a" * 64 + "b")  # catastrophic backtracking, in C
    yield 2


def big_chunks(count: int, size: int) -> Generator[bytes, None, int]:
    """Yield *count* values of *size* bytes as fast as the parent takes them."""
    for _ in range(count):
        yield bytes(size)
    return count


def _fail_once_exists(marker: str) -> None:
    """Rebuilding a :class:`LoadsAfter` at home: wait for *marker*, then fail."""
    deadline = time.monotonic() + 30  # bounded: a missing marker fails the test, not hangs it
    while not Path(marker).exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    raise RuntimeError("rebuilt only after the marker exists, and then never")


class LoadsAfter:
    """Pickles in a worker process; rebuilding it at home waits for a file, then fails.

    The home reads the batch holding it only once the job wrote the file: what
    the job did meanwhile (receive a send) is on its way home behind it.
    """

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (_fail_once_exists, (self.marker,))


def _refuse_to_load() -> None:
    raise RuntimeError("NeverLoads cannot be rebuilt anywhere")


class NeverLoads:
    """Pickles anywhere, unpickles nowhere (whatever copyreg hooks are installed:
    distributed installs tblib's, which rebuild exceptions pickle alone cannot)."""

    def __reduce__(self) -> Any:
        return (_refuse_to_load, ())


def unloadable_then_receive(log: str) -> Generator[Any, Any, None]:
    """Yield a value the home cannot load, then receive one send and log it."""
    received = yield LoadsAfter(log)
    Path(log).write_text(f"received {received}")


def receive_after(marker: str, count: int) -> Generator[None, Any, list[int]]:
    """Take no send until *marker* exists, then *count* sends (sizes, or ints)."""
    deadline = time.monotonic() + 30  # bounded: a missing marker fails the test
    while not Path(marker).exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    received: list[int] = []
    while len(received) < count:
        value = yield
        if value is not None:
            received.append(value if isinstance(value, int) else len(value))
    return received
