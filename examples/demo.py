"""threadworker demo: two generator workers feeding a live window.

Left: the cumulative mean of 1024 noisy 512x512 frames of a Mandelbrot set
(the guide's "intermediate results" example): each frame alone is noise,
and the picture emerges as the mean builds up. It is shown by
threadworker's ``WorkerProgress`` widget with its Pause/Resume and Cancel
buttons. Right: an endless stream of frames every 50 ms, moving ripples
(the guide's "flow control" example), with a STOP button. A 10 ms timer
measures how long the GUI thread is ever blocked.

With a display the window stays until closed. Without one it runs offscreen
for a few seconds, saves ``demo.png`` mid-run, prints what happened and
exits 0.

Run: ``make demo`` (it saves the screenshot as ``docs/demo.png``, the
README's picture) or ``python examples/demo.py [--seconds N] [--png PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Generator
from typing import TypeVar

from _common import (
    ensure_display,
    make_image_view,
    quiet_offscreen_warnings,
    until_window_closed,
)

HEADLESS = ensure_display()

import numpy as np  # noqa: E402
import qasync  # noqa: E402
from qtpy.QtCore import QTimer  # noqa: E402
from qtpy.QtWidgets import (  # noqa: E402
    QApplication,
    QGridLayout,
    QLabel,
    QPushButton,
    QWidget,
)

from threadworker import GeneratorWorker, thread_worker  # noqa: E402
from threadworker.qt import WorkerProgress  # noqa: E402

FRAMES = 1024
EVERY = 16
SIZE = 512
NOISE = 4.0  # per-frame noise, in units of the picture's range: one frame is all noise
T = TypeVar("T")


def mandelbrot(size: int = SIZE, iterations: int = 48) -> np.ndarray:
    """The Mandelbrot set, scaled to 0..1: the picture hidden in the noise."""
    y, x = np.mgrid[-1.25 : 1.25 : size * 1j, -2.1 : 0.9 : size * 1j]
    c = x + 1j * y
    z = np.zeros_like(c)
    escaped = np.full(c.shape, float(iterations))
    for i in range(iterations):
        inside = escaped == iterations
        z[inside] = z[inside] ** 2 + c[inside]
        escaped[inside & (np.abs(z) > 2)] = i
    return np.log1p(escaped) / np.log1p(iterations)  # log: the outer bands show too


def similarity(image: np.ndarray, picture: np.ndarray) -> float:
    """How much of *picture* shows in *image*: their correlation, 0 (none) to 1."""
    return float(np.corrcoef(image.ravel(), picture.ravel())[0, 1])


@thread_worker(progress={"total": FRAMES // EVERY, "desc": "cumulative mean"})
def large_random_images() -> Generator[np.ndarray, None, np.ndarray]:
    """Yield the running mean of noisy frames every 16 frames."""
    picture = mandelbrot()
    rng = np.random.default_rng()
    cumsum = np.zeros((SIZE, SIZE))
    for i in range(FRAMES):
        cumsum += picture + NOISE * rng.standard_normal((SIZE, SIZE))
        if i % EVERY == 0:
            yield cumsum / (i + 1)
    return cumsum / FRAMES


@thread_worker
def yield_random_images_forever() -> Generator[np.ndarray, None, None]:
    """Yield a frame of moving ripples every 50 ms, forever."""
    y, x = np.mgrid[0 : 1 : SIZE * 1j, 0 : 1 : SIZE * 1j]
    left = 60 * np.hypot(x - 0.3, y - 0.5)  # two point sources, interfering
    right = 60 * np.hypot(x - 0.7, y - 0.5)
    rng = np.random.default_rng()
    i = 0
    while True:
        phase = i * 0.3
        noise = 0.2 * rng.standard_normal((SIZE, SIZE))
        yield np.cos(left - phase) + np.cos(right - phase) + noise
        i += 1
        time.sleep(0.05)


class StallMeter:
    """A 10 ms timer: the longest gap between its ticks is the worst GUI stall."""

    def __init__(self) -> None:
        self.max_gap_ms = 0.0
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    def reset(self) -> None:
        """Forget start-up (the first paint is slow offscreen); measure from now."""
        self.max_gap_ms = 0.0
        self._last = time.perf_counter()

    def skip(self) -> None:
        """Forgive the interval now ending (the demo's own screenshot blocks it)."""
        self._last = time.perf_counter()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.max_gap_ms = max(self.max_gap_ms, (now - self._last) * 1000)
        self._last = now


class DemoWindow(QWidget):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("threadworker demo")
        self.mean_view = make_image_view()
        self.stream_view = make_image_view()
        self.stop_button = QPushButton("STOP!")
        self.status = QLabel("starting…")
        layout = QGridLayout(self)
        layout.addWidget(QLabel("mean of noisy frames (yielded every 16)"), 0, 0)
        layout.addWidget(QLabel("endless stream (every 50 ms)"), 0, 1)
        layout.addWidget(self.mean_view, 1, 0)
        layout.addWidget(self.stream_view, 1, 1)
        layout.addWidget(self.stop_button, 2, 1)
        layout.addWidget(self.status, 3, 1)
        self.layout_grid = layout
        self.stall = StallMeter()
        self._started = time.perf_counter()

    def attach(
        self,
        mean: GeneratorWorker[np.ndarray, None, np.ndarray],
        stream: GeneratorWorker[np.ndarray, None, None],
    ) -> None:
        """Wire both workers to the widgets, the callback (superqt) way."""
        mean.yielded.connect(lambda image: self.mean_view.show_array(image, -0.1, 1.1))
        mean.started.connect(self.stall.reset)
        mean.returned.connect(lambda image: self.mean_view.show_array(image, -0.1, 1.1))
        # The progress widget: a bar, Pause/Resume and Cancel, gone when done.
        self.progress = WorkerProgress(mean)
        self.layout_grid.addWidget(self.progress, 2, 0, 2, 1)

        stream.yielded.connect(lambda image: self.stream_view.show_array(image, -2.0, 2.0))
        self.stop_button.clicked.connect(stream.quit)
        stream.finished.connect(self.stop_button.clicked.disconnect)
        stream.finished.connect(lambda: self.stop_button.setText("stopped"))

    def refresh_status(self) -> None:
        elapsed = time.perf_counter() - self._started
        fps = self.stream_view.frames_shown / elapsed if elapsed else 0.0
        self.status.setText(
            f"stream {fps:4.1f} frames/s · max GUI stall {self.stall.max_gap_ms:4.1f} ms"
        )


async def _enumerate(values: AsyncIterator[T]) -> AsyncIterator[tuple[int, T]]:
    index = 0
    async for value in values:
        yield index, value
        index += 1


async def main(seconds: float, png: str) -> int:
    window = DemoWindow()
    window.show()
    mean = large_random_images()
    stream = yield_random_images_forever()
    window.attach(mean, stream)
    status = QTimer()
    status.setInterval(200)
    status.timeout.connect(window.refresh_status)
    status.start()

    async with mean, stream:  # started now; quit and awaited on the way out
        if HEADLESS:
            first = await mean.yielded  # the first partial mean (one frame) is on screen
            await mean.pause()  # flow control, confirmed by the worker
            await asyncio.sleep(0.3)
            await mean.resume()
            half_way = FRAMES // EVERY // 2
            async for index, _ in _enumerate(mean.yielded):
                if index == half_way:  # mid-run, with the progress widget showing
                    window.refresh_status()
                    window.grab().save(png)
                    window.stall.skip()
                    break
            final = await mean.returned  # the whole mean, while the stream runs on
            await asyncio.sleep(seconds)
        else:
            await until_window_closed(HEADLESS)
    # Both workers have finished here: the counts are final.
    mean_frames = window.mean_view.frames_shown
    stream_frames = window.stream_view.frames_shown
    stall = window.stall.max_gap_ms
    assert mean.pbar is not None
    progress = f"{mean.pbar.n}/{mean.pbar.total}"
    print(f"cumulative mean: {mean_frames} frames shown, progress {progress}")
    print(f"endless stream: {stream_frames} frames shown, then quit")
    print(f"max GUI stall: {stall:.1f} ms (a 10 ms timer never waited longer)")
    if HEADLESS:
        picture = mandelbrot()
        print(
            "the picture emerged: correlation with it "
            f"{similarity(first, picture):.2f} after 1 frame, "
            f"{similarity(final, picture):.2f} after {FRAMES}"
        )
        print(f"screenshot saved to {png}")
    ok = stream_frames > 0 and mean_frames > 0
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="headless run time")
    parser.add_argument("--png", default="demo.png", help="headless screenshot path")
    args = parser.parse_args()
    if HEADLESS:
        quiet_offscreen_warnings()
    app = QApplication.instance() or QApplication([])
    raise SystemExit(qasync.run(main(args.seconds, args.png)))
