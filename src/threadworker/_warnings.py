"""Route warnings raised in worker code to that worker's ``warned`` signal.

The warnings machinery is process-global and not thread-safe to reconfigure,
so workers never touch it (superqt enters ``catch_warnings`` in every worker
thread, racing with the main thread). Instead one hook is installed once, from
the home thread: ``warnings._showwarnmsg``, which CPython calls for every
warning that passed the filters. The hook asks which worker's context it runs
in; outside workers it defers to the original, so the main thread (and
pytest's ``catch_warnings``, which swaps ``showwarning``) is unaffected.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

from ._current import current_worker_var

__all__ = ["WarningArgs", "install_warning_router"]

#: ``(message, category, filename, lineno, file, line)``, as ``showwarning`` takes.
WarningArgs = tuple[Any, ...]

_install_lock = threading.Lock()
_installed = False


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
            worker = current_worker_var.get()
            if worker is None:
                original(msg)
                return
            worker._deliver_warning(
                (msg.message, msg.category, msg.filename, msg.lineno, msg.file, msg.line)
            )

        warnings._showwarnmsg = route  # type: ignore[attr-defined]
        _installed = True
