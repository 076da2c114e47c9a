"""The signals of workers, declared once (superqt's ``*Signals`` classes).

superqt keeps a worker's signals on a separate QObject and forwards attribute
access to it. Here the signal classes are bases of the workers: a worker is
its own signals object (``worker.signals is worker``), and these names exist
so that code written against superqt's or napari's classes keeps working
(``isinstance(worker.signals, WorkerBaseSignals)``, ``SignalsClass=...``).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from ._signal import Signal, SignalInstance
from ._warnings import WarningArgs

__all__ = ["GeneratorWorkerSignals", "WorkerBaseSignals"]

R = TypeVar("R")
Y = TypeVar("Y")


class WorkerBaseSignals(Generic[R]):
    """The signals of every worker: ``started`` … ``finished``.

    A base of :class:`WorkerBase`; not meant to be instantiated on its own.
    """

    started: Signal[None] = Signal(once=True, doc="Emitted when the work starts.")
    finished: Signal[None] = Signal(once=True, doc="Emitted last, whatever the outcome.")
    returned: Signal[R] = Signal(
        nargs=1, once=True, doc="Emitted with the return value when the work returns."
    )
    errored: Signal[BaseException] = Signal(
        nargs=1, once=True, doc="Emitted with the exception when the work raises."
    )
    aborted: Signal[None] = Signal(
        once=True, doc="Emitted instead of ``returned`` when the worker was quit."
    )
    warned: Signal[WarningArgs] = Signal(
        nargs=1,
        doc="Emitted with ``showwarning``'s arguments for each warning the work raises.",
    )


class GeneratorWorkerSignals(WorkerBaseSignals[R], Generic[Y, R]):
    """The signals of generator workers: the base ones plus ``yielded``, ``paused``, ``resumed``.

    A base of :class:`GeneratorWorker`; not meant to be instantiated on its own.
    """

    yielded: Signal[Y] = Signal(nargs=1, doc="Emitted with every value the generator yields.")
    paused: Signal[None] = Signal(doc="Emitted when the generator has paused.")
    resumed: Signal[None] = Signal(doc="Emitted when the generator has resumed.")


def is_signals_class(cls: object) -> bool:
    """Whether *cls* is one of the classes above (or a subclass)."""
    return isinstance(cls, type) and issubclass(cls, WorkerBaseSignals)


def adopt_signals(worker: Any, signals_class: type) -> None:
    """Give *worker* the signals of a foreign ``SignalsClass`` it lacks.

    superqt lets a worker take a QObject subclass with extra Qt signals; its
    bound signals become attributes of the worker (one instance per worker).
    Signals threadworker declares itself are left alone.
    """
    if is_signals_class(signals_class) and isinstance(worker, signals_class):
        return
    extra = [
        name
        for name in dir(signals_class)
        if not name.startswith("_")
        and not hasattr(type(worker), name)
        and _looks_like_signal(getattr(signals_class, name, None))
    ]
    ours = [name for name in extra if isinstance(getattr(signals_class, name), Signal)]
    for name in ours:  # declared with threadworker's Signal: bound to the worker
        bound = SignalInstance(getattr(signals_class, name), worker)
        worker.__dict__[name] = bound
        worker._signal_created(bound)
    qt_names = [name for name in extra if name not in ours]
    if qt_names:
        holder = signals_class()
        worker._foreign_signals = holder  # keeps the bound signals' object alive
        for name in qt_names:
            setattr(worker, name, getattr(holder, name))


def _looks_like_signal(obj: object) -> bool:
    if isinstance(obj, Signal):
        return True
    module = type(obj).__module__
    return module.startswith(("PyQt", "PySide")) and "ignal" in type(obj).__name__
