"""napari integration: in a napari viewer, threadworker's workers act as napari's own.

A worker made (by ``create_worker``/``@thread_worker``) or started while a
napari viewer is open is *adopted* by that viewer's window, as napari does
for the workers of ``napari.qt.threading``:

- the window's task status knows it — pending, busy, then completed, failed
  or cancelled — so closing the window asks for confirmation while it runs,
  and the window's "cancel all" on close quits it;
- its ``pbar`` shows in napari's activity dock as a napari ``progress`` while
  it runs (with a Cancel button that quits the worker);
- exceptions nobody handled and warnings nobody listened to go to napari's
  notification manager;
- magicgui functions annotated ``-> FunctionWorker[ImageData]`` (any napari
  layer-data type, ``LayerDataTuple``, ``list[LayerDataTuple]``) add the
  returned data to the viewer; ``-> GeneratorWorker[ImageData, S, R]`` shows
  each yielded image in one layer, updated in place.

Nothing napari is imported unless the application imported it already: the
worker calls :func:`adopt` only when ``"napari"`` is in ``sys.modules``, and
this module imports napari's modules inside functions only. Workers are
adopted on the main thread only, where napari's Qt objects live.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, get_args

from ._progress import REFRESH_PER_SECOND

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._warnings import WarningArgs
    from ._worker import WorkerBase

__all__ = ["adopt"]

#: The provider name napari's own workers use in the task status manager.
PROVIDER = "napari-worker"


def adopt(worker: WorkerBase[Any]) -> None:
    """Make *worker* known to the current napari viewer, if there is one.

    Called once per worker, when it is made or started, and only when napari
    is in ``sys.modules``.
    """
    if "napari.viewer" not in sys.modules:  # no viewer can exist yet
        return
    if threading.current_thread() is not threading.main_thread():
        return  # napari's window and widgets live on the main thread
    from napari.viewer import current_viewer

    window = getattr(current_viewer(), "window", None)
    if window is None or not hasattr(window, "_register_task_status"):
        return
    register_return_types()
    worker._host = _NapariTask(worker, window)


class _NapariTask:
    """One worker as the viewer's window sees it: a task status and a progress bar.

    Held by the worker (``worker._host``); it holds the worker and the window
    weakly, so a finished worker and a closed window can both go.
    """

    def __init__(self, worker: WorkerBase[Any], window: Any) -> None:
        from napari.utils.task_status import Status

        self._worker = weakref.ref(worker)
        self._window = weakref.ref(window)
        self._name = worker._name
        self._status_id = window._register_task_status(
            PROVIDER, Status.PENDING, f"{self._name} execution pending", cancel_callback=self.cancel
        )
        self._progress: Any = None  # the napari progress shown while running
        self._last_sync = 0.0
        self._sync_scheduled = False
        worker.started.connect(self._started)
        worker.finished.connect(self._finished)

    def cancel(self) -> None:
        """Quit the worker: napari's "cancel all" (closing the window) calls this."""
        worker = self._worker()
        if worker is not None:
            worker.quit()

    def _update_status(self, status: str, description: str) -> None:
        window = self._window()
        if window is not None:
            from napari.utils.task_status import Status

            window._update_task_status(self._status_id, Status[status], description)

    # -- the worker's signals (home thread) -------------------------------------------
    def _started(self) -> None:
        self._update_status("BUSY", f"Executing {self._name}")
        self._show_pbar()

    def _finished(self) -> None:
        worker = self._worker()
        fired = worker._fired if worker is not None else {}
        if "errored" in fired:
            self._update_status("FAILED", f"{self._name} execution failed")
        elif "aborted" in fired:
            self._update_status("CANCELLED", f"{self._name} execution cancelled")
        else:
            self._update_status("COMPLETED", f"{self._name} execution completed")
        if self._progress is not None:
            self._sync()
            progress, self._progress = self._progress, None
            progress.close()  # napari's activity dock removes its bar

    # -- WorkerHost -----------------------------------------------------------------------
    def pbar_made(self) -> None:
        """Show a bar made by ``progress()`` once the work runs (any thread)."""
        worker = self._worker()
        if worker is not None and not worker._post_to_home(self._show_pbar):
            self._show_pbar()

    def report_exception(self, exc: BaseException, message: str) -> bool:
        """Send the exception to napari's notification manager."""
        from napari.utils.notifications import notification_manager

        notification_manager.receive_error(type(exc), exc, exc.__traceback__)
        return True

    def show_warning(self, args: WarningArgs) -> bool:
        """Send the warning to napari's notification manager."""
        from napari.utils.notifications import notification_manager

        notification_manager.receive_warning(*args)
        return True

    # -- the activity dock ------------------------------------------------------------------
    def _show_pbar(self) -> None:
        worker = self._worker()
        if worker is None or not worker.is_running or self._progress is not None:
            return
        bar = worker._pbar
        if bar is None or bar.is_closed:
            return
        self._progress = _progress_class()(
            total=bar.total, desc=bar.desc or self._name, on_cancel=self.cancel
        )
        bar.changed.connect(self._changed)
        self._sync()

    def _changed(self) -> None:
        # A view refreshes at most REFRESH_PER_SECOND times a second: napari's
        # bar processes Qt events at every update.
        if self._sync_scheduled:
            return
        wait = self._last_sync + 1 / REFRESH_PER_SECOND - time.monotonic()
        if wait <= 0:
            self._sync()
            return
        from qtpy.QtCore import QTimer

        self._sync_scheduled = True
        QTimer.singleShot(max(1, round(wait * 1000)), self._sync)

    def _sync(self) -> None:
        self._sync_scheduled = False
        self._last_sync = time.monotonic()
        worker = self._worker()
        progress = self._progress
        if worker is None or progress is None or worker._pbar is None:
            return
        bar = worker._pbar
        if bar.total != progress.total:
            progress.total = bar.total  # 0: napari's bar turns indeterminate
        if bar.desc and bar.desc != progress.desc:
            progress.set_description(bar.desc)
        if bar.n != progress.n:
            progress.update(bar.n - progress.n)


