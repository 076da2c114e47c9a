"""Ending with the loop, the app or the interpreter: never a hang.

Each case runs in a fresh interpreter, bounded by a timeout, and asserts on
what it printed and how it exited.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

LIMIT = 60  # seconds for a whole child process: a hang fails, never blocks CI


def run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONWARNINGS": "default"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        env=env,
        check=False,
    )


INFINITE = """
import asyncio, threading
from threadworker import thread_worker, current_worker

@thread_worker
def forever():
    try:
        while True:
            yield 1
    finally:
        print("generator cleaned up", flush=True)
"""


RUNNERS = {
    "asyncio.run": "asyncio.run(main())",
    "qasync.run": "import qasync\nfrom qtpy.QtWidgets import QApplication\n"
    "app = QApplication([])\nqasync.run(main())",
}


@pytest.mark.parametrize("runner", list(RUNNERS))
def test_main_returning_quits_running_generators(runner: str) -> None:
    result = run(
        INFINITE
        + """
async def main():
    worker = forever()
    worker.finished.connect(lambda: print("finished emitted", flush=True))
    worker.start()
    await worker.yielded
    print("main returns", flush=True)
    # return without quitting: the loop's close must end the worker

"""
        + RUNNERS[runner]
        + """
print("exited cleanly", flush=True)
"""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "main returns",
        "generator cleaned up",
        "finished emitted",
        "exited cleanly",
    ]


def test_interpreter_exit_with_an_unclosed_loop_does_not_hang() -> None:
    result = run(
        INFINITE
        + """
async def main():
    worker = forever()
    worker.start()
    await worker.yielded

loop = asyncio.new_event_loop()
loop.run_until_complete(main())
print("leaving without closing the loop", flush=True)
"""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "leaving without closing the loop",
        "generator cleaned up",
    ]


def test_blocking_function_is_abandoned_with_a_warning_naming_it() -> None:
    result = run(
        """
import asyncio, threading
from threadworker import thread_worker, configure

@thread_worker
def stuck_forever():
    threading.Event().wait()

async def main():
    configure(shutdown_timeout=0.2)
    worker = stuck_forever()
    worker.start()
    await worker.started

asyncio.run(main())
print("exited", flush=True)
"""
    )
    assert result.returncode == 0, result.stderr
    assert "exited" in result.stdout
    assert "RuntimeWarning: threadworker abandoned 1 worker(s)" in result.stderr
    assert "FunctionWorker[stuck_forever]" in result.stderr


def test_keyboard_interrupt_with_many_workers_exits() -> None:
    result = run(
        INFINITE
        + """
import signal, time
from threadworker import create_worker, configure

def blocking():
    me = current_worker()
    while not me.abort_requested:
        threading.Event().wait(0.01)

async def main():
    configure(shutdown_timeout=5)
    workers = [forever() for _ in range(30)] + [create_worker(blocking) for _ in range(20)]
    for w in workers:
        w.start()
    for w in workers[:5]:
        w.pause()
    await workers[-1].started
    signal.raise_signal(signal.SIGINT)
    await asyncio.Event().wait()

try:
    asyncio.run(main())
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("interrupted")
    # Threads print concurrently, so count in the raw text.
    assert result.stdout.count("generator cleaned up") == 30


def test_core_runs_without_qt_and_start_without_a_loop_says_what_to_do() -> None:
    result = run(
        """
import asyncio, sys
from threadworker import FunctionWorker, thread_worker

@thread_worker
def double(x):
    return 2 * x

async def main():
    return await double(21)
print(asyncio.run(main()))
qt = [m for m in ("PyQt6", "PySide6", "PyQt5", "PySide2", "qtpy", "qasync") if m in sys.modules]
print("qt modules:", qt)
try:
    FunctionWorker(print).start()
except RuntimeError as exc:
    print("error:", exc)
"""
    )
    assert result.returncode == 0, result.stderr
    assert "42" in result.stdout.splitlines()
    assert "qt modules: []" in result.stdout
    assert "error: cannot start a worker here: there is no running asyncio event loop" in (
        result.stdout
    )


@pytest.mark.qt
def test_app_exec_mode_delivers_and_quitting_the_app_ends_workers() -> None:
    result = run(
        INFINITE
        + """
import sys
from qtpy.QtWidgets import QApplication
from qtpy.QtCore import QTimer
from threadworker import FunctionWorker

app = QApplication(sys.argv)
main_thread = threading.get_ident()
fw = FunctionWorker(lambda: "computed")
on_main = lambda: threading.get_ident() == main_thread
fw.returned.connect(lambda v: print("returned", v, on_main(), flush=True))
gw = forever()
gw.yielded.connect(lambda v: None)
gw.finished.connect(lambda: print("generator finished", flush=True))
fw.finished.connect(lambda: QTimer.singleShot(50, app.quit))
fw.start()
gw.start()
app.exec()
print("app.exec returned", flush=True)
"""
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "returned computed True",
        "generator cleaned up",
        "generator finished",
        "app.exec returned",
    ]
    assert "QThread: Destroyed" not in result.stderr


