"""Re-send every datagram, unchanged, to the real Agent without ever slowing the tap."""

from __future__ import annotations

import collections
import socket
import threading

from .urls import Address


class Forwarder:
    """A bounded queue drained by its own thread with non-blocking sends; overflow is counted."""

    def __init__(self, target: Address, max_queue: int = 100_000) -> None:
        self.target = target
        self.sent = 0
        self.dropped = 0
        self._queue: collections.deque[bytes] = collections.deque()
        self._max = max_queue
        self._wake = threading.Event()
        self._stop = False
        family = socket.AF_UNIX if target.scheme == "unix" else _family(target.host)
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._dest: str | tuple[str, int] = target.host if target.scheme == "unix" else (target.host, target.port or 0)
        self._thread = threading.Thread(target=self._run, name="tundra-forward", daemon=True)
        self._thread.start()

    def put(self, datagram: bytes) -> None:
        """Queue one datagram; drop (and count) it if the queue is full."""
        if len(self._queue) >= self._max:
            self.dropped += 1
            return
        idle = not self._queue
        self._queue.append(datagram)
        if idle:
            self._wake.set()

    def _run(self) -> None:
        q, send, dest = self._queue, self._sock.sendto, self._dest
        while not self._stop:
            self._wake.wait(0.5)
            self._wake.clear()
            while q:
                data = q.popleft()
                try:
                    send(data, dest)
                    self.sent += 1
                except OSError:  # agent absent (ECONNREFUSED/ENOENT) or not reading (EAGAIN)
                    self.dropped += 1

    def close(self) -> None:
        """Stop the sender thread."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=2)
        self._sock.close()


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
