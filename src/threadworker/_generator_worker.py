"""The generator worker: a generator stepped in its own thread, pumped home.

Each running generator worker has one dedicated thread, and every step of the
generator runs on it (thread-local resources such as sqlite connections rely
on that). The thread steps ahead freely and puts what happens — values,
pauses, received sends, the outcome — into one ordered :class:`Channel`; the
home thread pumps the channel, emitting signals and feeding async iterators.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any, Generic, NoReturn, TypeVar, cast

from ._callables import makes_generator, name_of, surely_makes_generator
from ._channel import Channel
from ._exceptions import WorkerFinishedError
from ._latch import Latch
from ._signal import SignalInstance, _SignalIterator
from ._sizes import payload_size
from ._stepper import OUTCOMES, Event, GeneratorDriver, drive
from ._warnings import WarningArgs
from ._worker import WorkerBase
from ._worker_signals import GeneratorWorkerSignals

__all__ = ["GeneratorWorker"]

Y = TypeVar("Y")
S = TypeVar("S")
R = TypeVar("R")


class GeneratorWorker(WorkerBase[R], GeneratorWorkerSignals[Y, R], Generic[Y, S, R]):
    """Run a generator function in its own thread; stream what it yields.

    Besides the base signals it emits ``yielded`` for every value, and
    ``paused``/``resumed``/``aborted`` for flow control. Control methods take
    effect when called and return an awaitable confirming them.

    Delivery is in order and lossless: when the home thread falls behind, the
    generator blocks at its next ``yield`` until there is room. Room is
    counted in values and in bytes (``configure(max_bytes_in_flight=...)``).

    An ``async for`` that stops reading holds the generator back the same
    way, but never the outcome: once the generator has ended, or while a
    coroutine awaits the worker's outcome (``await worker``,
    ``await worker.finished`` ...), an unread iterator no longer stops
    delivery; its values wait in it (unbounded then), in order.

    *func* may also be a callable that makes a generator without being a
    generator function: an object with a generator ``__call__``, a
    ``staticmethod`` or ``partial`` of a generator function, or a
    ``functools.wraps`` wrapper of one. A wrapper runs code of its own, so it
    is called in the worker's thread; if it returns something other than a
    generator, that is the worker's return value.

    Raises
    ------
    TypeError
        If *func* is not a generator function (use :class:`FunctionWorker`, or
        wrap it with :func:`as_generator_function`).
    """

    def __init__(
        self,
        func: Callable[..., Generator[Y, S, R]],
        *args: Any,
        SignalsClass: type | None = None,  # superqt's spelling
        **kwargs: Any,
    ) -> None:
        if not makes_generator(func):
            raise TypeError(
                f"{name_of(func)} is not a generator function: use FunctionWorker (or "
                "create_worker, which picks it), or wrap it with as_generator_function"
            )
        super().__init__(func, *args, SignalsClass=SignalsClass, **kwargs)
        # Calling a generator function runs none of its code: done here, so a
        # wrong argument fails now. A wrapper is called in the worker's thread.
        self._driver: GeneratorDriver[Y, S, R] = GeneratorDriver(
            func(*args, **kwargs) if surely_makes_generator(func) else None
        )
        self._control = threading.Condition(threading.Lock())
        self._channel: Channel | None = None
        self._pause_latches: list[Latch[None]] = []
        self._resume_latches: list[Latch[None]] = []
        self._iterating: weakref.WeakSet[_WorkerIterator[Y]] = weakref.WeakSet()
        self._yielded_signal: SignalInstance[Y] | None = None
        # executor="process": sends on their way, by the token the process returns.
        self._remote_sends: dict[int, Latch[None]] = {}
        self._future: concurrent.futures.Future[Any] | None = None  # thread executors
        self._paused = False  # between ``paused`` and ``resumed`` (home thread)
        # Bytes of sent values not yet received, by their latch (under _control).
        self._unreceived: dict[int, int] = {}
        self._unreceived_bytes = 0
        self._ended_before_quit = False  # quit() came after the generator ended

    _is_generator = True

    # -- flow control ------------------------------------------------------------------
    @property
    def is_paused(self) -> bool:
        """Whether the worker is paused: from its ``paused`` until its ``resumed``.

        Right after :meth:`pause` it is still False: the generator pauses at
        its next ``yield``, and ``paused`` says so (superqt's meaning).
        """
        return self._paused

    def send(self, value: S) -> Latch[None]:
        """Queue *value* for the generator: a later ``yield`` evaluates to it.

        Sends are delivered in order, one per ``yield``; a step with nothing
        queued gets ``None``. Returns an awaitable that completes when the
        generator received the value, or raises :class:`WorkerFinishedError`
        if it finished first.

        Sent values are bounded by bytes, like yielded ones: while the values
        sent and not yet received hold ``max_bytes_in_flight`` bytes (see
        :func:`configure`), another is refused (the home thread must not
        block): await each ``send()``, or a few, to stay under it.

        Raises
        ------
        RuntimeError
            If the worker has not been started (nothing could receive it yet).
        TypeError
            If the worker runs in a process and *value* cannot be pickled.
        BufferError
            If the values sent and not yet received already hold
            ``max_bytes_in_flight`` bytes.
        """
        latch: Latch[None] = Latch()
        if self._state == "created":
            raise RuntimeError(
                f"cannot send to {self._signal_owner_name()} before it starts: "
                "call start() first (the first step of a generator cannot receive a value)"
            )
        if self._placement.kind == "process":
            # The books keep the pickled value: a bad one fails here, not there.
            threshold = self._scope.transport()[1] if self._scope is not None else None
            value = cast(S, _pickled_for_send(value, self._name, threshold))
        with self._control:
            if self._state == "finished" or self._driver.abort_requested:
                latch.set_exception(self._ended_error("received the value"))
                return latch
            size = payload_size(value)
            if size:
                budget = self._scope.max_bytes_in_flight if self._scope else size
                if self._unreceived_bytes and self._unreceived_bytes + size > budget:
                    raise BufferError(
                        f"{self._signal_owner_name()} has not received "
                        f"{self._unreceived_bytes} bytes of sent values yet "
                        f"(max_bytes_in_flight={budget}): await earlier send()s first"
                    )
                self._unreceived[id(latch)] = size
                self._unreceived_bytes += size
            self._driver.queue_send(value, latch)
            self._requests_changed()
        return latch

    def pause(self) -> Latch[None]:
        """Pause at the next ``yield``; the awaitable completes on ``paused``.

        After ``paused`` is emitted, no value is delivered until ``resumed``.
        """
        with self._control:
            return self._pause_locked()

    def resume(self) -> Latch[None]:
        """Resume a paused worker; the awaitable completes on ``resumed``."""
        with self._control:
            return self._resume_locked()

    def toggle_pause(self) -> Latch[None]:
        """Pause if running, resume if paused; returns that call's awaitable.

        Decided by the last request, not by :attr:`is_paused` (toggling twice
        before the generator reached a ``yield`` pauses and then resumes), and
        requested in the same step: toggles from several threads at once each
        flip the state.
        """
        with self._control:
            if self._driver.pause_requested:
                return self._resume_locked()
            return self._pause_locked()

    def _pause_locked(self) -> Latch[None]:
        latch: Latch[None] = Latch()
        if self._state == "finished" or self._driver.abort_requested:
            latch.set_exception(self._ended_error("paused"))
        elif self._driver.request_pause() or self._pause_latches:
            self._pause_latches.append(latch)  # confirmed by the next ``paused``
            self._requests_changed()
        else:
            latch.set_result(None)  # paused already, and confirmed
        return latch

    def _resume_locked(self) -> Latch[None]:
        latch: Latch[None] = Latch()
        if self._state == "finished" or self._driver.abort_requested:
            latch.set_exception(self._ended_error("resumed"))
        elif self._driver.request_resume() or self._resume_latches:
            self._resume_latches.append(latch)  # confirmed by the next ``resumed``
            self._requests_changed()
        else:
            latch.set_result(None)  # not paused: nothing to do
        return latch

    def _ended_error(self, what: str) -> WorkerFinishedError:
        return WorkerFinishedError(f"{self._signal_owner_name()} finished before it {what}")

    def _requests_changed(self) -> None:
        """Make the requests just recorded in the driver take effect (lock held)."""
        if self._job is None:
            self._control.notify_all()  # the stepping thread may be waiting
            return
        # In a process the generator has its own driver: this one keeps the
        # books, and its requests are forwarded, in order.
        transitions, sends = self._driver.take_requests()
        for transition in transitions:
            self._job.control(transition)
        for data, latch in sends:
            token = id(latch)
            assert isinstance(latch, Latch)
            self._remote_sends[token] = latch
            self._job.control("send", (token, data))

    def _request_abort(self) -> None:
        # A generator that already ended on its own was not cut short: its
        # values are still delivered, even at shutdown (see _handle).
        self._ended_before_quit = self._thread_done.is_set()
        with self._control:
            self._driver.request_abort()
            self._control.notify_all()
        if self._job is not None:
            assert self._scope is not None
            self._job.quit(self._scope.terminate_after)
        elif self._future is not None and self._future.cancel():
            # Queued behind a thread executor's other work: it never runs.
            assert self._channel is not None
            self._channel.put(Event("aborted"))
            self._producer_done()
        if self._channel is not None:
            self._channel.stop_blocking()
            self._channel.resume()  # delivery must go on to reach ``aborted``

    # -- running -------------------------------------------------------------------------
    def _launch(self, context: contextvars.Context) -> None:
        assert self._dispatcher is not None
        # Values arrive through the channel, so ``started`` is queued first.
        self._dispatcher.post(self._ensure_started)
        assert self._scope is not None
        budget = self._scope.max_bytes_in_flight
        self._channel = Channel(
            self._dispatcher.post,
            self._dispatcher.post_yielding,
            self._handle,
            self._delivery_blocked,
            max_bytes=budget,
        )
        if self._yielded_signal is not None:
            self._yielded_signal._byte_budget = budget
        placement = self._placement
        if placement.kind == "process":
            self._launch_in_process()
        elif placement.executor is not None:  # a thread executor
            self._future = placement.executor.submit(self._run, context, self._channel.put)
        else:
            thread = threading.Thread(
                target=self._run,
                args=(context, self._channel.put),
                name=f"threadworker-{self._name}",
                daemon=True,  # a stuck generator must never block interpreter exit
            )
            thread.start()

    def _launch_in_process(self) -> None:
        assert self._scope is not None
        self._job = self._new_process_job()
        with self._control:  # requests made before start(): they travel with the job
            self._requests_changed()
        self._scope.process_pool.submit(self._job)
        with self._control:
            abort_requested = self._driver.abort_requested
        if abort_requested:  # quit() from another thread while start() ran
            self._job.quit(self._scope.terminate_after)

    def _from_process(self, items: list[Any]) -> None:
        """Items from the worker process, into the channel (its courier thread)."""
        from ._process_pool import rebuild_error

        channel = self._channel
        assert channel is not None
        put = channel.put
        for item in items:
            if type(item) is Event:
                kind = item.kind
                if kind == "progress":
                    self._relay_progress(item.payload)
                    continue
                if kind == "received":
                    item = Event("received", self._remote_sends.pop(item.payload))
                elif kind == "errored":
                    item = Event("errored", rebuild_error(item.payload))
                if kind in OUTCOMES:
                    put(item)
                    self._producer_done()
                    continue
            put(item)

    def _on_process_lost(self, exitcode: int | None) -> None:
        assert self._channel is not None
        self._channel.put(Event(*self._process_died(exitcode)))
        self._producer_done()

    def _work_here(self, context: contextvars.Context) -> None:
        self._run(context, self._handle)

    def _run(self, context: contextvars.Context, put: Callable[[Any], object]) -> None:
        """Drive the generator until it ends (its own thread, or ``work()``'s)."""
        self._began = True
        try:
            # One context for the generator's whole life, as if it ran inline.
            if self._driver.has_generator or context.run(self._make_generator, put):
                context.run(drive, self._driver, self._control, put)
        except BaseException as exc:  # pragma: no cover - a bug here must not hang
            put(Event("errored", exc))
        finally:
            self._producer_done()

    def _producer_done(self) -> None:
        """The outcome is in the channel: nothing may hold it back now (any thread)."""
        self._thread_done.set()
        if self._channel is not None:
            self._channel.resume()

    def _make_generator(self, put: Callable[[Any], object]) -> bool:
        """Call a wrapper of a generator function; False if that ended the work."""
        try:
            made = self._func(*self._args, **self._kwargs)
        except BaseException as exc:
            put(Event("errored", exc))
            return False
        if not isinstance(made, Generator):  # the wrapper ran the generator itself
            put(Event("returned", made))
            return False
        with self._control:
            self._driver.attach(made)
        return True

    def _deliver_warning(self, args: WarningArgs) -> None:
        channel = self._channel
        if channel is not None and not self._dispatcher_home():
            channel.put(Event("warned", args))  # in order with the values
        else:
            self._emit_warning(args)

    def _dispatcher_home(self) -> bool:
        return self._dispatcher is None or self._dispatcher.in_home_thread()

    # -- home side ---------------------------------------------------------------------------
    def _delivery_blocked(self) -> bool:
        """Whether an async iterator is full and may hold delivery back.

        It may not once quit was requested, once the generator has ended
        (its outcome is queued), or while a coroutine awaits the outcome.
        """
        signal = self._yielded_signal
        if signal is None or self._abort_requested or self._thread_done.is_set():
            return False
        return signal._congested and not self._outcome_awaited()

    def _outcome_awaited(self) -> bool:
        for name in _OUTCOME_SIGNALS:
            signal = self.__dict__.get(name)
            if signal is not None and signal._latch is not None and signal._latch.has_waiters():
                return True
        return False

    def _handle(self, item: Any) -> None:
        """Deliver one channel item (home thread)."""
        if type(item) is not Event:
            if (
                self._abort_requested
                and not self._ended_before_quit
                and self._scope is not None
                and self._scope.closed
            ):
                # The home is shutting down: a value yielded before the quit has
                # nobody left to show it (napari closed its viewer first). Qt's
                # own queued signals are never run once the application quit.
                return
            pbar = self._pbar
            if pbar is not None and not pbar._explicit:
                # napari's rule: every yield is a step, counted before the
                # ``yielded`` callbacks run, so they see it in ``pbar.n``.
                pbar.update(1)
            signal = self._yielded_signal
            if signal is not None:
                signal._emit_value(item)
            return
        kind = item.kind
        if kind == "received":
            if self._unreceived:
                with self._control:
                    self._unreceived_bytes -= self._unreceived.pop(id(item.payload), 0)
            item.payload.set_result(None)
        elif kind == "warned":
            self._emit_warning(item.payload)
        elif kind in ("paused", "resumed"):
            self._paused = kind == "paused"
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
            signal._on_space = self._weak_resume_delivery()
            if self._scope is not None:
                signal._byte_budget = self._scope.max_bytes_in_flight
        elif signal.name in _OUTCOME_SIGNALS:
            # Awaiting the outcome lifts an unread iterator's hold (see the class).
            signal._on_wait = self._weak_resume_delivery()

    def _weak_resume_delivery(self) -> Callable[[], None]:
        """:meth:`_resume_delivery`, held weakly.

        A signal must not keep its worker alive (see ``WorkerBase.__del__``).
        """
        resume = weakref.WeakMethod(self._resume_delivery)

        def resume_if_alive() -> None:
            method = resume()
            if method is not None:
                method()

        return resume_if_alive

    def _errors_handled(self) -> bool:
        return bool(self._iterating) or super()._errors_handled()

    def _finished_cleanup(self) -> None:
        with self._control:
            pending = (
                self._driver.take_unsent()
                + self._pause_latches
                + self._resume_latches
                + list(self._remote_sends.values())
            )
            self._pause_latches = []
            self._resume_latches = []
            self._remote_sends.clear()
            self._unreceived.clear()
            self._unreceived_bytes = 0
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
        self._start_if_new()
        return iterator


_OUTCOME_SIGNALS = ("returned", "errored", "aborted", "finished")


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


def _pickled_for_send(value: object, name: str, threshold: int | None) -> bytes:
    """*value* pickled for a worker process, or a TypeError that says why not.

    Its buffers of *threshold* bytes or more go into shared memory (see
    ``_shared_memory``).
    """
    from ._shared_memory import pickled

    try:
        return pickled(value, threshold=threshold)
    except Exception as exc:
        raise TypeError(
            f"cannot send {type(value).__qualname__} to {name}, which runs in a worker "
            f"process: it cannot be pickled ({exc})"
        ) from exc
