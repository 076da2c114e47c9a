"""superqt's ``new_worker_qthread``: a QObject worker moved to its own QThread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["new_worker_qthread"]

W = TypeVar("W")


def new_worker_qthread(
    Worker: Callable[..., W],
    *args: Any,
    _start_thread: bool = False,
    _connect: dict[str, Callable[..., Any]] | None = None,
    **kwargs: Any,
) -> tuple[W, Any]:
    """Create ``Worker(*args, **kwargs)``, a QObject, and move it to a new QThread.

    The thread's ``started`` runs ``worker.work()``; the worker's ``finished``
    signal quits the thread. Unlike superqt's, neither object is
    ``deleteLater``-ed: the caller may keep using both after the work is done.
    Both are kept alive until the thread has finished, and the thread is quit
    and waited for if the application quits first.

    Parameters
    ----------
    Worker : type
        A QObject subclass with a ``work()`` slot and a ``finished`` signal.
    *args, **kwargs
        Passed to ``Worker``.
    _start_thread : bool
        Start the thread now (otherwise call ``thread.start()``).
    _connect : dict, optional
        ``{signal name: callback}`` to connect on the worker first.

    Returns
    -------
    tuple
        ``(worker, thread)``.

    Raises
    ------
    TypeError
        If *_connect* is not a dict or names something that is not a signal.
    RuntimeError
        If there is no QApplication.
    """
    if _connect is not None and not isinstance(_connect, dict):
        raise TypeError(f"_connect must be a dict of signal name to callback, not {_connect!r}")
    from . import _qt

    worker, thread = _qt.start_worker_qthread(Worker, args, kwargs, _start_thread, _connect)  # type: ignore[arg-type]
    return worker, thread  # type: ignore[return-value]
