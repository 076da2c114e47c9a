"""napari's threading guide, example by example, in a real viewer (examples/napari_guide.py).

Each runs in a child process (a crash at exit is a return code, not a dead
test run), bounded by a timeout, acting as a user would and quitting.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parent.parent / "examples" / "napari_guide.py"
LIMIT = 120


def run(example: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GUIDE), "--example", example, "--auto", *args],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        env={**os.environ, "NAPARI_CATCH_ERRORS": "0"},
        check=False,
    )


def output(example: str, *args: str) -> str:
    result = run(example, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{example}: exited cleanly" in result.stdout, result.stdout
    return result.stdout


def test_function_result_becomes_a_layer() -> None:
    assert "function: layers Image (512, 512)" in output("function", "--frames", "16")


def test_connect_and_start_in_the_decorator() -> None:
    assert "connect: layers Image (512, 512)" in output("connect", "--frames", "16")


def test_custom_exception_handler() -> None:
    out = output("errors")
    assert "We had a minor problem from the worker thread" in out
    assert "errors: handled" in out


def test_yielded_images_update_one_layer_and_a_screenshot_mid_run(build_dir: Path) -> None:
    png = build_dir / "napari-yielded.png"
    png.unlink(missing_ok=True)
    out = output("yielded", "--frames", "128", "--screenshot", str(png))
    assert "yielded: 8 intermediate images, layers result (512, 512)" in out
    assert f"yielded: screenshot mid-run saved to {png}" in out
    assert png.stat().st_size > 10_000


def test_stop_button_aborts_the_endless_worker() -> None:
    out = output("stop")
    assert "generator stopped at its next yield" in out
    assert re.search(r"stop: aborted after \d+ frames", out), out


@pytest.mark.parametrize("quit_by", ["napari", "close"])
def test_graceful_exit_without_pressing_stop(quit_by: str) -> None:
    # Segfaulted (rc 139) before deliveries into deleted Qt objects were dropped.
    result = run("exit", "--quit-by", quit_by)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "generator stopped at its next yield" in result.stdout
    assert "exit: exited cleanly" in result.stdout


def test_graceful_exit_delivers_nothing_into_the_closed_viewer() -> None:
    # Values yielded before the quit reached update_layer after napari closed the
    # viewer (KeyError tracebacks at exit); napari's own workers never run them.
    result = run("exit", "--quit-by", "napari")
    assert result.returncode == 0
    assert "Traceback" not in result.stdout + result.stderr


def test_send_reaches_the_generator() -> None:
    out = output("send", "--frames", "40")
    assert "generator received 100.0" in out
    assert "send: largest value after the send 100" in out


def test_three_ways_agree() -> None:
    assert "sugar: 3 of 3 returned 'hello 42'" in output("sugar")
