"""Driving a generator under pause/resume/send/quit requests.

:class:`GeneratorDriver` decides what a generator worker does next and does
it, with no thread in sight, so the decisions are testable step by step.
:func:`drive` is the loop around it — the same loop in a worker's thread and
in a worker process — adding only locking and waiting.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator
from typing import Any, Generic, Literal, TypeVar

__all__ = ["OUTCOMES", "Action", "Event", "GeneratorDriver", "Outcome", "drive", "receipts"]

Y = TypeVar("Y")
S = TypeVar("S")
R = TypeVar("R")

#: What the driver decided: ``("step", value, token)``, ``("pause",)``,
#: ``("resume",)``, ``("wait",)`` (stay paused) or ``("abort",)``.
Action = tuple[Any, ...]
#: What a step produced: ``("yielded", value)``, ``("returned", value)``,
#: ``("errored", exception)`` or ``("aborted", None)``.
Outcome = tuple[Literal["yielded", "returned", "errored", "aborted"], Any]

NOTHING: Any = object()  # "nothing was sent": send(None) is a real value

#: The kinds of :class:`Event` that end a run.
OUTCOMES = frozenset({"returned", "errored", "aborted"})


class Event:
    """Something other than a yielded value, in order with the values.

    *kind* is an outcome (``"returned"``, ``"errored"``, ``"aborted"``), a
    transition (``"paused"``, ``"resumed"``), ``"received"`` (a sent value was
    taken; *payload* is its token) or ``"warned"``. Picklable, so events cross
    process boundaries too.
    """

    __slots__ = ("kind", "payload")

    def __init__(self, kind: str, payload: Any = None) -> None:
        self.kind = kind
        self.payload = payload

    def __repr__(self) -> str:
        return f"Event({self.kind!r}, {self.payload!r})"

    def __reduce__(self) -> tuple[type[Event], tuple[str, Any]]:
        return (Event, (self.kind, self.payload))


def receipts(items: list[Any]) -> list[Event]:
    """The ``received`` events among *items*, in order.

    A send the generator took must be confirmed at home even when the job
    fails around it (a value before it cannot be read, or sent): these are
    kept where the rest of a failed job's items are dropped.
    """
    return [item for item in items if type(item) is Event and item.kind == "received"]


class GeneratorDriver(Generic[Y, S, R]):
    """Steps one generator, honouring the requests made to it.

    Requests (``request_*``, ``queue_send``) and :meth:`next_action` must be
    serialised by the caller; :meth:`step` and :meth:`close` run the
    generator's own code and need no lock.
    """

    def __init__(self, generator: Generator[Y, S, R] | None = None) -> None:
        # None until attach(): requests can be made before the generator exists
        # (a worker process receives them before it has unpickled the job).
        self._generator = generator
        self._sends: deque[tuple[S, object]] = deque()
        self._stepped = False
        #: The state the last request asked for (what ``is_paused`` reports).
        self.pause_requested = False
        #: The state the generator is in.
        self.paused = False
        self.abort_requested = False
        # Requested transitions not yet made, in order: each one is made and
        # reported even if a later one undoes it, so no confirmation is lost.
        self._transitions: deque[Literal["pause", "resume"]] = deque()
        #: Whether :meth:`next_action` may decide anything but a plain step;
        #: False lets the worker thread step without taking its lock.
        self.attention = False

    def _update_attention(self) -> None:
        self.attention = bool(
            self.abort_requested or self._transitions or self.paused or self._sends
        )

    # -- requests ----------------------------------------------------------------
    def request_pause(self) -> bool:
        """Pause before the next step; False if a pause is already requested."""
        if self.pause_requested:
            return False
        self.pause_requested = True
        self._transitions.append("pause")
        self.attention = True
        return True

    def request_resume(self) -> bool:
        """Leave the paused state; False if no pause is requested."""
        if not self.pause_requested:
            return False
        self.pause_requested = False
        self._transitions.append("resume")
        self.attention = True
        return True

    def request_abort(self) -> None:
        """Close the generator instead of taking the next step."""
        self.abort_requested = True
        self.attention = True

    def queue_send(self, value: S, token: object) -> None:
        """Resume a later ``yield`` with *value*; *token* comes back with it."""
        self._sends.append((value, token))
        self.attention = True

    def take_requests(self) -> tuple[list[Literal["pause", "resume"]], list[tuple[S, object]]]:
        """Remove and return the transitions and sends not yet acted on, in order.

        For a driver that only mirrors requests to be made elsewhere (a worker
        process steps the generator; the home keeps the books).
        """
        transitions = list(self._transitions)
        sends = list(self._sends)
        self._transitions.clear()
        self._sends.clear()
        return transitions, sends

    def take_unsent(self) -> list[object]:
        """Remove and return the tokens of sends never delivered."""
        tokens = [token for _, token in self._sends]
        self._sends.clear()
        self._update_attention()
        return tokens

    # -- decisions -----------------------------------------------------------------
    def next_action(self) -> Action:
        """Decide the next thing to do, updating the paused state."""
        action = self._decide()
        self._update_attention()
        return action

    def _decide(self) -> Action:
        if self.abort_requested:
            return ("abort",)
        if self._transitions:
            transition = self._transitions.popleft()
            self.paused = transition == "pause"
            return (transition,)
        if self.paused:
            return ("wait",)
        if self._stepped and self._sends:
            value, token = self._sends.popleft()
            return ("step", value, token)
        # The first step must be next(): a value sent before it waits a step.
        return ("step", NOTHING, None)

    # -- doing ------------------------------------------------------------------------
    @property
    def has_generator(self) -> bool:
        """Whether a generator is attached."""
        return self._generator is not None

    @property
    def generator(self) -> Generator[Y, S, R]:
        """The generator being driven."""
        assert self._generator is not None, "attach() a generator first"
        return self._generator

    def attach(self, generator: Generator[Y, S, R]) -> None:
        """Give the driver the generator it steps (if made without one)."""
        self._generator = generator

    def mark_stepped(self) -> None:
        """Record a step taken without :meth:`step` (the worker's fast path)."""
        self._stepped = True

    def step(self, value: Any = NOTHING) -> Outcome:
        """Advance the generator to its next yield (or its end)."""
        self._stepped = True
        try:
            produced = self.generator.send(None if value is NOTHING else value)  # type: ignore[arg-type]
        except StopIteration as stop:
            return ("returned", stop.value)
        except BaseException as exc:
            return ("errored", exc)
        return ("yielded", produced)

    def close(self) -> Outcome:
        """Close the generator (its ``finally`` blocks run here)."""
        try:
            if self._generator is not None:
                self._generator.close()
        except BaseException as exc:
            return ("errored", exc)
        return ("aborted", None)


def drive(
    driver: GeneratorDriver[Any, Any, Any],
    control: threading.Condition,
    put: Callable[[Any], object],
) -> None:
    """Run *driver*'s generator to its end, putting values and :class:`Event` s.

    Requests are made to *driver* under *control*, which is notified after
    each; they take effect between steps. Returns after the outcome was put.
    """
    # Typed loosely: a step with nothing sent resumes with None, whatever S is.
    send: Callable[[Any], Any] = driver.generator.send
    while True:
        if not driver.attention:
            # Fast path: nothing requested, so step with None, lock-free.
            try:
                value = send(None)
            except StopIteration as stop:
                put(Event("returned", stop.value))
                return
            except BaseException as exc:
                put(Event("errored", exc))
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
                put(Event("received", action[2]))
            if outcome == "yielded":
                put(payload)
                continue
            put(Event(outcome, payload))
            return
        if kind == "abort":
            put(Event(*driver.close()))
            return
        put(Event(kind + "d"))  # "paused" / "resumed"
