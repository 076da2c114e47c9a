"""threadworker's workers in a real napari viewer behave as napari's own (issue 11, item 5)."""

# No ``from __future__ import annotations``: magicgui reads the return
# annotations of functions defined inside the tests, which must be real types.
import threading
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
from magicgui import magicgui
from napari import types
from napari._qt.widgets.qt_progress_bar import QtLabeledProgressBar
from napari.utils.notifications import notification_manager
from napari.utils.task_status import Status

from threadworker import FunctionWorker, GeneratorWorker, create_worker, progress, thread_worker

WAIT_MS = 10_000


def gated(gate: threading.Event, n: int) -> Generator[int, None, None]:
    for i in range(n):
        if i == 2:
            gate.wait(10)
        yield i


def forever() -> Generator[int, None, None]:
    stop = threading.Event()
    while True:
        yield 0
        stop.wait(0.01)


def bars(viewer: Any) -> list[QtLabeledProgressBar]:
    dialog = viewer.window._qt_window._activity_dialog
    return [bar for bar in dialog.findChildren(QtLabeledProgressBar) if bar.progress is not None]


def open_bars(viewer: Any) -> list[QtLabeledProgressBar]:
    from napari.utils.progress import progress as napari_progress

    return [bar for bar in bars(viewer) if bar.progress in napari_progress._all_instances]


def states(viewer: Any) -> list[Status]:
    return [item.state()[2] for item in viewer.window._task_status_manager._tasks.values()]


