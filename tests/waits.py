"""Waiting on events, never on the clock: helpers for any test that talks to a thread or a process.

    wait_until(lambda: engine.lines >= 10, "10 lines")    # a cheap condition, polled; fails naming it
    with Tundra("record", str(out), "--listen", "udp://127.0.0.1:0") as child:
        port = child.port()               # the port it bound, read from its "listening"/"recording" line
        ...                               # send traffic
        child.wait_output(r"datagrams 451")   # a line (or progress update) it printed
        result = child.interrupt()        # Ctrl-C: it ends cleanly; result.stdout/.stderr/.returncode
    wait_records(path, 200)               # the capture's flushed blocks hold 200 datagrams

The same in-process (conftest.run_cli), when the process boundary is not the point:
    def user(out: Output) -> None:        # runs on another thread while the command runs on this one
        send(out.port(), 100)             # the port from its line, as above
    res = run_cli("record", str(path), "--listen", "udp://127.0.0.1:0", driver=user)  # then Ctrl-C

Port 0 everywhere: the child reports the port it got, so nothing races for a "free" port and tests
can run side by side. Every wait has a deadline that only a broken build reaches.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tundra_tui.capture import CaptureError, CaptureReader

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 30.0  # reached only when something is broken: then the assertion says what never happened


def _poller(condition: Callable[[], Any], what: str, timeout: float) -> Callable[[], Any]:
    """`condition`'s value at each call; once `timeout` has passed with it still falsy, fails naming `what`."""
    deadline = time.monotonic() + timeout

    def poll() -> Any:
        value = condition()
        if not value and time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        return value

    return poll


def wait_until(condition: Callable[[], Any], what: str = "the condition", timeout: float = TIMEOUT,
               every: float = 0.005) -> Any:
    """Poll `condition` until it is truthy and return its value; fail naming `what` after `timeout`."""
    poll = _poller(condition, what, timeout)
    while not (value := poll()):
        time.sleep(every)
    return value


async def settle(condition: Callable[[], Any], what: str = "the condition", timeout: float = TIMEOUT,
                 every: float = 0.005) -> Any:
    """`wait_until` for a test on the app's own event loop: yields to it between polls, so a frame built in a
    worker thread can arrive and be applied; fails naming `what` after `timeout`."""
    poll = _poller(condition, what, timeout)
    while not (value := poll()):
        await asyncio.sleep(every)
    return value


def capture_records(path: Path) -> int:
    """How many datagrams a capture's flushed blocks hold now (the file may still be growing)."""
    try:
        return sum(1 for _ in CaptureReader(path, lambda _warning: None))
    except CaptureError:  # not created, or its header not written yet
        return 0


def wait_records(path: Path, n: int, timeout: float = TIMEOUT) -> None:
    """Wait until the capture at `path` holds at least `n` datagrams on disk."""
    wait_until(lambda: capture_records(path) >= n, f"{n} records in {path.name}", timeout, every=0.05)


PORT_LINE = r"(?:listening on|recording) udp://[^ ]*:(\d+)"  # printed once the socket is bound and read


class Output(io.StringIO):
    """A command's stderr while it runs in-process (`run_cli(..., driver=...)`): another thread waits for what
    it printed, as it would read a child's."""

    def __init__(self) -> None:
        super().__init__(newline="")
        self._grew = threading.Condition()

    def write(self, s: str) -> int:
        with self._grew:
            n = super().write(s)
            self._grew.notify_all()
        return n

    def wait_output(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        """Wait until a line (or `\\r` progress update) matches `pattern`; return the match."""
        rx = re.compile(pattern)
        found: list[re.Match[str]] = []

        def seen() -> bool:
            found.extend(m for line in re.split(r"[\r\n]", self.getvalue()) if (m := rx.search(line)))
            return bool(found)

        with self._grew:
            if not self._grew.wait_for(seen, timeout):
                raise AssertionError(f"tundra printed no {pattern!r} in {timeout:g}s:\n{self.getvalue()}")
        return found[0]

    def port(self, timeout: float = TIMEOUT) -> int:
        """The UDP port the command is listening on (it prints it once the socket is bound and read)."""
        return int(self.wait_output(PORT_LINE, timeout).group(1))


class Tundra:
    """`tundra ARGS` in a subprocess, as a user runs it, its output read while it runs.

    Use as a context manager: a child still running at the end is killed, so none outlives its test."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen([sys.executable, "-m", "tundra_tui", *args], cwd=ROOT, env=full_env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._out: list[bytes] = []
        self._err: list[bytes] = []
        self._grew = threading.Condition()
        self._readers = [threading.Thread(target=self._read, args=(stream, sink), daemon=True)
                         for stream, sink in ((self.proc.stdout, self._out), (self.proc.stderr, self._err))]
        for t in self._readers:
            t.start()

    def _read(self, stream: Any, sink: list[bytes]) -> None:
        fd = stream.fileno()
        while chunk := os.read(fd, 65536):
            with self._grew:
                sink.append(chunk)
                self._grew.notify_all()
        with self._grew:
            self._grew.notify_all()

    @property
    def stdout(self) -> str:
        return b"".join(self._out).decode(errors="replace")

    @property
    def stderr(self) -> str:
        return b"".join(self._err).decode(errors="replace")

    def wait_output(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        """Wait until stderr has a line (or `\\r` progress update) matching `pattern`; return the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._grew:
            while True:
                for line in re.split(r"[\r\n]", self.stderr):
                    found = rx.search(line)
                    if found:
                        return found
                if self.proc.poll() is not None and not any(t.is_alive() for t in self._readers):
                    raise AssertionError(f"tundra {' '.join(self.args)} exited {self.proc.returncode} before "
                                         f"printing {pattern!r}:\n{self.stderr}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"tundra printed no {pattern!r} in {timeout:g}s:\n{self.stderr}")
                self._grew.wait(min(left, 0.1))

    def port(self, timeout: float = TIMEOUT) -> int:
        """The UDP port the child is listening on (it prints it once the socket is bound and read)."""
        return int(self.wait_output(PORT_LINE, timeout).group(1))

    def finish(self, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Wait for the child to exit by itself; everything it printed."""
        self.proc.wait(timeout)
        for t in self._readers:
            t.join(timeout)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, self.stdout, self.stderr)

    def interrupt(self, sig: int = signal.SIGINT, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Ctrl-C (or `sig`, e.g. SIGTERM), then wait for the child to finish cleanly."""
        self.proc.send_signal(sig)
        return self.finish(timeout)

    def kill(self) -> None:
        """SIGKILL: no chance to clean up (what a crash or the OOM killer does)."""
        self.proc.kill()
        self.finish()

    def __enter__(self) -> Tundra:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.kill()