@functools.cache
def _progress_class() -> type[Any]:
    """The cancelable napari progress whose Cancel button quits the worker."""
    from napari.utils.progress import cancelable_progress

    class WorkerProgress(cancelable_progress):  # type: ignore[misc]
        """A worker's bar in napari's activity dock."""

        def __init__(self, *, total: int, desc: str, on_cancel: Callable[[], None]) -> None:
            super().__init__(total=total, desc=desc)
            self._on_cancel = on_cancel

        def cancel(self) -> None:
            super().cancel()
            self._on_cancel()

    return WorkerProgress


def register_return_types() -> None:
    """Teach magicgui and napari's app model what to do with a returned worker.

    napari does this for its own worker classes when it makes its
    application. magicgui's registry is one per process; the app model's
    store is checked each time (napari's tests make a new one per test).
    """
    _register_with_magicgui()
    try:
        from napari._app_model import get_app_model
    except ImportError:  # pragma: no cover - other napari versions
        return
    from napari import types

    from ._function_worker import FunctionWorker

    store = get_app_model().injection_store
    for data_type in (*_layer_data_types(), types.LayerDataTuple, list[types.LayerDataTuple]):
        hint = FunctionWorker[data_type]  # type: ignore[valid-type]
        if next(iter(store.iter_processors(hint)), None) is None:
            processor = functools.partial(_show_returned, data_type=data_type)
            store.register(processors={hint: processor})


@functools.cache
def _register_with_magicgui() -> None:
    try:
        import magicgui
    except ImportError:  # pragma: no cover - napari depends on magicgui
        return
    from ._function_worker import FunctionWorker
    from ._generator_worker import GeneratorWorker

    magicgui.register_type(FunctionWorker, return_callback=_show_results)
    magicgui.register_type(GeneratorWorker, return_callback=_show_results)


def _layer_data_types() -> list[Any]:
    from napari import layers, types

    return [getattr(types, f"{name.title()}Data") for name in sorted(layers.NAMES)]


def _adder(data_type: Any, *, for_widget: bool) -> Any:
    """The napari function that adds *data_type* data to a viewer, if it is layer data."""
    from napari import types

    tuples = data_type in (types.LayerDataTuple, list[types.LayerDataTuple])
    if not tuples and data_type not in _layer_data_types():
        return None
    if for_widget:
        from napari.utils import _magicgui

        if tuples:
            return _magicgui.add_layer_data_tuples_to_viewer
        return _magicgui.add_layer_data_to_viewer
    from napari._qt._qapp_model.injection import _qprocessors

    if tuples:
        return _qprocessors._add_layer_data_tuples_to_viewer
    return _qprocessors._add_layer_data_to_viewer


def _show_results(gui: Any, worker: Any, return_type: Any) -> None:
    """The magicgui return callback for ``-> FunctionWorker[...]`` / ``GeneratorWorker[...]``.

    ``FunctionWorker[T]``: the returned value is added as a layer, as napari
    does. ``GeneratorWorker[Y, S, R]``: each yielded value (if Y is layer
    data) and the returned one (if R is) go to one layer named after the
    widget, added on the first and updated in place after.
    """
    from ._generator_worker import GeneratorWorker
    from ._worker import WorkerBase

    if not isinstance(worker, WorkerBase):
        return
    args = get_args(return_type)
    if not args:
        return
    if isinstance(worker, GeneratorWorker) and len(args) == 3:
        add = _adder(args[0], for_widget=True)
        if add is not None:
            worker.yielded.connect(functools.partial(add, gui, return_type=args[0]))
    add = _adder(args[-1], for_widget=True)
    if add is not None:
        worker.returned.connect(functools.partial(add, gui, return_type=args[-1]))


def _show_returned(worker: Any, data_type: Any) -> None:
    """The napari app-model processor for a returned ``FunctionWorker[data_type]``."""
    add = _adder(data_type, for_widget=False)
    if add is not None:
        worker.returned.connect(functools.partial(add, return_type=data_type))
