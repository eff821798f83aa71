"""The live DogStatsD tap: UDP and unix datagram listeners.

Why a process per socket: the spec's measured table shows the default asyncio datagram
endpoint loses 80%+ of a flood while a blocking loop with a non-blocking drain keeps up,
but only if nothing else wants the GIL. So each socket is bound by a Listener (listener.py;
errors are reported at once) and read by a receiver process (receiver.py, which inherits the fd)
that ships framed batches back over a pipe; a thread moves them into a bounded deque the Session
drains a chunk at a time. A stop is bounded too (see listener.py): nothing in flight is lost uncounted.
When another process (the Agent) holds the UDP port, the tap can watch it passively instead:
a packet socket sees every datagram to the port while the holder still gets all of them.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from typing import Any

from ..model.receiver_parts import ReceiverHealth
from ..model.snapshot import SourceStatus
from . import procnet
from .base import Packet, Source, SourceError
from .listener import Listener
from .urls import Address

AGENT_PORT = 8125
STOP_GRACE_S = 2.0  # a stop lets what is in flight land this long, then counts the rest (`stop_dropped`)


class Tap(Source):
    """Live DogStatsD from one or more listeners, optionally forwarded to the Agent by the receivers.

    `passive`: None (the default) watches a UDP port another process holds instead of failing,
    True always watches, False always binds."""

    def __init__(self, addresses: list[Address], forward: Address | None = None, passive: bool | None = None) -> None:
        self.requested = addresses
        self.forward_target = forward
        self.passive = passive
        self.listeners: list[Listener] = []
        self._wake = threading.Event()
        self._stopped = False
        self.stop_grace = STOP_GRACE_S
        self._drops_base: list[int | None] = []
        self._agent_watch: procnet.SocketWatch | None = None

    @property
    def label(self) -> str:  # type: ignore[override]
        listen = ", ".join(str(lst.address) for lst in self.listeners) or ", ".join(map(str, self.requested))
        return listen + (f" -> {self.forward_target}" if self.forward_target else "")

    @property
    def addresses(self) -> list[Address]:
        """The bound addresses (a port 0 resolved to the chosen one), once started."""
        return [lst.address for lst in self.listeners]

    @property
    def mode(self) -> str:
        """"passive" when any listener watches a held port, else "listen"."""
        return "passive" if any(lst.mode == "passive" for lst in self.listeners) else "listen"

    def start(self) -> None:
        """Bind (or watch) every listener, all or none, and start receiving."""
        try:
            for addr in self.requested:
                self.listeners.append(Listener(addr, collections.deque(), self._wake, self.forward_target,
                                               self.passive))
            self._drops_base = [lst.kernel_drops() for lst in self.listeners]
            for lst in self.listeners:
                lst.start()
            self._agent_watch = self._watch_agent()
        except SourceError:
            self.stop()
            raise

    def _watch_agent(self) -> procnet.SocketWatch | None:
        """The Agent's DogStatsD socket: the port watched passively, else the UDP port forwarded to,
        else the default 8125 when tundra listens on UDP elsewhere (the Agent's mirror set-up)."""
        ours = frozenset(os.fstat(lst._sock.fileno()).st_ino for lst in self.listeners)
        fwd = self.forward_target
        port = next((lst.address.port for lst in self.listeners if lst.mode == "passive"), None)
        if port is None and fwd is not None and fwd.scheme == "udp":
            port = fwd.port
        if port is None and any(lst.address.scheme == "udp" for lst in self.listeners):
            port = AGENT_PORT
        return procnet.SocketWatch(port, exclude=ours) if port else None

    def agent_socket(self) -> dict[str, Any] | None:
        """{port, pid, process, rx_queue_bytes, drops} of the Agent's socket, None when nobody holds it."""
        return self._agent_watch.read() if self._agent_watch is not None else None

    def read(self, timeout: float) -> list[Packet]:
        """What was received so far, about a megabyte per listener at most (waiting up to `timeout`)."""
        if not any(lst.pending for lst in self.listeners):
            self._wake.wait(timeout)
        self._wake.clear()
        out: list[Packet] = []
        for lst in self.listeners:
            lst.take(out)
        if len(self.listeners) > 1:
            out.sort(key=lambda p: p[0])
        if any(lst.pending for lst in self.listeners):
            self._wake.set()  # more is waiting: the next read must not sleep
        return out

    def backlog(self) -> int:
        """Pipe bytes the listeners hold for ingest."""
        return sum(lst.appended - lst.taken for lst in self.listeners)

    @property
    def done(self) -> bool:
        """True once stopped and every chunk kept at the stop was taken (a dead receiver's end-of-stream mark
        left untaken changes no count: `stop_dropped` then holds what it would have counted)."""
        return self._stopped and all(lst.appended == lst.taken for lst in self.listeners)

    def stop(self) -> None:
        """Stop every listener within about `stop_grace` seconds and close the sockets; counters are kept.
        What was in flight is kept (bounded, as ever) for reads after the stop; past the
        deadline the rest is thrown away, counted as `stop_dropped`, as is what is never read."""
        deadline = time.monotonic() + self.stop_grace
        for lst in self.listeners:  # every socket braked and every receiver told at once
            lst.begin_stop()
        for lst in self.listeners:
            lst.close(deadline)
        self._stopped = True
        self._wake.set()

    def kernel_drops(self) -> int | None:
        """Kernel drops since start, summed over listeners (None if unknown); still known after stop()."""
        total, known = 0, False
        for lst, base in zip(self.listeners, self._drops_base, strict=False):
            now = lst.kernel_drops()
            if now is not None and base is not None:
                total += now - base if lst.mode == "listen" else now
                known = True
        return total if known else None

    def status(self) -> SourceStatus:
        """Counters for the status bar / JSON."""
        lsts = self.listeners
        return SourceStatus(
            "live", self.label, self.mode, tuple(str(lst.address) for lst in lsts),
            tuple(lst.holder for lst in lsts if lst.holder),
            str(self.forward_target) if self.forward_target else None,
            sum(lst.datagrams for lst in lsts), sum(lst.bytes for lst in lsts),
            sum(lst.truncated for lst in lsts), sum(lst.oversize for lst in lsts), self.kernel_drops(),
            sum(lst.counter("forward_sent") for lst in lsts), sum(lst.counter("forward_dropped") for lst in lsts),
            sum(lst.counter("fragments_lost") for lst in lsts), sum(lst.counter("bad_packets") for lst in lsts),
            tuple(lst.rcvbuf for lst in lsts), queue_dropped=sum(lst.counter("queue_dropped") for lst in lsts),
            stop_dropped=sum(lst.stop_dropped for lst in lsts), exit_dropped=sum(lst.exit_dropped for lst in lsts),
            receiver=ReceiverHealth(next((lst.exit_reason for lst in sorted(lsts, key=lambda lst: not lst.down)
                                          if lst.exit_reason), None),  # a receiver that is down first: it says most
                                    sum(lst.restarts for lst in lsts), sum(lst.down for lst in lsts)),
            agent_socket=self.agent_socket())
