"""The receive loop, run as a process of its own so Python work elsewhere never stalls it.

Started as `python receiver.py sock=FD pipe=FD counters=FD [passive=PORT] [forward=TARGET] [loop=plain]`
with the fds inherited; nothing on that command line is secret or lets anyone stop it.
It blocks for a datagram, then takes what is queued with recvmmsg, forwards the batch to the
Agent first (sendmmsg) when asked, and writes it to the pipe as one blob:
`<uint32 blob size>` then per datagram `<int64 receive ns><uint32 real size><the bytes kept>`.
With `passive=PORT` the socket is a packet socket and each packet is cut down to its UDP payload.
SIGUSR1 (only its parent, or root, may send it) stops it after whatever is queued was shipped.
Counters the parent reads (forwarding, bad packets, lost fragments) live in the shared
`counters` file as uint64 words: see COUNTERS.
This file imports nothing from tundra, so the child starts fast.
"""

from __future__ import annotations

import collections
import ctypes
import fcntl
import itertools
import mmap
import os
import signal
import socket
import struct
import sys
import time
from typing import Any

if __package__:
    from . import forward, mmsg, passive
else:  # run as a script: siblings are plain modules on sys.path[0]
    import forward  # type: ignore[no-redef]
    import mmsg  # type: ignore[no-redef]
    import passive  # type: ignore[no-redef]

RECV_BUFFER = 65536
FRAME = struct.Struct("<qI")
SIZE = struct.Struct("<I")
COUNTERS = ("forward_sent", "forward_dropped", "fragments_lost", "bad_packets", "reassembled", "queue_dropped",
            "queued",  # queued: datagrams taken into the pipe's backlog (shipped, or still waiting to be)
            "received")  # datagrams (packets, when passive) taken from the socket: written first, so a receiver
# killed mid-batch leaves what it held countable (received - queued - queue_dropped)
COUNTERS_SIZE = 8 * 8
STOP_SIGNAL = signal.SIGUSR1
IDLE_WAKE_S = 0.2  # SO_RCVTIMEO: a stop signal that lands just before a blocking call is seen this soon
# On stop the parent shrinks the socket's buffer first, so the queue only empties (what arrives then is a
# counted kernel drop); a unix socket has no such brake: this many more recvmmsg calls at most.
DRAIN_ROUNDS = 4096
MAX_BACKLOG = 64 << 20  # bytes waiting for a parent that does not read: past this, batches are dropped and counted


class _Stop:
    """Set by the stop signal; read by the loop between system calls."""

    requested = False

    @classmethod
    def handler(cls, signum: int, frame: Any) -> None:
        cls.requested = True


