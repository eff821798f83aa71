"""Run a command in a real pseudo-terminal of a given size, counting what it writes to the screen."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import threading
import time

_ESCAPES = re.compile(rb"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78])")


def session_cpu(sid: int) -> tuple[float, float]:
    """CPU seconds (user + system) used so far by the processes of session `sid` (a PtyRun child starts one):
    their sum, reaped children included, and that of the first one started that is not `uv` (tundra itself,
    not its price helper). On a loaded machine wall time mostly measures the wait for a core; CPU time, the work."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    first: tuple[int, int, float] | None = None  # (start time, pid, CPU seconds)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                name, _, rest = fh.read().rpartition(b")")
        except OSError:
            continue  # gone meanwhile
        fields = rest.split()  # from the state on: state, ppid, pgrp, session, ...
        if int(fields[3]) != sid:
            continue
        own = (int(fields[11]) + int(fields[12])) / tick
        total += own + (int(fields[13]) + int(fields[14])) / tick
        started = int(fields[19])
        if not name.endswith(b"(uv") and (first is None or (started, int(entry)) < first[:2]):
            first = (started, int(entry), own)
    return total, first[2] if first is not None else 0.0


class PtyRun:
    """A child process on a pty; a thread drains and counts its output, timestamped."""

    def __init__(self, argv: list[str], cols: int = 80, rows: int = 24, env: dict[str, str] | None = None,
                 watch: dict[str, bytes] | None = None) -> None:
        self.watch = {name: re.compile(pat) for name, pat in (watch or {}).items()}
        self.seen: dict[str, float] = {}  # watched pattern -> seconds from spawn until the screen first showed it
        self.seen_cpu: dict[str, tuple[float, float]] = {}  # -> CPU seconds by then: (all its processes, the busiest)
        self.started = time.monotonic()
        self._recent = b""  # the last screen output, escape sequences removed
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
        full_env.update(env or {})
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=full_env,
                                     start_new_session=True)
        os.close(slave)
        self.master = master
        self.chunks: list[tuple[float, int]] = []
        self.tail = b""
        self._stop = False
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._stop:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            now = time.monotonic()
            self.chunks.append((now, len(data)))
            self.tail = (self.tail + data)[-4096:]
            if len(self.seen) < len(self.watch):
                self._recent = (self._recent + _ESCAPES.sub(b"", data))[-8192:]
                for name, pat in self.watch.items():
                    if name not in self.seen and pat.search(self._recent):
                        self.seen[name] = now - self.started
                        self.seen_cpu[name] = session_cpu(self.proc.pid)

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def bytes_between(self, t0: float, t1: float) -> int:
        return sum(n for t, n in self.chunks if t0 <= t < t1)

    def close(self, keys: bytes = b"q", timeout: float = 10) -> int:
        self.send(keys)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._stop = True
        self._thread.join(timeout=2)
        os.close(self.master)
        return rc
