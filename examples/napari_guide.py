"""napari's "Multithreading in napari" guide in a real napari viewer, on threadworker.

Each ``--example`` is one of the guide's code blocks with one import changed:
``from threadworker import thread_worker`` instead of napari's. Needs napari
(``pip install "napari[pyqt6]"``) and a display (or Xvfb: napari needs OpenGL).

    python examples/napari_guide.py --example yielded

With ``--auto`` the script does what a user would (press STOP, close the
window, ...), prints what happened and quits; ``make test-napari`` runs it so.
``--example exit`` is the guide's "Graceful exit": the window is closed while
the endless worker runs, without pressing STOP (``--quit-by napari`` uses
napari's quit, ``--quit-by close`` closes the viewer).
"""

import argparse
import time
from collections.abc import Callable, Generator
from typing import Any

import napari
import numpy as np
from napari._qt.qt_event_loop import quit_app
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QPushButton

from threadworker import FunctionWorker, create_worker, thread_worker

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument(
    "--example",
    choices=["function", "connect", "errors", "yielded", "stop", "exit", "send", "sugar"],
    default="yielded",
)
parser.add_argument("--auto", action="store_true", help="act as a user would, then quit")
parser.add_argument("--frames", type=int, default=1024, help="frames averaged (the guide: 1024)")
parser.add_argument("--quit-by", choices=["napari", "close"], default="napari")
parser.add_argument("--screenshot", help="with --example yielded: save the window mid-run here")
args = parser.parse_args()

viewer = napari.Viewer()


def auto(action: Callable[[], object], ms: int = 0) -> None:
    """With --auto, do *action* (a user's click or close) after *ms* milliseconds."""
    if args.auto:
        QTimer.singleShot(ms, action)


def quit_napari() -> None:
    if args.quit_by == "napari":
        quit_app()  # what File > Exit does
    else:
        viewer.close()


def when_done(worker: Any, report: Callable[[], str]) -> None:
    """With --auto: print *report* when the worker finished, then quit."""
    if args.auto:
        worker.finished.connect(lambda: (print(report(), flush=True), quit_napari()))


def layers() -> str:
    return ", ".join(f"{layer.name} {layer.data.shape}" for layer in viewer.layers)


# -- the guide's code blocks ---------------------------------------------------------------------
def function() -> None:
    """Threading in napari with ``@thread_worker``."""

    @thread_worker
    def average_large_image() -> np.ndarray:
        return np.random.rand(args.frames, 512, 512).mean(0)

    worker = average_large_image()  # create "worker" object
    worker.returned.connect(viewer.add_image)  # connect callback functions
    when_done(worker, lambda: f"function: layers {layers()}")
    worker.start()  # start the thread!


def connect() -> None:
    """The same, with ``connect`` and ``start_thread`` in the decorator."""

    @thread_worker(connect={"returned": viewer.add_image}, start_thread=True)
    def average_large_image() -> np.ndarray:
        return np.random.rand(args.frames, 512, 512).mean(0)

    worker = average_large_image()
    when_done(worker, lambda: f"connect: layers {layers()}")


def errors() -> None:
    """Example: custom exception handler."""

    def my_handler(exc: Exception) -> None:
        if isinstance(exc, ValueError):
            print(f"We had a minor problem {exc}", flush=True)
        else:
            raise exc

    @thread_worker(connect={"errored": my_handler})
    def error_prone_function() -> None:
        raise ValueError("from the worker thread")

    worker = error_prone_function()
    when_done(worker, lambda: "errors: handled")


