"""Work for the shared memory tests' worker processes (module-level, importable there)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]


def frames(count: int, nbytes: int) -> Generator[Any, None, None]:
    """The worker process's id, then *count* new frames, each full of its index."""
    yield os.getpid()
    for index in range(count):
        yield np.full(nbytes // 8, float(index))


def frames_reusing_one_buffer(count: int, nbytes: int) -> Generator[Array, None, None]:
    """One buffer refilled with each index: what was yielded must be what arrives."""
    frame = np.empty(nbytes // 8)
    for index in range(count):
        frame.fill(float(index))
        yield frame


def counted_frames(count: int, nbytes: int, log: str) -> Generator[Array, None, None]:
    """Frames, writing how many were made before each one is yielded."""
    path = Path(log)
    scratch = path.with_suffix(".tmp")
    for index in range(count):
        scratch.write_text(str(index + 1))
        scratch.replace(path)  # atomic: the reader never sees it half written
        yield np.full(nbytes // 8, float(index))


def frames_then(count: int, nbytes: int, end: str, marker: str) -> Generator[Any, None, None]:
    """Its process id, frames, then (once *marker* exists) the end *end* names.

    The marker says the home has its first values: a process that ends at once
    could die with them still unsent.
    """
    yield os.getpid()
    for index in range(count):
        yield np.full(nbytes // 8, float(index))
    deadline = time.monotonic() + 30  # bounded: a missing marker fails the test
    while not Path(marker).exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    if end == "exit":
        os._exit(3)
    elif end == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Event().wait()  # "hang": only killing the process ends it
    yield None


def big_array(nbytes: int) -> Array:
    return np.arange(nbytes // 8, dtype=np.float64)


def describe(*values: Any) -> list[tuple[str, float]]:
    """Each argument's type and a checksum of its content."""
    out = []
    for value in values:
        if isinstance(value, np.ndarray):
            out.append(("ndarray", float(value.sum())))
        else:
            out.append((type(value).__name__, float(sum(value))))
    return out


def sum_sent() -> Generator[float, Any, None]:
    """Yield the running sum of the arrays sent to it."""
    total = 0.0
    while True:
        value = yield total
        if value is not None:
            total += float(value.sum())