class Notes:
    """What reached napari's notification manager during a test."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, notification: Any) -> None:
        self.messages.append(str(notification.message))


def test_pbar_shows_in_the_activity_dock_while_running(make_napari_viewer: Any, qtbot: Any) -> None:
    viewer = make_napari_viewer()
    gate = threading.Event()
    worker = create_worker(gated, gate, 5, _progress={"total": 5, "desc": "loading"})
    assert open_bars(viewer) == []  # not before it starts, as napari's
    worker.start()
    qtbot.waitUntil(lambda: len(open_bars(viewer)) == 1, timeout=WAIT_MS)
    [bar] = open_bars(viewer)
    qtbot.waitUntil(lambda: bar.progress.n == 2, timeout=WAIT_MS)
    assert bar.description_label.text() == "loading: "
    assert bar.qt_progress_bar.maximum() == 5
    assert bar.cancel_button.isVisibleTo(bar)  # a napari cancelable_progress
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        gate.set()
    assert open_bars(viewer) == []  # closed with the worker


def test_a_bar_from_progress_inside_a_function_shows_too(
    make_napari_viewer: Any, qtbot: Any
) -> None:
    viewer = make_napari_viewer()
    gate = threading.Event()

    def summing() -> int:
        total = 0
        for i in progress(range(4), desc="summing"):
            if i == 2:
                gate.wait(10)
            total += i
        return total

    worker = create_worker(summing)
    with qtbot.waitSignal(worker.started, timeout=WAIT_MS):
        worker.start()
    qtbot.waitUntil(lambda: len(open_bars(viewer)) == 1, timeout=WAIT_MS)
    assert open_bars(viewer)[0].description_label.text() == "summing: "
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        gate.set()
    assert open_bars(viewer) == []


def test_the_activity_docks_cancel_button_quits_the_worker(
    make_napari_viewer: Any, qtbot: Any
) -> None:
    viewer = make_napari_viewer()
    worker = create_worker(forever, _progress=True)
    worker.start()
    qtbot.waitUntil(lambda: len(open_bars(viewer)) == 1, timeout=WAIT_MS)
    with qtbot.waitSignal(worker.aborted, timeout=WAIT_MS):
        open_bars(viewer)[0].cancel_button.click()
    assert states(viewer) == [Status.CANCELLED]


def test_task_status_follows_the_worker(make_napari_viewer: Any, qtbot: Any) -> None:
    viewer = make_napari_viewer()
    manager = viewer.window._task_status_manager
    gate = threading.Event()
    worker = create_worker(gated, gate, 3)
    assert manager.get_status() == ["napari-worker: gated execution pending"]
    with qtbot.waitSignal(worker.started, timeout=WAIT_MS):
        worker.start()
    # What the close-confirmation dialog lists while it runs.
    assert manager.get_status() == ["napari-worker: Executing gated"]
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        gate.set()
    assert not manager.is_busy()
    assert states(viewer) == [Status.COMPLETED]


def test_a_worker_made_directly_is_known_once_started(make_napari_viewer: Any, qtbot: Any) -> None:
    viewer = make_napari_viewer()
    worker = FunctionWorker(sum, [1, 2])
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()
    assert states(viewer) == [Status.COMPLETED]


def test_a_worker_made_before_the_viewer_joins_it_when_started(
    make_napari_viewer: Any, qtbot: Any
) -> None:
    worker = create_worker(sum, [1, 2])  # no viewer yet
    assert worker._host is None
    viewer = make_napari_viewer()
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()
    assert states(viewer) == [Status.COMPLETED]


def test_cancel_all_quits_running_workers(make_napari_viewer: Any, qtbot: Any) -> None:
    # What the window does when it closes with tasks still busy.
    viewer = make_napari_viewer()
    worker = create_worker(forever)
    with qtbot.waitSignal(worker.yielded, timeout=WAIT_MS):
        worker.start()
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        viewer.window._task_status_manager.cancel_all()
    assert "aborted" in worker._fired
    assert states(viewer) == [Status.CANCELLED]


def test_closing_the_viewer_quits_running_workers(mock_app_model: Any, qtbot: Any) -> None:
    import napari

    viewer = napari.Viewer(show=False)  # closed here, not by the fixture
    worker = create_worker(forever)
    with qtbot.waitSignal(worker.yielded, timeout=WAIT_MS):
        worker.start()
    with qtbot.waitSignal(worker.aborted, timeout=WAIT_MS):
        viewer.close()


def test_unhandled_errors_and_warnings_reach_napari_notifications(
    make_napari_viewer: Any, qtbot: Any
) -> None:
    viewer = make_napari_viewer()
    notes = Notes()
    notification_manager.notification_ready.connect(notes)
    try:

        @thread_worker
        def boom() -> None:
            warnings.warn("careful in the worker", UserWarning, stacklevel=1)
            raise ValueError("boom in the worker")

        worker = boom()
        with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
            worker.start()
    finally:
        notification_manager.notification_ready.disconnect(notes)
    assert any("careful in the worker" in m for m in notes.messages), notes.messages
    assert any("boom in the worker" in m for m in notes.messages), notes.messages
    assert states(viewer) == [Status.FAILED]


def test_handled_errors_stay_with_their_handler(make_napari_viewer: Any, qtbot: Any) -> None:
    make_napari_viewer()
    notes = Notes()
    handled: list[BaseException] = []
    notification_manager.notification_ready.connect(notes)
    try:

        def fails() -> None:
            raise KeyError("handled")

        worker = create_worker(fails, _connect={"errored": handled.append})
        qtbot.waitSignal(worker.finished, timeout=WAIT_MS).wait()
    finally:
        notification_manager.notification_ready.disconnect(notes)
    assert [type(e) for e in handled] == [KeyError]
    assert notes.messages == []


def test_magicgui_generator_worker_shows_each_yield_in_one_layer(
    make_napari_viewer: Any, qtbot: Any
) -> None:
    viewer = make_napari_viewer()

    @magicgui
    def stream(n: int = 3) -> GeneratorWorker[types.ImageData, None, None]:
        @thread_worker(start_thread=False)
        def frames() -> Generator[np.ndarray, None, None]:
            for i in range(n):
                yield np.full((4, 4), float(i))

        return frames()

    viewer.window.add_dock_widget(stream)
    worker = stream()
    shown: list[float] = []
    worker.yielded.connect(lambda _: shown.append(float(viewer.layers[0].data[0, 0])))
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()
    assert len(viewer.layers) == 1  # added once, updated in place
    assert shown == [0.0, 1.0, 2.0]


def test_magicgui_function_worker_of_layer_data_tuples(make_napari_viewer: Any, qtbot: Any) -> None:
    viewer = make_napari_viewer()

    @magicgui
    def make() -> FunctionWorker[types.LayerDataTuple]:
        return create_worker(lambda: (np.ones((5, 5)), {"name": "ones"}, "image"))

    viewer.window.add_dock_widget(make)
    worker = make()
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()
    assert [layer.name for layer in viewer.layers] == ["ones"]


def test_app_model_processes_a_returned_function_worker(
    make_napari_viewer: Any, qtbot: Any
) -> None:
    # What napari does with a plugin command that returns FunctionWorker[ImageData].
    from napari._app_model import get_app_model

    viewer = make_napari_viewer()
    worker = create_worker(np.ones, (6, 6))
    get_app_model().injection_store.process(worker, type_hint=FunctionWorker[types.ImageData])
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        worker.start()
    assert [layer.data.shape for layer in viewer.layers] == [(6, 6)]


def test_screenshot_of_the_activity_dock(
    make_napari_viewer: Any, qtbot: Any, build_dir: Path
) -> None:
    """The picture in docs/progress.md: a threadworker bar in napari's activity dock."""
    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.random.default_rng(0).random((128, 128)), name="data")
    gate = threading.Event()
    worker = create_worker(gated, gate, 5, _progress={"total": 5, "desc": "denoising"})
    worker.start()
    qtbot.waitUntil(lambda: len(open_bars(viewer)) == 1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: open_bars(viewer)[0].progress.n == 2, timeout=WAIT_MS)
    viewer.window._qt_window._activity_dialog.show()
    qtbot.wait(200)  # let the dock lay itself out before the grab
    path = build_dir / "napari-activity.png"
    assert viewer.window._qt_window.grab().save(str(path))
    assert path.stat().st_size > 1000
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):
        gate.set()
