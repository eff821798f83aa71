"""One listening socket of the live tap, read by its receiver process, and its orderly stop.

A stop is bounded in time and loses nothing silently. First the socket's receive buffer shrinks to the
minimum, so its queue can only empty (what arrives from then on is a kernel drop, counted), and the
receiver is told to stop: it drains the queue into its pipe backlog (counting what the backlog refuses)
and exits once that backlog is written. Until the stop's deadline what is in flight moves on into
`pending` (bounded as ever) for ingest, also after the stop; past the deadline the pipe's remaining bytes
are thrown away. Whatever is never unpacked (thrown away, or still pending when ingest ends) is counted
as `stop_dropped`, by difference: the receiver's `queued` minus the datagrams unpacked here, plus whatever
is still in the socket's queue at close. Kernel drops are read just before the socket closes.

A receiver that exits on its own (killed, out of memory, a crash) is seen at once: its pipe ends. The
listener then starts another on the same socket (still bound here, so the kernel kept queueing; what
overflowed is a kernel drop), at most RESTARTS_PER_MINUTE times a minute; past that the receiver stays
down and the status says so (`down`, `exit_reason`). What the dead one had taken but not shipped (its
backlog, a batch cut short) is counted as `exit_dropped` once ingest reaches the end of its stream.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import os
import socket
import subprocess
import threading
import time
from typing import Any

from . import passive, procnet
from .base import Packet, PortBusy, SourceError
from .binding import no_privilege, remove_stale_socket
from .child import ChildFailed, ReceiverChild, exit_reason, receiver_args
from .kernel import count_queued, grow_rcvbuf, udp_drops
from .receiver import COUNTERS, FRAME, RECV_BUFFER, SIZE, STOP_SIGNAL
from .urls import Address

AGENT_BUFFER = 8192  # dogstatsd_buffer_size: the Agent truncates larger datagrams
RECEIVER_LOOP: str | None = None  # "plain": the portable loop even where recvmmsg exists (tests)
RECEIVER_BACKLOG: int | None = None  # bytes the receiver may queue for us (None: its MAX_BACKLOG; tests set less)
MAX_PENDING_BYTES = 64 << 20  # pipe bytes waiting for ingest; past this the pipe is left to fill
READ_BYTES = 1 << 20  # one pipe read, and about what one take() unpacks
# a receiver that exits on its own is started again, this many times in any minute at most: a crash loop (or
# the OOM killer picking it again and again) must not spin; past that it stays down and the status says so
RESTARTS_PER_MINUTE = 3
KILL_GRACE_S = 5.0  # past the stop's deadline, how long a receiver may take to exit before it is killed


class Listener:
    """One socket (bound, or a packet socket watching a held port) and its receive thread.

    `passive`: None lets a busy UDP port be watched passively, True always watches, False never does."""

    def __init__(self, address: Address, sink: collections.deque[bytes | int], wake: threading.Event,
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
        self.pending, self._wake = sink, wake  # pending: raw pipe chunks; an int ends a dead receiver's stream
        self._carry = b""
        self._child: ReceiverChild | None = None
        self._proc: Any = None
        # (the counters of the receivers that ended, the running one): swapped whole, so never counted twice
        self._tally: tuple[dict[str, int], ReceiverChild | None] = (dict.fromkeys(COUNTERS, 0), None)
        self.restarts = 0  # receivers started again after exiting on their own
        self._restarted_at: list[float] = []
        self.exit_reason: str | None = None  # how the last receiver that exited on its own ended
        self.down = False  # it exited and was not started again: nothing more is received here
        self._unshipped = 0  # datagrams a dead receiver had shipped part way, or not at all (ingest's count)
        self._unqueued = 0  # datagrams a dead receiver took from the socket and never queued (the pipe thread's)
        self._stream_start = 0  # `datagrams` when the current receiver's stream began (ingest's)
        self._ended_queued = 0  # `queued` of the streams ingest saw end
        self._packet_drops = 0
        self._final: dict[str, int | None] | None = None  # counters read just before the socket closed
        self._stopping = False
        self._killed = False  # close() killed the receiver past the stop's deadline: not an exit of its own
        self._discard = False  # past the stop's deadline: pipe bytes are thrown away (and counted by difference)
        self.left = 0  # datagrams still in the socket's queue at close (counted there, never read)
        self.appended = self.taken = 0  # pipe bytes put in `pending` (pipe thread) and taken from it (ingest)
        if passive:
            self._sock = self._watch(address)
        else:
            self._sock = self._bind(address, auto_passive=passive is None and forward is None)
        self._thread = threading.Thread(target=self._run, name=f"tundra-recv {self.address}", daemon=True)

    def _bind(self, addr: Address, auto_passive: bool = False) -> socket.socket:
        if addr.scheme == "unix":
            if os.path.exists(addr.host):
                remove_stale_socket(addr.host)
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
                    raise PortBusy(f"cannot listen on {addr}: port {addr.port} is busy "
                                   "(is a Datadog Agent there? drop --forward to watch it passively, "
                                   "use --listen udp://127.0.0.1:0, or put tundra in front with --forward)",
                                   addr.port or 0) from None
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
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        """Start a receiver on the socket and wait for its "ready" (SourceError if it never says it)."""
        port = self.address.port if self.mode == "passive" else None
        args = receiver_args(port, self.forward, RECEIVER_LOOP, RECEIVER_BACKLOG)
        child = ReceiverChild(self._sock.fileno(), args, str(self.address))
        self._proc = child.proc  # before "ready": a stop that gives up on the receiver kills this one too
        if self._killed:  # it gave up as this one started (it set _killed, then killed the _proc it saw)
            child.proc.kill()
        child.wait_ready()
        self._child = child
        self._tally = (self._tally[0], child)
        if self._stopping:  # a stop began while it started: it must hear it (it listens for it only now)
            with contextlib.suppress(OSError):
                os.kill(child.proc.pid, STOP_SIGNAL)

    def _ended(self) -> bool:
        """The receiver's pipe ended: True if another receiver now reads the socket. Unless stopping, the dead
        one's stream is closed off for ingest (its unshipped datagrams are counted there) and it is restarted,
        RESTARTS_PER_MINUTE times a minute at most."""
        child = self._child
        assert child is not None
        returncode = child.proc.wait()
        counts = child.counts()  # final: it has exited. Tallied even when a stop began as it died on its own
        self._tally = ({name: self._tally[0][name] + counts[name] for name in COUNTERS}, None)
        self._child = None
        child.close()
        if not self._killed and (returncode != 0 or not self._stopping):  # a stop's receiver exits 0
            self.exit_reason = exit_reason(returncode)
        if self.mode != "passive":  # (a packet socket's packets are not all datagrams)
            self._unqueued += max(counts["received"] - counts["queued"] - counts["queue_dropped"], 0)
        if self._stopping:  # no end mark: what its stream never delivered is stop_dropped, by difference
            return False
        self.pending.append(counts["queued"])  # after its last bytes: ingest counts what never came
        self._wake.set()
        while not self._stopping:
            now = time.monotonic()
            self._restarted_at = [t for t in self._restarted_at if now - t < 60]
            if len(self._restarted_at) >= RESTARTS_PER_MINUTE:
                break
            self._restarted_at.append(now)
            try:
                self._spawn()
            except ChildFailed as exc:  # it died starting: another try, within the same limit
                if not self._stopping:  # (a stop may have killed it)
                    self.exit_reason = exit_reason(exc.returncode)
                continue
            except OSError:  # no fds, processes or memory to start it now: the same (the condition may pass)
                continue
            self.restarts += 1
            return True
        self.down = not self._stopping
        return False

    def _run(self) -> None:
        """Move raw pipe bytes, up to a megabyte a read; framing is undone later on the ingest side.

        One read per megabyte matters: each read gives up the GIL and must win it back from
        the ingest thread, so small reads would throttle the pipe and stall the receiver.
        Past MAX_PENDING_BYTES the pipe is left to fill (the receiver counts what its bounded
        backlog refuses), stopping or not; after a discard, bytes are read and thrown away."""
        while self._read_pipe():  # to the end of each receiver's pipe; another may take over
            pass

    def _read_pipe(self) -> bool:
        assert self._child is not None
        fd = self._child.pipe.fileno()
        sink, wake = self.pending, self._wake
        while True:
            if self.appended - self.taken >= MAX_PENDING_BYTES and not self._discard:
                wake.set()
                time.sleep(0.005)
                continue
            try:
                data = os.read(fd, READ_BYTES)
            except OSError:
                data = b""
            if not data:
                return self._ended()
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
            if isinstance(chunk, int):
                self._stream_ended(chunk)
                continue
            took += len(chunk)
            self.unpack(chunk, out)
        self.taken += took

    def _stream_ended(self, queued: int) -> None:
        """A dead receiver's stream ends here: what it took (`queued`) but never shipped whole is counted, and
        a batch it cut short is thrown away (the next receiver's stream starts on a batch)."""
        self._unshipped += max(queued - (self.datagrams - self._stream_start), 0)
        self._ended_queued += queued
        self._stream_start = self.datagrams
        self._carry = b""

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
        ran, child = self._tally
        c = child.counters if child is not None else None
        return ran[name] + (int(c[COUNTERS.index(name)]) if c is not None else 0)

    @property
    def exit_dropped(self) -> int:
        """Datagrams a receiver that died had taken from the socket but not shipped whole."""
        return self._unshipped + self._unqueued

    @property
    def stop_dropped(self) -> int:
        """Datagrams that reached tundra but were never unpacked because the stop's deadline came first, plus
        those still in the socket's queue at close; 0 until closed, final once nothing more is taken."""
        if self._final is None:
            return 0
        unshipped = self.counter("queued") - self._ended_queued - (self.datagrams - self._stream_start)
        return max(unshipped, 0) + self.left

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
        if self._proc is not None and not self._wait(deadline):
            self.discard()
            if not self._wait(time.monotonic() + KILL_GRACE_S):
                self._killed = True
                self._proc.kill()
                self._proc.wait()
                self._thread.join(timeout=KILL_GRACE_S)
        final: dict[str, int | None] = {name: self.counter(name) for name in COUNTERS}
        if self._child is not None and not self._thread.is_alive():  # a reader still in os.read closes its own
            self._child.close()  # (closed under it, the fd number could be reused and another file read)
        self.left = count_queued(self._sock)
        final["kernel_drops"] = self.kernel_drops()  # before the socket goes: its /proc row goes with it
        self._final = final
        self._sock.close()
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
