"""qasync loops for tests: their Qt objects go when they close.

A closed qasync loop sits in a reference cycle and is freed by the cyclic
collector in whichever thread runs it; PySide6 then destroys its timer object
in that thread and a timer still due crashes the process (see
``threadworker._qt.delete_closed_loop_qobjects``). threadworker does this for
every loop it served; these loops do it also when no worker ever ran on them.
"""

from __future__ import annotations

import asyncio


def new_qasync_loop() -> asyncio.AbstractEventLoop:
    """A ``qasync.QEventLoop`` on the application (made if there is none)."""
    import qasync
    from qtpy.QtWidgets import QApplication

    from threadworker._qt import delete_closed_loop_qobjects

    app = QApplication.instance() or QApplication([])
    loop: asyncio.AbstractEventLoop = qasync.QEventLoop(app)
    close_loop = loop.close

    # On the instance, not a subclass: threadworker tells qasync's loops by their class.
    def close() -> None:
        close_loop()
        delete_closed_loop_qobjects(loop)

    loop.close = close  # type: ignore[method-assign]
    return loop