MIXED = (
    INFINITE
    + """
import sys, time
from threadworker import create_worker, configure

def cooperative():
    me = current_worker()
    while not me.abort_requested:
        threading.Event().wait(0.005)

def stuck():
    threading.Event().wait()  # never returns: must be abandoned

def start_fifty():
    configure(shutdown_timeout=1.0, max_threads=4)
    # The stuck ones first, so they hold pool threads (queued ones that are
    # quit are cancelled before they run); two cooperative ones run, 16 queue.
    workers = [create_worker(stuck) for _ in range(2)]
    workers += [create_worker(cooperative) for _ in range(18)]
    workers += [forever() for _ in range(30)]
    for w in workers:
        w.start()
    for w in workers[-5:]:
        w.pause()
    return workers
"""
)

ENDINGS = {
    "loop closes": """
async def main():
    workers = start_fifty()
    await workers[-6].yielded  # not one of the paused ones
asyncio.run(main())
""",
    "sys.exit in asyncio": """
async def main():
    workers = start_fifty()
    await workers[-6].yielded  # not one of the paused ones
    sys.exit(3)
asyncio.run(main())
""",
    "Qt app quits": """
from qtpy.QtWidgets import QApplication
from qtpy.QtCore import QTimer
app = QApplication([])
workers = start_fifty()
workers[-6].yielded.connect(lambda _: QTimer.singleShot(0, app.quit))
app.exec()
""",
    "sys.exit under qasync": """
import qasync
from qtpy.QtWidgets import QApplication
async def main():
    workers = start_fifty()
    await workers[-6].yielded  # not one of the paused ones
    sys.exit(3)
app = QApplication([])
qasync.run(main())
""",
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_fifty_running_workers_never_hang_the_exit(ending: str) -> None:
    result = run(MIXED + ENDINGS[ending])
    assert result.returncode == (3 if "sys.exit" in ending else 0), result.stderr
    assert result.stdout.count("generator cleaned up") == 30  # paused ones too
    assert "QThread: Destroyed" not in result.stderr
    if ending == "sys.exit under qasync":
        # SystemExit raised in a Qt event handler is turned into a C-level
        # exit by PyQt: no Python shutdown hook runs, so nothing can warn
        # about the stuck functions. The exit is still immediate and clean.
        return
    assert "abandoned 2 worker(s)" in result.stderr
    assert result.stderr.count("FunctionWorker[stuck]") == 2


PROCESS_WORKERS = """
import asyncio, multiprocessing, os, sys, time
sys.path.insert(0, {tests!r})
import process_jobs as jobs
from threadworker import configure, create_worker

async def main():
    configure(terminate_after=0.2)
    create_worker(jobs.spin_forever, {marker!r}, _executor="process", _start_thread=True)
    stream = create_worker(jobs.slow_numbers, _executor="process", _start_thread=True)
    await stream.yielded
    while not os.path.exists({marker!r}):
        await asyncio.sleep(0.01)
    pids = [p.pid for p in multiprocessing.active_children()]
    print("pids", *pids, flush=True)
    {ending}

if __name__ == "__main__":
    asyncio.run(main())
"""


@pytest.mark.parametrize("ending", ["return", "sys.exit(3)"])
def test_process_workers_end_with_the_program(ending: str, tmp_path: Path) -> None:
    code = PROCESS_WORKERS.format(
        tests=str(Path(__file__).parent), marker=str(tmp_path / "spinning"), ending=ending
    )
    script = tmp_path / "main.py"  # a file: worker processes import the main module
    script.write_text(code)
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=LIMIT, env=env
    )
    assert result.returncode == (3 if "exit" in ending else 0), result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("pids")]
    pids = [int(pid) for pid in line.split()[1:]]
    assert len(pids) == 2
    for pid in pids:  # reaped by the program before it exited: gone, not orphaned
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert "abandoned" not in result.stderr  # processes can always be stopped


# -- the abandoned warning says what applies to each worker (issue 12, item 16) ----------------

ABANDONED = """
import asyncio, concurrent.futures, threading
from threadworker import configure, create_worker

def stuck():
    threading.Event().wait()

def stuck_between_yields():
    yield 1
    threading.Event().wait()

def never_runs():
    return 1

class TakesButNeverRuns(concurrent.futures.ThreadPoolExecutor):
    # An executor that took the work (it can no longer be cancelled) but has
    # not run it: busy with other work, say.
    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        return future

async def main():
    configure(shutdown_timeout=0.2)
    worker = {make}
    worker.start()
    await worker.started

asyncio.run(main())
print("exited", flush=True)
"""

ABANDONED_CASES = {
    "function": (
        "create_worker(stuck)",
        "FunctionWorker[stuck]: functions cannot be interrupted",
    ),
    "generator": (
        "create_worker(stuck_between_yields)",
        "GeneratorWorker[stuck_between_yields]: generators stop at their next yield, "
        "and these did not reach one",
    ),
    "never started": (
        "create_worker(never_runs, _executor=TakesButNeverRuns())",
        "FunctionWorker[never_runs]: they never started running",
    ),
}


