"""The live DogStatsD tap: UDP and unix datagram listeners.

Why a process per socket: the spec's measured table shows the default asyncio datagram
endpoint loses 80%+ of a flood while a blocking loop with a non-blocking drain keeps up,
but only if nothing else wants the GIL. So each socket is bound here (errors are reported
at once) and read by a receiver process (receiver.py, which inherits the fd) that ships
framed batches back over a pipe; a thread unpacks them into a deque the Session drains.
When another process (the Agent) holds the UDP port, the tap can watch it passively instead:
a packet socket sees every datagram to the port while the holder still gets all of them.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import mmap
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from ..model.snapshot import SourceStatus
from . import passive, procnet, receiver
from .base import Packet, Source, SourceError
from .kernel import grow_rcvbuf, udp_drops
from .receiver import COUNTERS, COUNTERS_SIZE, FRAME, RECV_BUFFER, SIZE, STOP_SIGNAL
from .urls import Address

AGENT_BUFFER = 8192  # dogstatsd_buffer_size: the Agent truncates larger datagrams
MIRROR_PORT = 8127  # where the Agent's statsd_forward_port mirror is suggested to send
AGENT_PORT = 8125
RECEIVER_LOOP: str | None = None  # "plain": the portable loop even where recvmmsg exists (tests)
RECEIVER_BACKLOG: int | None = None  # bytes the receiver may queue for us (None: its MAX_BACKLOG; tests set less)
MAX_PENDING_CHUNKS = 64  # pipe reads (<= 1 MiB each) waiting for ingest; past this the pipe is left to fill


def no_privilege(addr: Address, holder: str) -> str:
    """The one line for a held port that may not be watched: both ways out."""
    exe = os.path.realpath(sys.executable)
    return (f"cannot watch {addr} passively: {holder}, and a packet socket needs CAP_NET_RAW. "
            f"Either run as root (sudo) or `setcap cap_net_raw+ep {exe}`; or let the Agent mirror its traffic "
            f"(statsd_forward_host: 127.0.0.1 and statsd_forward_port: {MIRROR_PORT} in datadog.yaml, or "
            f"DD_STATSD_FORWARD_HOST/DD_STATSD_FORWARD_PORT) and run with --listen udp://127.0.0.1:{MIRROR_PORT}")



class Listener:
    """One socket (bound, or a packet socket watching a held port) and its receive thread.

    `passive`: None lets a busy UDP port be watched passively, True always watches, False never does."""

    def __init__(self, address: Address, sink: collections.deque[bytes], wake: threading.Event,
                 forward: Address | None = None, passive: bool | None = False) -> None:
        self.requested = address
        self.address = address
        self.forward = forward
        self.mode = "listen"
        self.holder: dict[str, Any] | None = None
        self.holder_line = ""
        self.datagrams = 0
        self.bytes = 0
        self.truncated = 0
        self.oversize = 0
        self.rcvbuf = 0
        self.pending, self._wake = sink, wake  # pending: raw pipe chunks
        self._stop = False
        self._carry = b""
        self._proc: Any = None
        self._packet_drops = 0
        self._final: dict[str, int | None] | None = None  # counters read just before the socket closed
        self._counters_fd = -1
        self._counters: memoryview | None = None
        if passive:
            self._sock = self._watch(address)
        else:
            self._sock = self._bind(address, auto_passive=passive is None and forward is None)
        self._thread = threading.Thread(target=self._run, name=f"tundra-recv {self.address}", daemon=True)

    def _bind(self, addr: Address, auto_passive: bool = False) -> socket.socket:
        if addr.scheme == "unix":
            if os.path.exists(addr.host):
                _remove_stale_socket(addr.host)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                sock.bind(addr.host)
            except OSError as exc:
                sock.close()
                raise SourceError(f"cannot listen on {addr}: {exc.strerror}") from None
        else:
            family = socket.AF_INET6 if ":" in addr.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.bind((addr.host, addr.port or 0))
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRINUSE:
                    if auto_passive:
                        return self._watch(addr)
                    raise SourceError(f"cannot listen on {addr}: port {addr.port} is busy "
                                      "(is a Datadog Agent there? drop --forward to watch it passively, "
                                      "use --listen udp://127.0.0.1:0, or put tundra in front with --forward)"
                                      ) from None
                raise SourceError(f"cannot listen on {addr}: {exc.strerror or exc}") from None
            host, port = sock.getsockname()[:2]
            self.address = Address("udp", host, port)
        self.rcvbuf = grow_rcvbuf(sock)
        return sock

    def _watch(self, addr: Address) -> socket.socket:
        """A packet socket for datagrams to the port someone else holds (loopback only if that is all it hears)."""
        if addr.scheme != "udp" or not addr.port:
            raise SourceError(f"cannot watch {addr} passively: only a UDP port (not 0) can be watched")
        if self.forward is not None:
            raise SourceError(f"cannot watch {addr} passively and forward: the Agent already gets every datagram")
        self.holder_line, self.holder = procnet.describe_holder(addr.port)
        hosts = self.holder["addresses"] if self.holder else [addr.host]
        local = all(Address("udp", h, addr.port).is_loopback for h in hosts)
        try:
            sock = passive.open_packet_socket(addr.port, "lo" if local else None)
        except PermissionError:
            raise SourceError(no_privilege(addr, self.holder_line)) from None
        except OSError as exc:
            raise SourceError(f"cannot watch {addr} passively: {exc.strerror or exc}") from None
        self.mode = "passive"
        self.rcvbuf = grow_rcvbuf(sock)
        return sock

    def start(self) -> None:
        """Start the receiver process and the thread that unpacks its batches."""
        r, w = os.pipe()
        self._counters_fd = _shared_fd()
        os.ftruncate(self._counters_fd, COUNTERS_SIZE)
        self._counters = memoryview(mmap.mmap(self._counters_fd, COUNTERS_SIZE)).cast("Q")
        sock_fd = self._sock.fileno()
        argv = [sys.executable, receiver.__file__, f"sock={sock_fd}", f"pipe={w}", f"counters={self._counters_fd}"]
        if self.mode == "passive":
            argv.append(f"passive={self.address.port}")
        if RECEIVER_LOOP:
            argv.append(f"loop={RECEIVER_LOOP}")
        if RECEIVER_BACKLOG is not None:
            argv.append(f"backlog={RECEIVER_BACKLOG}")
        if self.forward is not None:
            fwd = self.forward
            argv.append(f"forward=unix:{fwd.host}" if fwd.scheme == "unix" else f"forward=udp:{fwd.host}:{fwd.port}")
        self._proc = subprocess.Popen(argv, pass_fds=(sock_fd, w, self._counters_fd), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)
        os.close(w)
        # unbuffered: a buffered read of the 4-byte "ready" could swallow the first batch behind it
        self._pipe = os.fdopen(r, "rb", buffering=0)
        if self._pipe.read(4) != SIZE.pack(0):  # the receiver's "ready": from now on nothing is lost
            raise SourceError(f"cannot listen on {self.address}: the receiver process did not start")
        self._thread.start()

    def _run(self) -> None:
        """Move raw pipe bytes, up to a megabyte a read; framing is undone later on the ingest side.

        One read per megabyte matters: each read gives up the GIL and must win it back from
        the ingest thread, so small reads would throttle the pipe and stall the receiver."""
        fd = self._pipe.fileno()
        sink, wake = self.pending, self._wake
        while True:
            if len(sink) >= MAX_PENDING_CHUNKS:  # ingest is behind: let the pipe fill, and the receiver
                wake.set()                       # count what its bounded backlog cannot hold
                time.sleep(0.005)
                if not self._stop:
                    continue
            try:
                data = os.read(fd, 1 << 20)
            except OSError:
                break
            if not data:
                break
            idle = not sink
            sink.append(data)
            if idle:  # Event.set takes a lock: only wake a reader that may be waiting
                wake.set()

    def unpack(self, chunk: bytes, out: list[Packet]) -> None:
        """Append the datagrams of whole batches in `chunk` (plus earlier leftovers) to `out`."""
        blob = self._carry + chunk if self._carry else chunk
        append = out.append
        unpack_from, frame = FRAME.unpack_from, FRAME.size
        pos, end = 0, len(blob)
        while pos + 4 <= end:  # batches: <uint32 size><frames>
            (size,) = SIZE.unpack_from(blob, pos)
            if pos + 4 + size > end:
                break
            self._frames(blob, pos + 4, pos + 4 + size, append, unpack_from, frame)
            pos += 4 + size
        self._carry = blob[pos:]

    def _frames(self, blob: bytes, pos: int, end: int, append: Any, unpack_from: Any, frame: int) -> None:
        count = nbytes = 0
        while pos < end:
            ts, n = unpack_from(blob, pos)
            pos += frame
            if n > RECV_BUFFER:  # the receiver marks a datagram cut to our buffer (MSG_TRUNC) one byte past it
                self.truncated += 1
                n = RECV_BUFFER
            elif n > AGENT_BUFFER:
                self.oversize += 1
            data = blob[pos : pos + n]
            pos += n
            count += 1
            nbytes += n
            append((ts, data))
        self.datagrams += count
        self.bytes += nbytes

    def counter(self, name: str) -> int:
        """One of the receiver's COUNTERS (forward_sent, fragments_lost...)."""
        if self._final is not None:
            return self._final.get(name) or 0
        c = self._counters
        return int(c[COUNTERS.index(name)]) if c is not None else 0

    def kernel_drops(self) -> int | None:
        """Drops the kernel counted for this socket (UDP or packet socket on Linux), else None."""
        if self._final is not None:
            return self._final["kernel_drops"]
        if self.mode == "passive":
            with contextlib.suppress(OSError):
                self._packet_drops += passive.packet_stats(self._sock)[1]  # reading resets the kernel's count
            return self._packet_drops
        return udp_drops(self._sock) if self.address.scheme == "udp" else None

    def close(self) -> None:
        """Stop the receiver (it ships what is queued first), take its last batch, read the counters, close."""
        if self._stop:
            return
        self._stop = True
        if self._proc is not None:
            if self._proc.poll() is None:  # never signal a pid that may already belong to someone else
                with contextlib.suppress(OSError):
                    os.kill(self._proc.pid, STOP_SIGNAL)
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._thread.is_alive():
                self._thread.join(timeout=5)
            self._pipe.close()
        final: dict[str, int | None] = {name: self.counter(name) for name in COUNTERS}
        final["kernel_drops"] = self.kernel_drops()  # before the socket goes: its /proc row goes with it
        self._final = final
        self._sock.close()
        if self._counters is not None:
            self._counters = None
            os.close(self._counters_fd)
        if self.address.scheme == "unix":
            with contextlib.suppress(OSError):
                os.unlink(self.address.host)


