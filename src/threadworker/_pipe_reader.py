"""Reading a worker process's messages while watching the process itself.

``Connection.recv_bytes`` waits for data or end-of-file, and end-of-file
comes only when *every* holder of the pipe's other end has closed it. A job
that starts processes of its own (``os.fork()``, a forked
``multiprocessing.Pool``) hands that end to them: after the worker process
dies they keep it open, and a plain read would wait for ever. So the courier
reads with :class:`MessageReader`, which waits on the pipe *and* on the
process's sentinel: once the process has ended, what it sent is read and
then the pipe counts as closed, whoever else holds it.

The framing is ``multiprocessing.connection``'s (a 4-byte big-endian size,
or ``-1`` and an 8-byte size), so the child side keeps ``send_bytes``.
"""

from __future__ import annotations

import os
import select
import socket
import struct
from multiprocessing.connection import Connection

__all__ = ["MessageReader", "watches_process"]

#: Where the pipe is a socket and sentinels are file descriptors (POSIX).
watches_process = hasattr(select, "poll") and hasattr(socket, "MSG_DONTWAIT")


class MessageReader:
    """Whole messages from *conn*; end-of-file once the process is gone.

    Only for one reading thread. :meth:`close` releases the socket object
    it reads through (the connection itself stays open).
    """

    def __init__(self, conn: Connection, sentinel: int) -> None:
        self._socket = socket.socket(fileno=os.dup(conn.fileno()))
        self._fd = self._socket.fileno()
        self._poll = select.poll()  # the pipe and the process
        self._poll.register(self._fd, select.POLLIN)
        self._poll.register(sentinel, select.POLLIN)
        self._poll_pipe = select.poll()  # the pipe alone
        self._poll_pipe.register(self._fd, select.POLLIN)

    def recv_bytes(self) -> bytearray:
        """The next message; :class:`EOFError` when none will come."""
        (size,) = struct.unpack("!i", self._read(4))
        if size == -1:
            (size,) = struct.unpack("!Q", self._read(8))
        return self._read(size)

    def close(self) -> None:
        """Release the socket object (not the connection's own descriptor)."""
        self._socket.close()

    def _read(self, size: int) -> bytearray:
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            try:
                # Without waiting first: most reads find their data there.
                n = self._socket.recv_into(view[got:], 0, socket.MSG_DONTWAIT)
            except BlockingIOError:
                self._wait()
                continue
            if n == 0:
                raise EOFError("the worker process closed its pipe")
            got += n
        return buffer

    def _wait(self) -> None:
        """Until there is data to read; EOFError if the process ended without more."""
        events = dict(self._poll.poll())
        if self._fd in events:
            return  # data, or end-of-file: the read says which
        # Only the sentinel: the process has ended. What it wrote is in the
        # pipe already; with nothing there, nothing more will come from it.
        if not self._poll_pipe.poll(0):
            raise EOFError("the worker process ended")
