"""Helpers shared by the examples: an image widget and headless detection."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np


def ensure_display() -> bool:
    """Use the offscreen platform when there is no display; True if headless."""
    headless = os.environ.get("QT_QPA_PLATFORM") == "offscreen" or (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    )
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    return headless


def quiet_offscreen_warnings() -> None:
    """Drop the offscreen plugin's notes about window hints it cannot honour."""
    from qtpy.QtCore import qInstallMessageHandler

    def handler(mode: object, context: object, message: str) -> None:
        if "does not support propagateSizeHints" not in message:
            sys.stderr.write(message + "\n")

    qInstallMessageHandler(handler)


def to_qimage(array: np.ndarray, low: float | None = None, high: float | None = None):  # type: ignore[no-untyped-def]
    """Turn a 2-D float array into an 8-bit grayscale QImage."""
    from qtpy.QtGui import QImage

    low = float(array.min()) if low is None else low
    high = float(array.max()) if high is None else high
    scaled = np.clip((array - low) / ((high - low) or 1.0), 0, 1)
    pixels = np.ascontiguousarray((scaled * 255).astype(np.uint8))
    height, width = pixels.shape
    image = QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8)
    return image.copy()  # own the bytes: `pixels` is freed when we return


def make_image_view(size: int = 256):  # type: ignore[no-untyped-def]
    """A QLabel that shows arrays: ``view.show_array(array)``."""
    from qtpy.QtCore import Qt
    from qtpy.QtGui import QPixmap
    from qtpy.QtWidgets import QLabel

    class ImageView(QLabel):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.setFixedSize(size, size)
            self.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.setStyleSheet("background: #202020; color: #bbbbbb")
            self.setText("waiting for data…")
            self.frames_shown = 0

        def show_array(
            self, array: np.ndarray, low: float | None = None, high: float | None = None
        ) -> None:
            pixmap = QPixmap.fromImage(to_qimage(array, low, high))
            self.setPixmap(pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
            self.frames_shown += 1

    return ImageView()


def example_args(description: str, **defaults: int) -> argparse.Namespace:
    """Parse the options every example shares (sizes shrink them for tests)."""
    parser = argparse.ArgumentParser(description=description)
    for name, value in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=value)
    return parser.parse_args()


def when_headless(headless: bool, delay_ms: int, action):  # type: ignore[no-untyped-def]
    """Without a display, do what a user would: *action* after *delay_ms*."""
    if headless:
        from qtpy.QtCore import QTimer

        QTimer.singleShot(delay_ms, action)


async def until_window_closed(headless: bool) -> None:
    """With a display, wait until the user closes the last window; else return."""
    if headless:
        return
    import asyncio

    from qtpy.QtWidgets import QApplication

    closed = asyncio.Event()
    QApplication.instance().lastWindowClosed.connect(closed.set)
    await closed.wait()
