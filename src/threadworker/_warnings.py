"""Route warnings raised in worker code to that worker's ``warned`` signal.

The warnings machinery is process-global and not thread-safe to reconfigure,
so workers never touch it (superqt enters ``catch_warnings`` in every worker
thread, racing with the main thread). Instead one hook is installed once, from
the home thread: ``warnings._showwarnmsg``, which CPython calls for every
warning that passed the filters. The hook asks which worker's context it runs
in; outside workers it defers to the original, so the main thread (and
pytest's ``catch_warnings``, which swaps ``showwarning``) is unaffected.

Worker code keeps Python's own semantics: filters apply as everywhere, and
when the hooks that show a warning (``warnings.showwarning`` and what
``catch_warnings(record=True)`` installs) are no longer those the worker
started with, someone — typically the worker's own ``catch_warnings`` —
asked for the warnings, and they get them, as in any thread.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any, Protocol

from ._current import current_worker_var

__all__ = ["WarningArgs", "WarningHooks", "install_warning_router", "warning_hooks"]

#: ``(message, category, filename, lineno, file, line)``, as ``showwarning`` takes.
WarningArgs = tuple[Any, ...]

#: ``(warnings.showwarning, warnings._showwarnmsg_impl)`` at one moment.
WarningHooks = tuple[object, object]

_install_lock = threading.Lock()
_installed = False


class _WarningReceiver(Protocol):
    """What the router needs of a worker (a thread worker, or a process job)."""

    _warning_hooks: WarningHooks | None

    def _deliver_warning(self, args: WarningArgs) -> None:
        """Take a warning raised in the worker's code."""


def warning_hooks() -> WarningHooks:
    """The hooks that show warnings now; a worker keeps those it started with."""
    return (warnings.showwarning, warnings._showwarnmsg_impl)  # type: ignore[attr-defined]


def install_warning_router() -> None:
    """Install the routing hook (once per process)."""
    if not _installed:  # checked without the lock: called at every start()
        _install()


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        original = warnings._showwarnmsg  # type: ignore[attr-defined]

        def route(msg: warnings.WarningMessage) -> None:
            worker: _WarningReceiver | None = current_worker_var.get()
            if worker is None or worker._warning_hooks != warning_hooks():
                original(msg)  # not a worker's, or a recorder asked for it
                return
            worker._deliver_warning(
                (msg.message, msg.category, msg.filename, msg.lineno, msg.file, msg.line)
            )

        warnings._showwarnmsg = route  # type: ignore[attr-defined]
        _installed = True
