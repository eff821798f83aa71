"""Forwarding to the Agent from inside the receiver process: sendmmsg from the receive slots.

Stdlib only, no package-relative imports: the receiver process loads it as a sibling script.
"""

from __future__ import annotations

import ctypes
import socket
import struct
import time

if __package__:
    from . import mmsg
else:  # run by the receiver script
    import mmsg  # type: ignore[no-redef]


def sockaddr(target: str) -> tuple[int, bytes]:
    """(family, raw sockaddr) for `udp:HOST:PORT` or `unix:/path` (the receiver's own notation)."""
    scheme, _, rest = target.partition(":")
    if scheme == "unix":
        path = rest.encode()
        return socket.AF_UNIX, struct.pack("=H", socket.AF_UNIX) + path + b"\0"
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    if ":" in host:
        addr = socket.inet_pton(socket.AF_INET6, host)
        return socket.AF_INET6, struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", int(port), 0) + addr + b"\0" * 4
    addr = socket.inet_pton(socket.AF_INET, socket.gethostbyname(host))
    return socket.AF_INET, struct.pack("=H", socket.AF_INET) + struct.pack("!H", int(port)) + addr + b"\0" * 8


class Sender:
    """sendmmsg from a Ring's slots to one fixed address.

    Each datagram gets one try: when the target refuses or is full (absent or not reading),
    the rest of that batch is counted dropped at once rather than retried. UDP never waits.
    A unix datagram socket queues only net.unix.max_dgram_qlen (10 by default) datagrams, so
    a reading Agent is given up to WAIT_S per call to make room, as the DogStatsD clients do;
    once that runs out, sends stop waiting for BACKOFF_S, so a stuck Agent cannot slow the tap."""

    WAIT_S = 0.05
    BACKOFF_S = 1.0

    GIVE_UP = frozenset({11, 111, 2, 105, 113, 101})  # EAGAIN ECONNREFUSED ENOENT ENOBUFS EHOSTUNREACH ENETUNREACH

    def __init__(self, ring: mmsg.Ring, target: str, sndbuf: int = 32 << 20) -> None:
        family, self._name = sockaddr(target)
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        for opt in (32, socket.SO_SNDBUF):  # SO_SNDBUFFORCE (privileged), else the capped one
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, opt, sndbuf)
                break
            except OSError:
                continue
        self._wait = family == socket.AF_UNIX
        if self._wait:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 0, int(self.WAIT_S * 1e6)))
        self._patient_after = 0.0  # monotonic time from which waiting is allowed again
        self._fn = mmsg.libc_fn("sendmmsg")
        if self._fn is None:
            raise OSError("sendmmsg is not available")
        self._namebuf = ctypes.create_string_buffer(self._name, len(self._name))
        vlen = ring.vlen
        self._iovs = (mmsg.IOVec * vlen)()
        self._msgs = (mmsg.MMsgHdr * vlen)()
        for i in range(vlen):
            self._iovs[i].base, self._iovs[i].len = ring.base + i * ring.slot, 0
            m = self._msgs[i].hdr
            m.name, m.namelen = ctypes.addressof(self._namebuf), len(self._name)
            m.iov, m.iovlen = ctypes.pointer(self._iovs[i]), 1
        self.lengths = memoryview(self._iovs).cast("B").cast("Q")[1::2]  # iov_len of each slot, settable
        self._size = ctypes.sizeof(mmsg.MMsgHdr)
        self._addr = ctypes.addressof(self._msgs)
        self.sent = self.dropped = 0

    def send(self, n: int) -> None:
        """Send slots [0, n) with the lengths set in `lengths`."""
        fd, fn, start = self.sock.fileno(), self._fn, 0
        flags = 0 if self._wait and time.monotonic() >= self._patient_after else mmsg.MSG_DONTWAIT
        while start < n:
            k = fn(fd, self._addr + start * self._size, n - start, flags)
            if k > 0:
                self.sent += k
                start += k
                continue
            err = ctypes.get_errno()
            if err == mmsg.EINTR:
                continue
            if err in self.GIVE_UP:
                self.dropped += n - start
                if err == mmsg.EAGAIN and not flags:
                    self._patient_after = time.monotonic() + self.BACKOFF_S
                return
            self.dropped += 1  # this one datagram is unsendable (EMSGSIZE...): skip it alone
            start += 1

    def close(self) -> None:
        """Close the sending socket."""
        self.sock.close()
