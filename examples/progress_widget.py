"""Progress: napari-style ``progress=`` bars in a ``WorkerProgress`` widget.

Three workers report progress three ways: a generator with
``progress={"total": N}`` (each yield is a step), a function that reports
through ``threadworker.progress()`` from code that knows nothing about
workers, and an indeterminate ``progress=True``. Each row has Cancel, and
Pause for generators; rows disappear as workers finish. Without a display it
saves a screenshot mid-run (``--png``) and prints what happened.
"""

import argparse
import time
from collections.abc import Generator

from _common import ensure_display, quiet_offscreen_warnings

HEADLESS = ensure_display()

from qtpy.QtWidgets import QApplication  # noqa: E402

from threadworker import progress, thread_worker  # noqa: E402
from threadworker.qt import WorkerProgress  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--png", default="progress.png", help="headless screenshot path")
parser.add_argument("--steps", type=int, default=100)
args = parser.parse_args()


@thread_worker(progress={"total": args.steps, "desc": "generator: 1 step per yield"})
def frames() -> Generator[int, None, None]:
    for i in range(args.steps):
        time.sleep(0.02)
        yield i


def library_code(items: list[int]) -> int:
    """Knows nothing about workers, but reports progress when run in one."""
    total = 0
    for item in progress(items, desc="function: reports via progress()"):
        time.sleep(0.03)
        total += item
    return total


@thread_worker(progress=True)
def unknown_length() -> Generator[None, None, None]:
    for _ in range(args.steps):
        time.sleep(0.025)
        yield


if HEADLESS:
    quiet_offscreen_warnings()
app = QApplication([])
workers = [frames(), thread_worker(library_code)(list(range(args.steps))), unknown_length()]
widget = WorkerProgress(*workers)
widget.setWindowTitle("threadworker progress")
widget.resize(560, 150)
widget.show()
widget.all_finished.connect(app.quit)
for worker in workers:
    worker.start()


def snapshot() -> None:
    widget.grab().save(args.png)
    rows = ", ".join(f"{row.pbar.n}/{row.pbar.total or '?'}" for row in widget.rows)
    print(f"screenshot mid-run saved to {args.png} ({rows})")


if HEADLESS:  # mid-run: when the first worker is half-way
    workers[0].yielded.connect(lambda i: snapshot() if i == args.steps // 2 else None)
app.exec()
print("all finished:", [f"{w.pbar.n} steps" for w in workers if w.pbar is not None])