def _shared_fd() -> int:
    """An fd for the receiver's counters: an anonymous memfd, or an unlinked temporary file elsewhere."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("tundra-counters")
    import tempfile

    fd, path = tempfile.mkstemp(prefix="tundra-counters-")
    os.unlink(path)
    return fd


def _remove_stale_socket(path: str) -> None:
    """Remove a leftover socket file nobody listens on; refuse to touch anything else."""
    import stat

    if not stat.S_ISSOCK(os.stat(path).st_mode):
        raise SourceError(f"cannot listen on unix://{path}: a non-socket file is there")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)  # stale: nobody is bound to it
        return
    finally:
        probe.close()
    raise SourceError(f"cannot listen on unix://{path}: another process is listening there")


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
        """Drain everything received so far (waiting up to `timeout` for something)."""
        if not any(lst.pending for lst in self.listeners):
            self._wake.wait(timeout)
        self._wake.clear()
        out: list[Packet] = []
        for lst in self.listeners:
            q = lst.pending
            for _ in range(len(q)):
                lst.unpack(q.popleft(), out)
        if len(self.listeners) > 1:
            out.sort(key=lambda p: p[0])
        return out

    @property
    def done(self) -> bool:
        return self._stopped and not any(lst.pending for lst in self.listeners)

    def stop(self) -> None:
        """Stop the receivers and close the sockets (counters are kept)."""
        self._stopped = True
        for lst in self.listeners:
            lst.close()
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
            agent_socket=self.agent_socket())
