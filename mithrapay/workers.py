"""gunicorn's sync worker, sending each answer in as few TCP segments as it
can.

The sync worker writes an answer's status line and headers, then its body,
then closes the connection (a sync worker keeps none alive), each with its
own system call, and the kernel sends each as it comes: three segments, and
on loopback or a virtual machine three wake-ups of the reader, for an answer
that fits in one. With ``TCP_CORK`` on the accepted socket the kernel holds
what the worker writes until a full segment is ready or the worker closes
the connection, so a small answer leaves as one segment together with the
close. A large or streamed answer still leaves as fast as full segments
fill; only its last, partial segment waits, for the end of the answer, or
at most 200 ms (the kernel's limit on a cork) for a stream that pauses.

Linux only (``TCP_CORK``); elsewhere, and on a Unix socket, the worker is
gunicorn's own.
"""

import contextlib
import socket

from gunicorn.workers.sync import SyncWorker

_CORK = getattr(socket, "TCP_CORK", None)


class CorkedSyncWorker(SyncWorker):
    def handle(self, listener, client, addr):
        if _CORK is not None and client.family in (socket.AF_INET, socket.AF_INET6):
            # A connection already gone fails here; gunicorn's handling of it
            # follows as it would without the cork.
            with contextlib.suppress(OSError):
                client.setsockopt(socket.IPPROTO_TCP, _CORK, 1)
        super().handle(listener, client, addr)
