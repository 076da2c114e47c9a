"""Every example runs headless, bounded, and does what it says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LIMIT = 120


def run(name: str, *args: str) -> str:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        env=env,
        cwd=EXAMPLES,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("style", ["legacy", "async"])
def test_ex1_blocking_result_arrives_while_the_gui_ticks(style: str) -> None:
    out = run(f"ex1_blocking_{style}.py", "--frames", "64")
    match = re.search(r"returned: a \(512, 512\) image; the GUI ticked (\d+) times", out)
    assert match, out


@pytest.mark.parametrize("style", ["legacy", "async"])
def test_ex2_connect_and_start_in_the_decorator(style: str) -> None:
    out = run(f"ex2_connect_{style}.py", "--frames", "8")
    assert "returned:" in out
    assert "shown" in out


def test_ex3_legacy_handler_and_default_reporting() -> None:
    out = run("ex3_errors_legacy.py")
    assert "We had a minor problem from the worker thread" in out
    assert "reported to sys.excepthook: ['KeyError', 'RuntimeError']; the app kept running" in out


def test_ex3_async_errors_raise_where_awaited() -> None:
    out = run("ex3_errors_async.py")
    assert "We had a minor problem from the worker thread" in out
    assert "the traceback reaches into the worker: True" in out
    assert "reported to the loop's exception handler: ['Unhandled exception in worker" in out


@pytest.mark.parametrize("style", ["legacy", "async"])
def test_ex4_intermediate_images_arrive(style: str) -> None:
    out = run(f"ex4_yielded_{style}.py", "--frames", "64")
    assert "yielded 4 intermediate images, then finished" in out


def test_ex5_legacy_stop_button_aborts() -> None:
    out = run("ex5_stop_legacy.py", "--click-after", "3")
    assert re.search(r"aborted after [3-9] frames", out), out


def test_ex5_async_quit_is_confirmed() -> None:
    out = run("ex5_stop_async.py", "--click-after", "3")
    assert "generator closed" in out
    assert re.search(r"quit confirmed after [3-9] frames", out), out


@pytest.mark.parametrize("style", ["legacy", "async"])
def test_ex6_closing_with_a_generator_running_exits_at_once(style: str) -> None:
    out = run(f"ex6_exit_{style}.py", "--mode", "stream")
    assert "stream: generator stopped at its next yield" in out
    seconds = float(re.search(r"exited (\d+\.\d+) s after the close", out).group(1))  # type: ignore[union-attr]
    assert seconds < 2.0  # generous: the point is "not the function's duration"


@pytest.mark.parametrize("style", ["legacy", "async"])
def test_ex6_closing_during_a_function_waits_and_says_so(style: str) -> None:
    out = run(f"ex6_exit_{style}.py", "--mode", "function", "--seconds", "1.0")
    assert "function: waiting for long_function to finish before exiting" in out
    assert "function: worker finished" in out or style == "async"
    seconds = float(re.search(r"exited (\d+\.\d+) s after the close", out).group(1))  # type: ignore[union-attr]
    assert seconds >= 0.5  # it really waited for the function


def test_ex7_legacy_spin_box_values_reach_the_generator() -> None:
    out = run("ex7_send_legacy.py")
    assert "generator received 3" in out
    assert "generator received 7" in out
    assert out.index("received 3") < out.index("received 7")


def test_ex7_async_sends_are_confirmed() -> None:
    out = run("ex7_send_async.py")
    assert re.search(r"sent 3; next line: \d+ x 3 = \d+", out), out
    assert re.search(r"sent 7; next line: \d+ x 7 = \d+", out), out
    assert "quit and finished" in out


@pytest.mark.parametrize("style", ["legacy", "async"])
def test_ex8_three_ways_agree(style: str) -> None:
    out = run(f"ex8_three_ways_{style}.py")
    assert out.count("returned 'hello 42'") == 3


def test_ex9_terminal_progress_without_qt() -> None:
    out = run("ex9_terminal_progress.py", "--steps", "10")
    assert "[##############################] 10/10" in out
    assert "crunched 10 steps" in out


def test_demo_headless(tmp_path: Path) -> None:
    png = tmp_path / "demo.png"
    out = run("demo.py", "--seconds", "1", "--png", str(png))
    assert re.search(r"cumulative mean: \d+ frames shown, progress 64/64", out), out
    assert re.search(r"endless stream: [1-9]\d* frames shown, then quit", out), out
    emerged = re.search(r"correlation with it (-?[\d.]+) after 1 frame, ([\d.]+) after 1024", out)
    assert emerged, out
    assert float(emerged.group(1)) < 0.3  # one frame: the picture is lost in the noise
    assert float(emerged.group(2)) > 0.8  # the mean: the picture shows
    assert png.stat().st_size > 1000


def test_progress_widget_example(tmp_path: Path) -> None:
    png = tmp_path / "progress.png"
    out = run("progress_widget.py", "--steps", "40", "--png", str(png))
    assert re.search(r"screenshot mid-run saved to .* \(\d+/40, \d+/40, \d+/\?\)", out), out
    assert "all finished: ['40 steps', '40 steps', '40 steps']" in out
    assert png.stat().st_size > 1000


def test_ex10_processes_keep_the_loop_free_and_stop_on_quit() -> None:
    out = run("ex10_processes.py", "--n", "300000", "--chunks", "3")
    assert re.search(r"in threads: 4 workers took [\d.]+ s; worst loop-timer gap \d+ ms", out)
    assert re.search(r"in processes: 4 workers took [\d.]+ s; worst loop-timer gap \d+ ms", out)
    streamed = re.search(r"streamed 3 values from process \{(\d+)\} \(this one is (\d+)\)", out)
    assert streamed, out
    assert streamed.group(1) != streamed.group(2)
    assert "progress chunks 3/3" in out
    assert "stuck worker quit: aborted after" in out


def test_ex11_slider_computes_only_where_the_drag_rests() -> None:
    out = run("ex11_slider.py")
    # Two drags (1→30, then 31→60 once 30's computation started): of 59 values
    # passed, the debounce lets only the resting ones start.
    assert "slider passed 59 values; computed 2 of them [30, 60];" in out, out
    assert re.search(r"; [01] superseded while computing; showing 60$", out.strip()), out


@pytest.mark.cluster
def test_ex12_a_generator_on_a_dask_cluster_is_streamed_steered_and_stopped() -> None:
    pytest.importorskip("distributed")
    out = run("ex12_dask_generators.py")
    first = re.search(r"first value 0 from pid (\d+) \(this one is (\d+)\)", out)
    assert first, out
    assert first.group(1) != first.group(2)
    assert "yielded while paused: 0" in out
    assert "the generator's finally ran" in out
    assert re.search(r"\d+ values, in order: True, steps \[1, 10\]", out), out
    assert "killed dask worker: the dask worker running GeneratorWorker[scaled] was lost" in out