@pytest.mark.parametrize("case", list(ABANDONED_CASES))
def test_the_abandoned_warning_is_worded_for_the_kind_of_worker(case: str) -> None:
    make, wording = ABANDONED_CASES[case]
    result = run(ABANDONED.replace("{make}", make))
    assert result.returncode == 0, result.stderr
    assert "exited" in result.stdout
    assert "threadworker abandoned 1 worker(s)" in result.stderr
    assert wording in result.stderr
    others = [w for c, (_, w) in ABANDONED_CASES.items() if c != case]
    assert not any(other.split(": ", 1)[1] in result.stderr for other in others)


SECOND_CTRL_C = """
import asyncio, multiprocessing, os, sys, time
sys.path.insert(0, {tests!r})
import process_jobs as jobs
from threadworker import _scope, configure, create_worker

closing = _scope.WorkerScope.aclose

async def aclose(self):  # says when the shutdown has begun
    print("shutting down", flush=True)
    await closing(self)

_scope.WorkerScope.aclose = aclose

async def wait_for(path):
    while not os.path.exists(path):
        await asyncio.sleep(0.01)

async def main():
    # Far longer than the test waits: only the way the program exits can end them.
    configure(terminate_after=600, shutdown_timeout=600, max_processes=3)
    create_worker(jobs.spin_forever, {marker!r}, _executor="process", _start_thread=True)
    await wait_for({marker!r})
    # A job whose child holds its pipe open, and a process left idle.
    create_worker(jobs.fork_then_spin, {pid_file!r}, "C fork", _executor="process").start()
    await create_worker(jobs.add, 1, 2, _executor="process")
    await wait_for({pid_file!r})
    workers = [p.pid for p in multiprocessing.active_children() if p.name == "threadworker-process"]
    with open({pid_file!r}) as pid_file:
        grandchildren = pid_file.read().split()
    print("pids", *workers, *grandchildren, flush=True)
    await asyncio.Event().wait()

if __name__ == "__main__":
    asyncio.run(main())
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.timeout(120)
def test_a_second_ctrl_c_during_shutdown_still_reaps_every_worker_process(
    tmp_path: Path,
) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    script = tmp_path / "main.py"
    script.write_text(
        SECOND_CTRL_C.format(
            tests=str(Path(__file__).parent),
            marker=str(tmp_path / "spinning"),
            pid_file=str(tmp_path / "pids"),
        )
    )
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    # A session of its own, so Ctrl+C can be sent the way a terminal does: to
    # the program's whole (foreground) process group.
    with subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    ) as program:
        interrupt_twice(program)


def interrupt_twice(program: subprocess.Popen[str]) -> None:
    """Ctrl+C, then Ctrl+C again once the shutdown has begun; check what is left."""
    import process_jobs

    pids: list[int] = []
    try:
        assert program.stdout is not None
        line = program.stdout.readline()
        assert line.startswith("pids"), line + program.communicate(timeout=LIMIT)[1]
        pids = [int(pid) for pid in line.split()[1:]]
        assert len(pids) == 4  # three worker processes, one child of a job
        os.killpg(program.pid, signal.SIGINT)
        assert program.stdout.readline().startswith("shutting down")
        os.killpg(program.pid, signal.SIGINT)  # while it shuts down
        _, stderr = program.communicate(timeout=30)
        assert "KeyboardInterrupt" in stderr
        deadline = time.monotonic() + 10
        while any(map(process_jobs.process_is_running, pids)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not [pid for pid in pids if process_jobs.process_is_running(pid)]
    finally:  # a failed run must not leave processes behind
        for pid in [program.pid, *pids]:
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        program.wait(LIMIT)


NO_THREAD_AT_EXIT = """
import asyncio, sys, threading
sys.path.insert(0, {tests!r})
import process_jobs as jobs
from threadworker import _scope, create_worker

start = threading.Thread.start

def refuse_senders(thread):
    if thread.name.endswith("-sender"):
        raise RuntimeError("can't create new thread at interpreter shutdown")
    start(thread)

processes = []

async def main():
    assert await create_worker(jobs.add, 1, 2, _executor="process") == 3
    processes.extend(_scope.current_scope()._process_pool.processes())
    threading.Thread.start = refuse_senders

if __name__ == "__main__":
    asyncio.run(main())  # the loop's close ends the pool
    print("exit codes", [p.exitcode for p in processes], flush=True)
"""


def test_a_process_is_told_to_exit_even_when_no_thread_can_start(tmp_path: Path) -> None:
    # From Python 3.12 no thread starts once the interpreter shuts down, and a
    # Qt home ends its pool then: the courier's sender thread could not start,
    # the process was never told to exit, and the program hung at its exit.
    script = tmp_path / "main.py"  # a file: worker processes import the main module
    script.write_text(NO_THREAD_AT_EXIT.format(tests=str(Path(__file__).parent)))
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=LIMIT
    )
    assert result.returncode == 0, result.stderr
    assert "exit codes [0]" in result.stdout, result.stdout + result.stderr  # exited, not killed