def receive(ring: mmsg.Ring, out: _PipeWriter, counters: memoryview, port: int | None,
            fwd: forward.Sender | None) -> None:
    """Receive, forward and ship until stopped, then ship what is still queued."""
    view, slot, words = ring.view, ring.slot, ring.words
    stride, len_at, flags_at = ring.stride, ring.len_at, ring.flags_at
    pack, clock, fsize = FRAME.pack, time.time_ns, FRAME.size
    decoder = passive.Decoder(port) if port is not None else None
    lengths = fwd.lengths if fwd is not None else None
    draining = received = 0
    while True:
        if _Stop.requested and not draining:
            draining = 1
        if out.queue or draining:  # data waits for the pipe (or we are stopping): never sleep in the socket
            n = ring.recv(mmsg.MSG_DONTWAIT)
            if n == -mmsg.EAGAIN:
                if draining:
                    break
                out.flush()
                if out.queue:
                    time.sleep(0.0005)
                continue
            draining += 1 if draining else 0
            if draining > DRAIN_ROUNDS:
                break
        else:
            n = ring.recv(mmsg.MSG_WAITFORONE)
        if n < 0:
            if n in (-mmsg.EINTR, -mmsg.EAGAIN):  # a signal, or the idle wake-up
                continue
            raise OSError(-n, os.strerror(-n))
        received += n
        counters[7] = received
        now = clock()
        parts: list[bytes | memoryview] = [b""]
        total = 0
        for i in range(n):
            length = words[i * stride + len_at]
            off = i * slot
            if decoder is None:
                data: bytes | memoryview = view[off : off + length]
                real = length + 1 if (words[i * stride + flags_at] & mmsg.MSG_TRUNC) and length == slot else length
                if lengths is not None:
                    lengths[i] = length
            elif view[off] == 0x45 and not (view[off + 6] & 0x3F or view[off + 7]) and length >= 28:
                ulen = (view[off + 24] << 8) | view[off + 25]  # plain IPv4, the common case, inline
                if ulen < 8 or 20 + ulen > length:
                    decoder.bad += 1
                    continue
                data = view[off + 28 : off + 20 + ulen]
                real = ulen - 8
            else:
                got = decoder.payload(view[off : off + length])
                if got is None:
                    continue
                data, real = got, len(got)
            parts.append(pack(now, real))
            parts.append(data)  # no copy: writev gathers straight from the slots
            total += fsize + len(data)
        if fwd is not None and n:
            fwd.send(n)  # the Agent's copy goes first: nothing after this point can delay it
            counters[0], counters[1] = fwd.sent, fwd.dropped
        if decoder is not None:
            counters[2], counters[3], counters[4] = decoder.fragments_lost, decoder.bad, decoder.reassembled
        if total:
            parts[0] = SIZE.pack(total)
            out.put(b"".join(parts), len(parts) // 2)  # one copy: the slots are reused by the next call
            counters[5], counters[6] = out.dropped, out.queued
    if decoder is not None:
        decoder.expire()  # what is still in pieces now never will be whole
        counters[2] = decoder.fragments_lost
    out.close()


def receive_plain(sock: socket.socket, out: _PipeWriter, counters: memoryview, target: str | None) -> None:
    """Where there is no recvmmsg (not Linux): a blocking receive, then what is queued without blocking.

    SO_RCVTIMEO wakes the blocking call now and then, so a stop is seen within IDLE_WAKE_S."""
    buf = bytearray(RECV_BUFFER)
    view = memoryview(buf)
    trunc = getattr(socket, "MSG_TRUNC", 0)
    fwd, dest = _plain_forward(target) if target else (None, "")
    sent = dropped = received = 0
    while True:
        try:
            n = sock.recv_into(buf, 0, trunc)
        except (BlockingIOError, TimeoutError, InterruptedError):
            if _Stop.requested:
                break
            continue
        parts: list[bytes] = []
        while True:
            received += 1
            counters[7] = received
            kept = min(n, RECV_BUFFER)
            if fwd is not None:
                try:
                    fwd.sendto(view[:kept], dest)
                    sent += 1
                except OSError:  # absent or not reading: counted, never retried
                    dropped += 1
            parts += [FRAME.pack(time.time_ns(), n), bytes(view[:kept])]
            if len(parts) >= 2 * mmsg.VLEN:
                break
            try:
                n = sock.recv_into(buf, 0, trunc | socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
        counters[0], counters[1] = sent, dropped
        blob = b"".join(parts)
        out.put(SIZE.pack(len(blob)) + blob, len(parts) // 2)
        counters[5], counters[6] = out.dropped, out.queued
        out.flush()
    out.close()


def _plain_forward(target: str) -> tuple[socket.socket, str | tuple[str, int]]:
    scheme, _, rest = target.partition(":")
    if scheme == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.setblocking(False)
        return s, rest
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    return s, (host, int(port))


class _PipeWriter:
    """Batches wait here until the pipe takes them: writes never block, so a slow reader
    never stalls the receive loop (and no thread fights it for the GIL). The wait is bounded
    (MAX_BACKLOG bytes): a parent that stops reading costs counted datagrams, not memory."""

    def __init__(self, fd: int, max_backlog: int = MAX_BACKLOG) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self.queue: collections.deque[memoryview] = collections.deque()
        self.backlog = 0  # bytes in the queue
        self.max_backlog = max_backlog
        self.dropped = 0  # datagrams in batches refused because the backlog was full
        self.queued = 0  # datagrams in batches taken (each one is either read by the parent or counted by it)

    def put(self, batch: bytes, datagrams: int) -> None:
        """Queue one framed batch of `datagrams` datagrams (or count them dropped) and write what fits."""
        if self.backlog + len(batch) > self.max_backlog:
            self.flush()
            if self.backlog + len(batch) > self.max_backlog:
                self.dropped += datagrams
                return
        self.queue.append(memoryview(batch))
        self.backlog += len(batch)
        self.queued += datagrams
        self.flush()

    def flush(self) -> None:
        """Write what the pipe will take now."""
        q = self.queue
        while q:
            try:
                written = os.writev(self.fd, list(itertools.islice(q, 512)))  # not list(q): that is O(backlog)
            except BlockingIOError:
                return
            self.backlog -= written
            while q and written >= len(q[0]):
                written -= len(q.popleft())
            if q and written:
                q[0] = q[0][written:]

    def close(self) -> None:
        """Block until everything queued is written."""
        os.set_blocking(self.fd, True)
        self.flush()


def _args(argv: list[str]) -> dict[str, str]:
    return dict(a.split("=", 1) for a in argv if "=" in a)


def main() -> None:
    args = _args(sys.argv[1:])
    sock_fd, pipe_fd, counters_fd = int(args["sock"]), int(args["pipe"]), int(args["counters"])
    port = int(args["passive"]) if "passive" in args else None
    signal.signal(STOP_SIGNAL, _Stop.handler)  # before "ready": the parent only signals after it
    try:
        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL: die with the parent, even a SIGKILLed one
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:
        return  # the parent is already gone
    sock = socket.socket(fileno=sock_fd)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, int(IDLE_WAKE_S * 1e6)))
    counters = memoryview(mmap.mmap(counters_fd, COUNTERS_SIZE)).cast("Q")
    try:
        fcntl.fcntl(pipe_fd, 1031, 1 << 20)  # F_SETPIPE_SZ: room for a whole batch
    except OSError:
        pass
    try:  # emptying the kernel queue beats everything else here; allowed when privileged
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    except OSError:
        pass
    plain = args.get("loop") == "plain" or mmsg.libc_fn("recvmmsg") is None
    if plain and port is not None:
        return  # a packet socket is Linux-only: the parent sees no "ready" and says so
    ring = None if plain else mmsg.Ring(sock_fd, passive.SLOT if port is not None else RECV_BUFFER)
    fwd = forward.Sender(ring, args["forward"]) if "forward" in args and ring is not None else None
    out = _PipeWriter(pipe_fd, int(args.get("backlog", MAX_BACKLOG)))
    os.write(pipe_fd, SIZE.pack(0))  # ready: the parent waits for this before reporting the tap up
    try:
        if ring is None:
            receive_plain(sock, out, counters, args.get("forward"))
        else:
            receive(ring, out, counters, port, fwd)
    except (OSError, KeyboardInterrupt):
        pass
    finally:
        os.close(pipe_fd)


if __name__ == "__main__":
    main()
