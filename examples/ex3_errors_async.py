"""Example 3, async style: errors are raised where you await.

``await worker`` raises the worker's own exception, traceback from the
worker thread intact; handle it with ``try``/``except``. An error nobody
handles goes to the loop's exception handler instead.
"""

import asyncio
import traceback

from _common import ensure_display

ensure_display()

import qasync  # noqa: E402
from qtpy.QtWidgets import QApplication  # noqa: E402

from threadworker import thread_worker  # noqa: E402


@thread_worker
def error_prone_function(kind: type[Exception]) -> None:
    raise kind("from the worker thread")


async def main() -> None:
    try:
        await error_prone_function(ValueError)
    except ValueError as exc:
        print(f"We had a minor problem {exc}")
        frames = [frame.name for frame in traceback.extract_tb(exc.__traceback__)]
        print(f"the traceback reaches into the worker: {'error_prone_function' in frames}")

    reported: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda loop, context: reported.append(context["message"]))
    worker = error_prone_function(KeyError)
    worker.start()  # nobody awaits it or connects to errored
    await worker.finished
    print(f"unhandled, so reported to the loop's exception handler: {reported}")


app = QApplication([])
qasync.run(main())
