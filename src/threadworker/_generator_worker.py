"""The generator worker: a generator stepped in its own thread, pumped home.

Each running generator worker has one dedicated thread, and every step of the
generator runs on it (thread-local resources such as sqlite connections rely
on that). The thread steps ahead freely and puts what happens — values,
pauses, received sends, the outcome — into one ordered :class:`Channel`; the
home thread pumps the channel, emitting signals and feeding async iterators.
"""

from __future__ import annotations

import contextvars
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

from ._channel import Channel
from ._exceptions import WorkerFinishedError
from ._latch import Latch
from ._signal import Signal, SignalInstance, _SignalIterator
from ._stepper import GeneratorDriver
from ._warnings import WarningArgs
from ._worker import WorkerBase, _name_of, function_kind

if TYPE_CHECKING:
    pass

__all__ = ["GeneratorWorker"]

Y = TypeVar("Y")
S = TypeVar("S")
R = TypeVar("R")


class _Event:
    """A channel item that is not a yielded value."""

    __slots__ = ("kind", "payload")

    def __init__(self, kind: str, payload: Any = None) -> None:
        self.kind = kind
        self.payload = payload


class GeneratorWorker(WorkerBase[R], Generic[Y, S, R]):
    """Run a generator function in its own thread; stream what it yields.

    Besides the base signals it emits ``yielded`` for every value, and
    ``paused``/``resumed``/``aborted`` for flow control. Control methods take
    effect when called and return an awaitable confirming them.

    Delivery is in order and lossless: when the home thread falls behind, the
    generator blocks at its next ``yield`` until there is room.

    Raises
    ------
    TypeError
        If *func* is not a generator function (use :class:`FunctionWorker`, or
        wrap it with :func:`as_generator_function`).
    """

    yielded: Signal[Y] = Signal(nargs=1, doc="Emitted with every value the generator yields.")
    paused: Signal[None] = Signal(doc="Emitted when the generator has paused.")
    resumed: Signal[None] = Signal(doc="Emitted when the generator has resumed.")

    def __init__(self, func: Callable[..., Generator[Y, S, R]], *args: Any, **kwargs: Any) -> None:
        if function_kind(func) != "generator":
            raise TypeError(
                f"{_name_of(func)} is not a generator function: use FunctionWorker (or "
                "create_worker, which picks it), or wrap it with as_generator_function"
            )
        super().__init__(func, *args, **kwargs)
        self._driver: GeneratorDriver[Y, S, R] = GeneratorDriver(func(*args, **kwargs))
        self._control = threading.Condition(threading.Lock())
        self._channel: Channel | None = None
        self._pause_latches: list[Latch[None]] = []
        self._resume_latches: list[Latch[None]] = []
        self._iterating: weakref.WeakSet[_WorkerIterator[Y]] = weakref.WeakSet()
        self._yielded_signal: SignalInstance[Y] | None = None

    # -- flow control ------------------------------------------------------------------
    @property
    def is_paused(self) -> bool:
        """Whether a pause is requested (or in effect) and not yet resumed."""
        return self._driver.pause_requested

    def send(self, value: S) -> Latch[None]:
        """Queue *value* for the generator: a later ``yield`` evaluates to it.

        Sends are delivered in order, one per ``yield``; a step with nothing
        queued gets ``None``. Returns an awaitable that completes when the
        generator received the value, or raises :class:`WorkerFinishedError`
        if it finished first.

        Raises
        ------
        RuntimeError
            If the worker has not been started (nothing could receive it yet).
        """
        latch: Latch[None] = Latch()
        if self._state == "created":
            raise RuntimeError(
                f"cannot send to {self._signal_owner_name()} before it starts: "
                "call start() first (the first step of a generator cannot receive a value)"
            )
        with self._control:
            if self._state == "finished" or self._driver.abort_requested:
                latch.set_exception(self._ended_error("received the value"))
                return latch
            self._driver.queue_send(value, latch)
        return latch

    def pause(self) -> Latch[None]:
        """Pause at the next ``yield``; the awaitable completes on ``paused``.

        After ``paused`` is emitted, no value is delivered until ``resumed``.
        """
        latch: Latch[None] = Latch()
        with self._control:
            if self._state == "finished" or self._driver.abort_requested:
                latch.set_exception(self._ended_error("paused"))
            elif self._driver.request_pause() or self._pause_latches:
                self._pause_latches.append(latch)  # confirmed by the next ``paused``
            else:
                latch.set_result(None)  # paused already, and confirmed
        return latch

    def resume(self) -> Latch[None]:
        """Resume a paused worker; the awaitable completes on ``resumed``."""
        latch: Latch[None] = Latch()
        with self._control:
            if self._state == "finished" or self._driver.abort_requested:
                latch.set_exception(self._ended_error("resumed"))
            elif self._driver.request_resume() or self._resume_latches:
                self._resume_latches.append(latch)  # confirmed by the next ``resumed``
                self._control.notify_all()
            else:
                latch.set_result(None)  # not paused: nothing to do
        return latch

    def toggle_pause(self) -> Latch[None]:
        """Pause if running, resume if paused; returns that call's awaitable."""
        return self.resume() if self.is_paused else self.pause()

    def _ended_error(self, what: str) -> WorkerFinishedError:
        return WorkerFinishedError(f"{self._signal_owner_name()} finished before it {what}")

    def _request_abort(self) -> None:
        with self._control:
            self._driver.request_abort()
            self._control.notify_all()
        if self._channel is not None:
            self._channel.stop_blocking()
            self._channel.resume()  # delivery must go on to reach ``aborted``

    # -- running -------------------------------------------------------------------------
    def _launch(self, context: contextvars.Context) -> None:
        assert self._dispatcher is not None
        # Values arrive through the channel, so ``started`` is queued first.
        self._dispatcher.post(self._ensure_started)
        self._channel = Channel(
            self._dispatcher.post,
            self._dispatcher.post_yielding,
            self._handle,
            self._delivery_blocked,
        )
        thread = threading.Thread(
            target=self._run,
            args=(context, self._channel.put),
            name=f"threadworker-{self._name}",
            daemon=True,  # a stuck generator must never block interpreter exit
        )
        thread.start()

    def _work_here(self, context: contextvars.Context) -> None:
        self._run(context, self._handle)

    def _run(self, context: contextvars.Context, put: Callable[[Any], object]) -> None:
        """Drive the generator until it ends (its own thread, or ``work()``'s)."""
        try:
            # One context for the generator's whole life, as if it ran inline.
            context.run(self._drive, put)
        except BaseException as exc:  # pragma: no cover - a bug here must not hang
            put(_Event("errored", exc))
        finally:
            self._thread_done.set()

    def _drive(self, put: Callable[[Any], object]) -> None:
        driver = self._driver
        control = self._control
        # Typed loosely: a step with nothing sent resumes with None, whatever S is.
        send: Callable[[Any], Any] = driver.generator.send
        while True:
            if not driver.attention:
                # Fast path: nothing requested, so step with None, lock-free.
                try:
                    value = send(None)
                except StopIteration as stop:
                    put(_Event("returned", stop.value))
                    return
                except BaseException as exc:
                    put(_Event("errored", exc))
                    return
                driver.mark_stepped()
                put(value)
                continue
            with control:
                action = driver.next_action()
                while action[0] == "wait":
                    control.wait()
                    action = driver.next_action()
            kind = action[0]
            if kind == "step":
                outcome, payload = driver.step(action[1])
                if action[2] is not None:
                    put(_Event("received", action[2]))
                if outcome == "yielded":
                    put(payload)
                    continue
                put(_Event(outcome, payload))
                return
            if kind == "abort":
                put(_Event(*driver.close()))
                return
            put(_Event(kind + "d"))  # "paused" / "resumed"

    def _deliver_warning(self, args: WarningArgs) -> None:
        channel = self._channel
        if channel is not None and not self._dispatcher_home():
            channel.put(_Event("warned", args))  # in order with the values
        else:
            self._emit_warning(args)

    def _dispatcher_home(self) -> bool:
        return self._dispatcher is None or self._dispatcher.in_home_thread()

    # -- home side ---------------------------------------------------------------------------
    def _delivery_blocked(self) -> bool:
        """Whether an async iterator is full (never once quit is requested)."""
        signal = self._yielded_signal
        return signal is not None and signal._congested and not self._abort_requested

    def _handle(self, item: Any) -> None:
        """Deliver one channel item (home thread)."""
        if type(item) is not _Event:
            signal = self._yielded_signal
            if signal is not None:
                signal._emit_value(item)
            pbar = self._pbar
            if pbar is not None and not pbar._explicit:
                pbar.update(1)  # napari's rule: every yield is a step
            return
        kind = item.kind
        if kind == "received":
            item.payload.set_result(None)
        elif kind == "warned":
            self._emit_warning(item.payload)
        elif kind in ("paused", "resumed"):
            self._fire(kind)
            with self._control:
                latches = self._pause_latches if kind == "paused" else self._resume_latches
                done = list(latches)
                latches.clear()
            for latch in done:
                latch.set_result(None)
        else:
            self._finish(kind, item.payload)

    def _resume_delivery(self) -> None:
        if self._channel is not None:
            self._channel.resume()

    def _signal_created(self, signal: SignalInstance[Any]) -> None:
        super()._signal_created(signal)
        if signal.name == "yielded":
            self._yielded_signal = signal
            signal._on_space = self._resume_delivery

    def _errors_handled(self) -> bool:
        return bool(self._iterating) or super()._errors_handled()

    def _finished_cleanup(self) -> None:
        with self._control:
            pending = self._driver.take_unsent() + self._pause_latches + self._resume_latches
            self._pause_latches = []
            self._resume_latches = []
        for latch in pending:
            assert isinstance(latch, Latch)
            latch.set_exception(self._ended_error("honoured the request"))

    # -- the async face ---------------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[Y]:
        """``async for value in worker`` — every yielded value, in order.

        Starts the worker if needed. Ends when the generator returns (or is
        quit); raises the generator's exception if it fails.
        """
        iterator = self.yielded._subscribe(_WorkerIterator(self))
        if self._state == "created":
            self.start()
        return iterator


class _WorkerIterator(_SignalIterator[Y]):
    """A worker's values, then its exception if it failed (ends quietly if quit)."""

    __slots__ = ("_worker",)

    def __init__(self, worker: GeneratorWorker[Y, Any, Any]) -> None:
        super().__init__(worker.yielded)
        self._worker = worker
        # While it iterates, the worker's errors count as handled here.
        worker._iterating.add(self)

    def _ended(self) -> NoReturn:
        self._worker._iterating.discard(self)
        error = self._worker._fired.get("errored")
        if error is not None:
            raise error
        raise StopAsyncIteration
