"""Example 7, async style: ``await worker.send(value)`` confirms delivery.

The awaitable completes when the generator's ``yield`` has received the
value; several sends queue up and arrive in order.
"""

import time
from collections.abc import Generator

from _common import ensure_display

ensure_display()

import qasync  # noqa: E402
from qtpy.QtWidgets import QApplication  # noqa: E402

from threadworker import thread_worker  # noqa: E402


@thread_worker
def multiples() -> Generator[str, int | None, None]:
    factor, i = 1, 0
    while True:
        received = yield f"{i} x {factor} = {i * factor}"
        if received is not None:
            factor = received
        i += 1
        time.sleep(0.02)


async def main() -> None:
    async with multiples() as worker:
        print("first:", await worker.yielded)
        for factor in (3, 7):
            await worker.send(factor)  # the generator has it now
            print(f"sent {factor}; next line:", await worker.yielded)
    print("quit and finished")


app = QApplication([])
qasync.run(main())
