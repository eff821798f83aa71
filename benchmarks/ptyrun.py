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


class PtyRun:
    """A child process on a pty; a thread drains and counts its output, timestamped."""

    def __init__(self, argv: list[str], cols: int = 80, rows: int = 24, env: dict[str, str] | None = None,
                 watch: dict[str, bytes] | None = None) -> None:
        self.watch = {name: re.compile(pat) for name, pat in (watch or {}).items()}
        self.seen: dict[str, float] = {}  # watched pattern -> seconds from spawn until the screen first showed it
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
