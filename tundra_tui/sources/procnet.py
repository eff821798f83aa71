"""Who holds a UDP port and what its socket lost: /proc/net/udp{,6} and /proc/PID/fd, no privileges needed.

Reading another user's /proc/PID/fd needs root, so without it the holder's pid may be unknown;
the queue fill and drop counters are world-readable.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TABLES = ("/proc/net/udp", "/proc/net/udp6")
MAX_TABLE = 64 << 20  # a host with a million sockets is still bounded


@dataclass(frozen=True)
class UdpSocket:
    """One row of /proc/net/udp{,6}."""

    host: str
    port: int
    rx_queue_bytes: int
    drops: int
    inode: int
    uid: int


def _host(hexaddr: str) -> str:
    raw = bytes.fromhex(hexaddr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = struct.unpack("<4I", raw)  # four host-order words
    return socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words))


def parse_table(text: str) -> list[UdpSocket]:
    """The rows of one /proc/net/udp{,6} table (malformed rows are skipped)."""
    out = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 13:
            continue
        try:
            hexhost, hexport = cols[1].split(":")
            rx = int(cols[4].split(":")[1], 16)
            out.append(UdpSocket(_host(hexhost), int(hexport, 16), rx, int(cols[12]), int(cols[9]), int(cols[7])))
        except (ValueError, IndexError):
            continue
    return out


def udp_sockets(port: int | None = None) -> list[UdpSocket]:
    """Every UDP socket (bound to `port`, if given), IPv4 then IPv6."""
    out: list[UdpSocket] = []
    for table in TABLES:
        try:
            with open(table, encoding="ascii", errors="replace") as f:
                text = f.read(MAX_TABLE)
        except OSError:
            continue
        out += [s for s in parse_table(text) if port is None or s.port == port]
    return out


def by_inode(inode: int) -> UdpSocket | None:
    """The row of the socket with this inode, if it is a UDP socket."""
    return next((s for s in udp_sockets() if s.inode == inode), None)


def owner(inodes: set[int], proc: str = "/proc") -> tuple[int, str] | None:
    """(pid, command name) of a process holding one of these socket inodes, if /proc lets us see it."""
    want = {f"socket:[{i}]" for i in inodes}
    try:
        pids = [int(p) for p in os.listdir(proc) if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        fd_dir = f"{proc}/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"{fd_dir}/{fd}") in want:
                    return pid, _comm(proc, pid)
            except OSError:
                continue
    return None


def _comm(proc: str, pid: int) -> str:
    try:
        name = Path(f"{proc}/{pid}/comm").read_text(errors="replace")[:64].strip()
    except OSError:
        return "?"
    return "".join(c for c in name if c.isprintable()) or "?"  # any process picks its own name


class SocketWatch:
    """The Agent's DogStatsD socket on `port`: queue fill and drops now, its holder found once per socket."""

    def __init__(self, port: int, exclude: frozenset[int] = frozenset()) -> None:
        self.port = port
        self.exclude = exclude  # our own sockets' inodes
        self._inodes: set[int] = set()
        self._owner: tuple[int, str] | None = None

    def read(self) -> dict[str, object] | None:
        """{port, pid, process, rx_queue_bytes, drops} summed over the port's sockets, or None if nobody holds it."""
        socks = [s for s in udp_sockets(self.port) if s.inode not in self.exclude]
        if not socks:
            return None
        inodes = {s.inode for s in socks}
        if inodes != self._inodes:  # a new socket (the Agent restarted): look its holder up again
            self._inodes, self._owner = inodes, owner(inodes)
        pid, name = self._owner if self._owner else (None, None)
        return {"port": self.port, "pid": pid, "process": name,
                "rx_queue_bytes": sum(s.rx_queue_bytes for s in socks), "drops": sum(s.drops for s in socks)}


def describe_holder(port: int) -> tuple[str, dict[str, Any] | None]:
    """("port P is held by NAME (pid N)", facts) for whoever has `port` bound, from /proc."""
    socks = udp_sockets(port)
    if not socks:
        return f"nothing holds port {port}", None
    who = owner({s.inode for s in socks})
    pid, name = who if who else (None, None)
    facts = {"port": port, "pid": pid, "process": name, "addresses": sorted({s.host for s in socks})}
    label = f"{name} (pid {pid})" if who else "another process (pid not visible without root)"
    return f"port {port} is held by {label}", facts
