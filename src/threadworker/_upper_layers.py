"""How a lower layer reaches an upper one: by name, once the application loaded it.

The package is layered (see ``__init__``): a module imports from its own
layer and below only. Three places need the Qt layer from below — the runtime
(a Qt application is a home), signals (a Qt receiver may have been deleted)
and ``ensure_main_thread`` — and the worker base needs the napari adapter.
They find those modules here by name, as anyio finds its backends, and only
when the application has imported Qt (or napari) itself: threadworker never
imports a Qt binding on its own. :class:`QtBridge` and :class:`HostAdapter`
state what is used of them, so the lower layers stay typed.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    import concurrent.futures
    from collections.abc import Callable

    from ._dispatch import NestedQtLoop
    from ._scope import WorkerScope
    from ._worker import WorkerBase

__all__ = ["QT_BINDINGS", "HostAdapter", "QtBridge", "napari_adapter", "qt_bridge", "qt_imported"]

#: The bindings qtpy supports; one of them imported means the application uses Qt.
QT_BINDINGS = ("PyQt6", "PySide6", "PyQt5", "PySide2")


class QtBridge(Protocol):
    """What the lower layers use of the Qt bridge (``_qt``)."""

    is_deleted: Callable[[object], bool]

    def running_application(self) -> Any:
        """The QCoreApplication instance, if there is one."""

    def make_app_scope(self, app: Any) -> WorkerScope:
        """A scope whose home is the application's thread."""

    def nested_qt_loop(self, loop: object) -> NestedQtLoop | None:
        """A Qt loop that may run nested in the asyncio loop *loop*."""

    def is_bound_signal(self, obj: object) -> bool:
        """Whether *obj* is a bound Qt signal."""

    def bound_signal_owner(self, signal: object) -> Any:
        """The QObject a bound signal belongs to, if the binding says."""

    def is_deleted_source_error(self, exc: BaseException) -> bool:
        """Whether *exc* says a signal's source object was deleted."""

    def main_thread(self) -> Any:
        """The application's QThread."""

    def object_thread(self, obj: object) -> Any:
        """The QThread *obj* lives in."""

    def delete_closed_loop_qobjects(self, loop: object) -> None:
        """Destroy a closed loop's own QObjects now, on their thread."""

    def call_in_thread(
        self,
        target: Any,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args, **kwargs)`` in the QThread *target*."""


class HostAdapter(Protocol):
    """What the worker base uses of an application that adopts workers (``_napari``)."""

    def adopt(self, worker: WorkerBase[Any]) -> None:
        """Let the application show and track *worker*."""


def qt_imported() -> bool:
    """Whether the application has imported a Qt binding (never imports one)."""
    return any(f"{binding}.QtCore" in sys.modules for binding in QT_BINDINGS)


def qt_bridge() -> QtBridge:
    """The Qt layer's bridge module; call it only where Qt is in use.

    Raises
    ------
    ImportError
        If qtpy or a Qt binding is missing, saying what to install.
    """
    return cast(QtBridge, importlib.import_module(f"{__package__}._qt"))


def napari_adapter() -> HostAdapter:
    """The napari adapter module; call it only once napari is imported."""
    return cast(HostAdapter, importlib.import_module(f"{__package__}._napari"))
