"""One run of a listener's receiver process: the child, the read end of its pipe, its shared counters.

A receiver can die on its own (the OOM killer, a kill -9, a crash). The listener then starts another on the
same socket, which stayed bound in tundra the whole time, so the kernel kept queueing for it (what overflowed
the socket's buffer is a kernel drop, counted). Each run has its own counters; the listener adds up those of
the runs that ended. What a dead receiver held is counted from them: its backlog (`queued` less what arrived)
and what it took from the socket but never queued (`received` is written first). Only a batch the kernel
handed over in the instant before a kill, before even that count, is lost uncounted: nothing records it.
"""

from __future__ import annotations

import mmap
import os
import select
import signal
import subprocess
import sys
from typing import Any

from . import receiver
from .base import SourceError
from .receiver import COUNTERS, COUNTERS_SIZE, SIZE
from .urls import Address

# a receiver says "ready" well within a second, even on a loaded machine; one that hangs at start (stopped,
# swapped out, stuck in the kernel) is killed past this and counts as a start that failed
READY_TIMEOUT_S = 10.0


class ChildFailed(SourceError):
    """The receiver exited before it said "ready" (`returncode`: how)."""

    def __init__(self, message: str, returncode: int) -> None:
        super().__init__(message)
        self.returncode = returncode


class ReceiverChild:
    """A started receiver process; once it said "ready" (wait_ready) every datagram it takes is shipped or counted."""

    def __init__(self, sock_fd: int, args: list[str], what: str) -> None:
        r, w = os.pipe()
        self._counters_fd, shared = -1, None
        self.counters: memoryview | None = None
        try:  # out of fds, processes or memory (what also kills receivers): nothing of this attempt is kept
            self._counters_fd = _shared_fd()
            os.ftruncate(self._counters_fd, COUNTERS_SIZE)
            shared = mmap.mmap(self._counters_fd, COUNTERS_SIZE)
            self.counters = memoryview(shared).cast("Q")
            argv = [sys.executable, receiver.__file__, f"sock={sock_fd}", f"pipe={w}",
                    f"counters={self._counters_fd}", *args]
            self.proc: Any = subprocess.Popen(argv, pass_fds=(sock_fd, w, self._counters_fd),
                                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL, close_fds=True)
        except BaseException:
            for fd in (r, w, self._counters_fd):
                if fd >= 0:
                    os.close(fd)
            if self.counters is not None:
                self.counters.release()  # nobody else has seen it: the mmap (and the fd it holds) closes now
            if shared is not None:
                shared.close()
            raise
        os.close(w)
        # unbuffered: a buffered read of the 4-byte "ready" could swallow the first batch behind it
        self.pipe = os.fdopen(r, "rb", buffering=0)
        self._what = what

    def wait_ready(self) -> None:
        """Wait for its "ready" (from then on nothing is lost), READY_TIMEOUT_S at most; past that, or if it
        exits first, it is killed and closed: ChildFailed."""
        poller = select.poll()
        poller.register(self.pipe.fileno(), select.POLLIN)
        said = self.pipe.read(4) if poller.poll(READY_TIMEOUT_S * 1000) else b""
        if said != SIZE.pack(0):
            self.proc.kill()
            returncode = self.proc.wait()
            self.close()
            raise ChildFailed(f"cannot listen on {self._what}: the receiver process did not start", returncode)

    def counts(self) -> dict[str, int]:
        """Its counters as they stand (final once it has exited)."""
        c = self.counters
        return {name: int(c[i]) if c is not None else 0 for i, name in enumerate(COUNTERS)}

    def close(self) -> None:
        """Close the pipe and the counters (the process has exited, or is being left to)."""
        self.pipe.close()
        if self.counters is not None:
            self.counters = None
            os.close(self._counters_fd)


def receiver_args(passive_port: int | None, forward: Address | None, loop: str | None,
                  backlog: int | None) -> list[str]:
    """The receiver's options beyond its fds (see receiver.py)."""
    args = []
    if passive_port is not None:
        args.append(f"passive={passive_port}")
    if loop:
        args.append(f"loop={loop}")
    if backlog is not None:
        args.append(f"backlog={backlog}")
    if forward is not None:
        args.append(f"forward=unix:{forward.host}" if forward.scheme == "unix"
                    else f"forward=udp:{forward.host}:{forward.port}")
    return args


def exit_reason(returncode: int) -> str:
    """How a process ended, as the status says it: `killed by SIGKILL`, `exit code 1`."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def _shared_fd() -> int:
    """An fd for the receiver's counters: an anonymous memfd, or an unlinked temporary file elsewhere."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("tundra-counters")
    import tempfile

    fd, path = tempfile.mkstemp(prefix="tundra-counters-")
    os.unlink(path)
    return fd
