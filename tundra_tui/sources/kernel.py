"""Socket facts from the kernel: granted receive buffer and /proc/net/udp drop counters."""

from __future__ import annotations

import os
import socket
from pathlib import Path

WANT_RCVBUF = 32 << 20  # the kernel caps this at net.core.rmem_max (x2)


def grow_rcvbuf(sock: socket.socket, want: int = WANT_RCVBUF) -> int:
    """Ask for a large SO_RCVBUF (forcing past rmem_max when privileged); return what was granted."""
    force = getattr(socket, "SO_RCVBUFFORCE", None)
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
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) >= 13 and cols[9] == str(inode):
                try:
                    return int(cols[-1])
                except ValueError:
                    return None
    return None
