"""A KeyboardInterrupt or SystemExit raised by a callback, on asyncio.

It leaves the loop as from any callback (out of ``asyncio.run``), and
delivery survives it: closing the loop still ends every worker promptly,
with no false "abandoned" warning (Qt's ``app.exec()``: test_qt_interrupts).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

LIMIT = 120  # seconds for the child: a hang fails, never blocks CI

CHILD = """
import asyncio
from threadworker import thread_worker, configure

@thread_worker
def forever():
    while True:
        yield 1

async def main():
    # A stranded delivery would sit out the whole timeout, then warn "abandoned".
    configure(shutdown_timeout=60)
    worker = forever()
    worker.aborted.connect(lambda: print("aborted delivered", flush=True))
    worker.finished.connect(lambda: print("finished delivered", flush=True))
    raised = []

    def interrupt_once(value):
        if not raised:
            raised.append(value)
            raise {exc}

    worker.yielded.connect(interrupt_once)
    worker.start()
    await asyncio.Event().wait()

try:
    asyncio.run(main())
except {kind} as exc:
    print("{kind} reached the caller", flush=True)
"""


@pytest.mark.parametrize(
    ("exc", "kind"),
    [("KeyboardInterrupt", "KeyboardInterrupt"), ("SystemExit(3)", "SystemExit")],
)
def test_an_interrupt_in_a_callback_leaves_asyncio_run_and_delivery_survives(
    exc: str, kind: str
) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD.format(exc=exc, kind=kind))],
        capture_output=True,
        text=True,
        timeout=LIMIT,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"{kind} reached the caller" in result.stdout
    # Closing the loop quit the worker, and its last signals were delivered.
    assert "aborted delivered\nfinished delivered" in result.stdout
    assert "abandoned" not in result.stderr
