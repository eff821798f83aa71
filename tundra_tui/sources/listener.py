"""One listening socket of the live tap, read by its receiver process, and its orderly stop.

A stop is bounded in time and loses nothing silently. First the socket's receive buffer shrinks to the
minimum, so its queue can only empty (what arrives from then on is a kernel drop, counted), and the
receiver is told to stop: it drains the queue into its pipe backlog (counting what the backlog refuses)
and exits once that backlog is written. Until the stop's deadline what is in flight moves on into
`pending` (bounded as ever) for ingest, also after the stop; past the deadline the pipe's remaining bytes
are thrown away. Whatever is never unpacked (thrown away, or still pending when ingest ends) is counted
as `stop_dropped`, by difference: the receiver's `queued` minus the datagrams unpacked here, plus whatever
is still in the socket's queue at close. Kernel drops are read just before the socket closes.
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

from . import passive, procnet, receiver
from .base import Packet, SourceError
from .kernel import grow_rcvbuf, udp_drops
from .receiver import COUNTERS, COUNTERS_SIZE, FRAME, RECV_BUFFER, SIZE, STOP_SIGNAL
from .urls import Address

AGENT_BUFFER = 8192  # dogstatsd_buffer_size: the Agent truncates larger datagrams
MIRROR_PORT = 8127  # where the Agent's statsd_forward_port mirror is suggested to send
RECEIVER_LOOP: str | None = None  # "plain": the portable loop even where recvmmsg exists (tests)
RECEIVER_BACKLOG: int | None = None  # bytes the receiver may queue for us (None: its MAX_BACKLOG; tests set less)
MAX_PENDING_BYTES = 64 << 20  # pipe bytes waiting for ingest; past this the pipe is left to fill
READ_BYTES = 1 << 20  # one pipe read, and about what one take() unpacks
LEFT_COUNT_MAX = 1 << 18  # at close, at most this many datagrams still queued are counted (a flood chasing: ~0.5 s)


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
        self._carry = b""
        self._proc: Any = None
        self._packet_drops = 0
        self._final: dict[str, int | None] | None = None  # counters read just before the socket closed
        self._stopping = False
        self._discard = False  # past the stop's deadline: pipe bytes are thrown away (and counted by difference)
        self.left = 0  # datagrams still in the socket's queue at close (counted there, never read)
        self.appended = self.taken = 0  # pipe bytes put in `pending` (pipe thread) and taken from it (ingest)
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
        the ingest thread, so small reads would throttle the pipe and stall the receiver.
        Past MAX_PENDING_BYTES the pipe is left to fill (the receiver counts what its bounded
        backlog refuses), stopping or not; after a discard, bytes are read and thrown away."""
        fd = self._pipe.fileno()
        sink, wake = self.pending, self._wake
        while True:
            if self.appended - self.taken >= MAX_PENDING_BYTES and not self._discard:
                wake.set()
                time.sleep(0.005)
                continue
            try:
                data = os.read(fd, READ_BYTES)
            except OSError:
                break
            if not data:
                break
            if self._discard:
                continue
            idle = not sink
            sink.append(data)
            self.appended += len(data)
            if idle:  # Event.set takes a lock: only wake a reader that may be waiting
                wake.set()

    def take(self, out: list[Packet]) -> None:
        """Unpack the oldest waiting chunks, about READ_BYTES of them, into `out`: a read stays bounded however
        far behind ingest is. Only the ingest thread takes; the pipe thread only appends."""
        q, took = self.pending, 0
        while q and took < READ_BYTES:
            chunk = q.popleft()
            took += len(chunk)
            self.unpack(chunk, out)
        self.taken += took

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
        """One of the receiver's COUNTERS (forward_sent, fragments_lost, queued...)."""
        if self._final is not None:
            return self._final.get(name) or 0
        c = self._counters
        return int(c[COUNTERS.index(name)]) if c is not None else 0

    @property
    def stop_dropped(self) -> int:
        """Datagrams that reached tundra but were never unpacked because the stop's deadline came first, plus
        those still in the socket's queue at close; 0 until closed, final once nothing more is taken."""
        if self._final is None:
            return 0
        return max(self.counter("queued") - self.datagrams, 0) + self.left

    def kernel_drops(self) -> int | None:
        """Drops the kernel counted for this socket (UDP or packet socket on Linux), else None."""
        if self._final is not None:
            return self._final["kernel_drops"]
        if self.mode == "passive":
            with contextlib.suppress(OSError):
                self._packet_drops += passive.packet_stats(self._sock)[1]  # reading resets the kernel's count
            return self._packet_drops
        return udp_drops(self._sock) if self.address.scheme == "udp" else None

    def begin_stop(self) -> None:
        """Brake the socket (its queue only empties now; new arrivals are counted kernel drops) and ask the
        receiver to stop once it has shipped what is queued."""
        if self._stopping:
            return
        self._stopping = True
        with contextlib.suppress(OSError):
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 0)  # the kernel's minimum
        if self._proc is not None and self._proc.poll() is None:  # never signal a pid that may be reused
            with contextlib.suppress(OSError):
                os.kill(self._proc.pid, STOP_SIGNAL)

    def close(self, deadline: float | None = None) -> None:
        """Stop: what is in flight moves on for ingest until `deadline` (time.monotonic), then the rest of the
        pipe is thrown away (counted by difference); the counters and kernel drops are read, what is left in
        the socket's queue is counted, and the socket closes."""
        if self._final is not None:
            return
        self.begin_stop()
        deadline = time.monotonic() if deadline is None else deadline
        if self._proc is not None:
            if not self._wait(deadline):
                self.discard()
                if not self._wait(time.monotonic() + 5):
                    self._proc.kill()
                    self._proc.wait()
                    self._thread.join(timeout=5)
            self._pipe.close()
        final: dict[str, int | None] = {name: self.counter(name) for name in COUNTERS}
        self.left = _count_queued(self._sock)
        final["kernel_drops"] = self.kernel_drops()  # before the socket goes: its /proc row goes with it
        self._final = final
        self._sock.close()
        if self._counters is not None:
            self._counters = None
            os.close(self._counters_fd)
        if self.address.scheme == "unix":
            with contextlib.suppress(OSError):
                os.unlink(self.address.host)

    def _wait(self, deadline: float) -> bool:
        """Until `deadline`: the receiver has exited and its pipe is read to the end (what it held now waits in
        `pending`, about MAX_PENDING_BYTES at most: ingest may take it after the stop)."""
        assert self._proc is not None
        try:
            self._proc.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            return False
        if self._thread.is_alive():
            self._thread.join(timeout=max(deadline - time.monotonic(), 0))
            if self._thread.is_alive():
                return False
        return True

    def discard(self) -> None:
        """From now on the pipe's bytes are thrown away, not kept. The chunks already waiting are still a
        prefix of the stream, so they may still be taken; whatever is never unpacked is counted by
        difference (`stop_dropped`)."""
        self._discard = True


def _count_queued(sock: socket.socket) -> int:
    """Count (and take) the datagrams still in a socket's queue, without keeping them."""
    n = 0
    flags = socket.MSG_DONTWAIT | getattr(socket, "MSG_TRUNC", 0)
    buf = bytearray(1)
    recv = sock.recv_into
    with contextlib.suppress(OSError):  # EAGAIN: empty
        while n < LEFT_COUNT_MAX:
            recv(buf, 1, flags)
            n += 1
    return n


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


