"""Which loop was set for this thread but is not running yet.

A worker started after ``asyncio.set_event_loop(loop)`` and before the loop
runs delivers once it does. The public question "which loop is set here?" is
``asyncio.get_event_loop()``, which answers without side effects except in one
place: on Python 3.11-3.13, in the main thread, when nothing was ever set, it
*creates* a loop (and sets it, silently on 3.11, after a
``DeprecationWarning`` on 3.12 and 3.13). A worker started there would then be
homed on a loop that nobody runs. No public call tells "nothing was set"
without that side effect, so that case alone — main thread, before 3.14 —
reads the default policy's record of the set loop (:func:`_set_loop_before_3_14`).
Those Python versions are frozen and the policy API is not deprecated on
them. Everywhere else, and on every thread from 3.14 on (where
``get_event_loop`` no longer creates loops and policies are deprecated, to go
in 3.16), only the public call is used.
"""

from __future__ import annotations

import asyncio
import sys
import threading

__all__ = ["loop_set_for_this_thread"]

#: Whether ``asyncio.get_event_loop()`` may create a loop in the main thread.
GET_EVENT_LOOP_MAY_CREATE = sys.version_info < (3, 14)


def loop_set_for_this_thread() -> asyncio.AbstractEventLoop | None:
    """The open loop ``asyncio.set_event_loop`` made current here, else None.

    Never creates a loop. Call it only when no loop is running in this
    thread (a running loop is ``asyncio.get_running_loop()``).
    """
    if GET_EVENT_LOOP_MAY_CREATE and threading.current_thread() is threading.main_thread():
        loop = _set_loop_before_3_14()
    else:
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:  # none set for this thread
            return None
    if isinstance(loop, asyncio.AbstractEventLoop) and not loop.is_closed():
        return loop
    return None


def _set_loop_before_3_14() -> object:
    """The default policy's loop for the main thread, without creating one.

    Python 3.11-3.13 only (see the module docstring): on 3.14 and later this
    is never called, so the policy's deprecation never reaches users.
    """
    # asyncio's policies (and uvloop's, which derives from them) keep it in
    # ``_local._loop``; a policy without that has nothing to find here.
    local = getattr(asyncio.get_event_loop_policy(), "_local", None)
    return getattr(local, "_loop", None)
