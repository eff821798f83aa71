"""The live DogStatsD tap: UDP and unix datagram listeners.

Why a process per socket: the spec's measured table shows the default asyncio datagram
endpoint loses 80%+ of a flood while a blocking loop with a non-blocking drain keeps up,
but only if nothing else wants the GIL. So each socket is bound here (errors are reported
at once) and read by a receiver process (receiver.py, which inherits the fd) that ships
framed batches back over a pipe; a thread unpacks them into a deque the Session drains.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import os
import secrets
import socket
import subprocess
import sys
import threading
from typing import Any

from . import receiver
from .base import Packet, Source, SourceError
from .forward import Forwarder
from .kernel import grow_rcvbuf, udp_drops
from .receiver import FRAME, RECV_BUFFER, SIZE
from .urls import Address

AGENT_BUFFER = 8192  # dogstatsd_buffer_size: the Agent truncates larger datagrams


class Listener:
    """One bound socket and its receive thread."""

    def __init__(self, address: Address, sink: collections.deque[bytes], wake: threading.Event,
                 forwarder: Forwarder | None) -> None:
        self.requested = address
        self.address = address
        self.datagrams = 0
        self.bytes = 0
        self.truncated = 0
        self.oversize = 0
        self.rcvbuf = 0
        self.pending, self._wake, self._fwd = sink, wake, forwarder  # pending: raw pipe chunks
        self._stop = False
        self._carry = b""
        self._proc: Any = None
        self._sock = self._bind(address)
        self._thread = threading.Thread(target=self._run, name=f"tundra-recv {self.address}", daemon=True)

    def _bind(self, addr: Address) -> socket.socket:
        if addr.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            if os.path.exists(addr.host):
                _remove_stale_socket(addr.host)
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
                    raise SourceError(f"cannot listen on {addr}: port {addr.port} is busy "
                                      "(is a Datadog Agent there? use --listen udp://127.0.0.1:0, "
                                      "or put tundra in front with --forward)") from None
                raise SourceError(f"cannot listen on {addr}: {exc.strerror or exc}") from None
            host, port = sock.getsockname()[:2]
            self.address = Address("udp", host, port)
        self.rcvbuf = grow_rcvbuf(sock)
        return sock

    def start(self) -> None:
        """Start the receiver process and the thread that unpacks its batches."""
        r, w = os.pipe()
        self._token = secrets.token_bytes(16)
        sock_fd = self._sock.fileno()
        self._proc = subprocess.Popen([sys.executable, receiver.__file__, str(sock_fd), str(w), self._token.hex()],
                                      pass_fds=(sock_fd, w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, close_fds=True)
        os.close(w)
        self._pipe = os.fdopen(r, "rb", buffering=1 << 20)
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
        fwd = self._fwd
        append = out.append
        unpack_from, frame = FRAME.unpack_from, FRAME.size
        pos, end = 0, len(blob)
        while pos + 4 <= end:  # batches: <uint32 size><frames>
            (size,) = SIZE.unpack_from(blob, pos)
            if pos + 4 + size > end:
                break
            self._frames(blob, pos + 4, pos + 4 + size, append, fwd, unpack_from, frame)
            pos += 4 + size
        self._carry = blob[pos:]

    def _frames(self, blob: bytes, pos: int, end: int, append: Any, fwd: Forwarder | None, unpack_from: Any,
                frame: int) -> None:
        count = nbytes = 0
        while pos < end:
            ts, n = unpack_from(blob, pos)
            pos += frame
            if n > RECV_BUFFER:  # MSG_TRUNC gave the real size of a datagram cut to our buffer
                self.truncated += 1
                n = RECV_BUFFER
            elif n > AGENT_BUFFER:
                self.oversize += 1
            data = blob[pos : pos + n]
            pos += n
            count += 1
            nbytes += n
            append((ts, data))
            if fwd is not None:
                fwd.put(data)
        self.datagrams += count
        self.bytes += nbytes

    def kernel_drops(self) -> int | None:
        """Drops the kernel counted for this socket (UDP on Linux), else None."""
        return udp_drops(self._sock) if self.address.scheme == "udp" else None

    def close(self) -> None:
        """Stop the receiver (it exits on our stop token), take its last batch, close the socket."""
        if self._stop:
            return
        self._stop = True
        if self._proc is not None:
            with contextlib.suppress(OSError):  # datagrams are FIFO: all before the token get shipped
                waker = socket.socket(self._sock.family, socket.SOCK_DGRAM)
                waker.sendto(self._token, self._sock.getsockname())
                waker.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._thread.is_alive():
                self._thread.join(timeout=5)
            self._pipe.close()
        self._sock.close()
        if self.address.scheme == "unix":
            with contextlib.suppress(OSError):
                os.unlink(self.address.host)


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
    """Live DogStatsD from one or more listeners, optionally forwarded to the Agent."""

    def __init__(self, addresses: list[Address], forward: Address | None = None) -> None:
        self.requested = addresses
        self.forward_target = forward
        self.listeners: list[Listener] = []
        self.forwarder: Forwarder | None = None
        self._wake = threading.Event()
        self._stopped = False
        self._drops_base: list[int | None] = []

    @property
    def label(self) -> str:  # type: ignore[override]
        listen = ", ".join(str(lst.address) for lst in self.listeners) or ", ".join(map(str, self.requested))
        return listen + (f" -> {self.forward_target}" if self.forward_target else "")

    @property
    def addresses(self) -> list[Address]:
        """The bound addresses (a port 0 resolved to the chosen one), once started."""
        return [lst.address for lst in self.listeners]

    def start(self) -> None:
        """Bind every listener (all or none) and start receiving."""
        if self.forward_target is not None:
            self.forwarder = Forwarder(self.forward_target)
        try:
            for addr in self.requested:
                self.listeners.append(Listener(addr, collections.deque(), self._wake, self.forwarder))
        except SourceError:
            self.stop()
            raise
        self._drops_base = [lst.kernel_drops() for lst in self.listeners]
        for lst in self.listeners:
            lst.start()

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
        """Close listeners and the forwarder."""
        self._stopped = True
        for lst in self.listeners:
            lst.close()
        if self.forwarder is not None:
            self.forwarder.close()
        self._wake.set()

    def kernel_drops(self) -> int | None:
        """Kernel drops since start, summed over UDP listeners (None if unknown)."""
        total, known = 0, False
        for lst, base in zip(self.listeners, self._drops_base, strict=False):
            now = lst.kernel_drops()
            if now is not None and base is not None:
                total += now - base
                known = True
        return total if known else None

    def status(self) -> dict[str, Any]:
        """Counters for the status bar / JSON."""
        return {
            "kind": "live",
            "listen": [str(lst.address) for lst in self.listeners],
            "forward": str(self.forward_target) if self.forward_target else None,
            "datagrams": sum(lst.datagrams for lst in self.listeners),
            "bytes": sum(lst.bytes for lst in self.listeners),
            "truncated": sum(lst.truncated for lst in self.listeners),
            "oversize": sum(lst.oversize for lst in self.listeners),
            "kernel_drops": self.kernel_drops(),
            "forward_sent": self.forwarder.sent if self.forwarder else 0,
            "forward_dropped": self.forwarder.dropped if self.forwarder else 0,
            "rcvbuf": [lst.rcvbuf for lst in self.listeners],
        }