def yielded() -> None:
    """Retrieving intermediate results."""
    shown = [0]

    def update_layer(new_image: np.ndarray) -> None:
        shown[0] += 1
        try:
            # if the layer exists, update the data
            viewer.layers["result"].data = new_image
        except KeyError:
            # otherwise add it to the viewer
            viewer.add_image(new_image, contrast_limits=(0.45, 0.55), name="result")
        if shown[0] == 4 and args.screenshot:
            viewer.screenshot(args.screenshot, canvas_only=False)
            print(f"yielded: screenshot mid-run saved to {args.screenshot}", flush=True)

    @thread_worker(connect={"yielded": update_layer})
    def large_random_images() -> Generator[np.ndarray, None, None]:
        cumsum = np.zeros((512, 512))
        for i in range(args.frames):
            cumsum += np.random.rand(512, 512)
            if i % 16 == 0:
                yield cumsum / (i + 1)

    worker = large_random_images()  # call the function!
    when_done(worker, lambda: f"yielded: {shown[0]} intermediate images, layers {layers()}")


def endless_with_stop_button() -> tuple[Any, QPushButton, list[int]]:
    """Flow control and escape hatches: the STOP! button."""
    frames = [0]

    def update_layer(new_image: np.ndarray) -> None:
        frames[0] += 1
        try:
            viewer.layers["result"].data = new_image
        except KeyError:
            viewer.add_image(new_image, name="result", contrast_limits=(-0.8, 0.8))

    @thread_worker
    def yield_random_images_forever() -> Generator[np.ndarray, None, None]:
        i = 0
        try:
            while True:  # infinite loop!
                yield np.random.rand(512, 512) * np.cos(i * 0.2)
                i += 1
                time.sleep(0.05)
        finally:
            print("generator stopped at its next yield", flush=True)

    worker = yield_random_images_forever()
    worker.yielded.connect(update_layer)

    # add a button to the viewer that, when clicked, stops the worker
    button = QPushButton("STOP!")
    button.clicked.connect(worker.quit)
    worker.finished.connect(button.clicked.disconnect)
    viewer.window.add_dock_widget(button)

    worker.start()
    return worker, button, frames


def stop() -> None:
    worker, button, frames = endless_with_stop_button()
    if args.auto:
        # Press STOP once three frames were shown.
        worker.yielded.connect(lambda _: frames[0] == 3 and button.click())
    when_done(worker, lambda: f"stop: aborted after {frames[0]} frames")


def exit_() -> None:
    """Graceful exit: quit *without* pressing STOP."""
    worker, _button, frames = endless_with_stop_button()
    if args.auto:
        worker.yielded.connect(lambda _: frames[0] == 3 and QTimer.singleShot(0, quit_napari))


def send() -> None:
    """Two-way communication: ``worker.send`` sets what the next ``yield`` evaluates to."""

    @thread_worker
    def scaled_images() -> Generator[np.ndarray, float | None, None]:
        scale = 1.0
        for _ in range(args.frames):
            new_scale = yield np.random.rand(64, 64) * scale
            if new_scale is not None:
                scale = new_scale
                print(f"generator received {new_scale}", flush=True)
            time.sleep(0.01)

    received: list[float] = []
    worker = scaled_images()
    worker.yielded.connect(lambda image: received.append(float(image.max())))
    if args.auto:
        worker.yielded.connect(lambda _: len(received) == 3 and worker.send(100.0))
    when_done(worker, lambda: f"send: largest value after the send {max(received):.0f}")
    worker.start()


def sugar() -> None:
    """Syntactic sugar: the decorator, ``create_worker`` and the class agree."""
    results: list[str] = []

    def my_function(arg1: str, arg2: int | None = None) -> str:
        return f"{arg1} {arg2}"

    workers = [
        thread_worker(my_function)("hello", arg2=42),
        create_worker(my_function, "hello", arg2=42),
        FunctionWorker(my_function, "hello", arg2=42),
    ]

    def all_returned(value: str) -> None:
        results.append(value)
        if len(results) == len(workers):
            print(f"sugar: {results.count('hello 42')} of 3 returned 'hello 42'", flush=True)
            auto(quit_napari)

    for worker in workers:
        worker.returned.connect(all_returned)
        worker.start()


{
    "function": function,
    "connect": connect,
    "errors": errors,
    "yielded": yielded,
    "stop": stop,
    "exit": exit_,
    "send": send,
    "sugar": sugar,
}[args.example]()
napari.run()
print(f"{args.example}: exited cleanly", flush=True)
