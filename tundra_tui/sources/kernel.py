"""Socket facts from the kernel: granted receive buffer and /proc/net/udp drop counters."""

from __future__ import annotations

import contextlib
import os
import socket
import sys

from .procnet import by_inode

WANT_RCVBUF = 64 << 20  # the kernel doubles it, and caps SO_RCVBUF at net.core.rmem_max (x2)
# Python's socket module has no SO_RCVBUFFORCE; on Linux it is 33. It passes rmem_max when the
# process has CAP_NET_ADMIN (root, as the Agent runs), which is what absorbs a flood's bursts.
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33 if sys.platform.startswith("linux") else None)
LEFT_COUNT_MAX = 1 << 18  # at close, at most this many datagrams still queued are counted (a flood chasing: ~0.5 s)


def grow_rcvbuf(sock: socket.socket, want: int = WANT_RCVBUF) -> int:
    """Ask for a large SO_RCVBUF (forcing past rmem_max when privileged); return what was granted."""
    force = SO_RCVBUFFORCE
    if force is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, want)
            return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        except OSError:
            pass
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, want)
    except OSError:
        pass
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def udp_drops(sock: socket.socket) -> int | None:
    """Kernel drops for this UDP socket from /proc/net/udp{,6}, or None where unavailable."""
    try:
        inode = os.fstat(sock.fileno()).st_ino
    except OSError:
        return None
    row = by_inode(inode)
    return row.drops if row is not None else None


def count_queued(sock: socket.socket, limit: int = LEFT_COUNT_MAX) -> int:
    """Count (and take) the datagrams still in a socket's queue, without keeping them."""
    n = 0
    flags = socket.MSG_DONTWAIT | getattr(socket, "MSG_TRUNC", 0)
    buf = bytearray(1)
    recv = sock.recv_into
    with contextlib.suppress(OSError):  # EAGAIN: empty
        while n < limit:
            recv(buf, 1, flags)
            n += 1
    return n
