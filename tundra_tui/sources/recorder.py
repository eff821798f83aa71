"""Record packets to a capture in a thread of its own, so disk writes never stall the tap."""

from __future__ import annotations

import collections
import errno
import threading
from collections.abc import Callable
from pathlib import Path

from ..capture import CaptureError, CaptureWriter
from .base import Packet


class Recorder:
    """Queue packets; a writer thread appends them to a `.dog` file and flushes every second.

    A write error (ENOSPC and friends) stops the recording with `error` set; the tap goes on.
    """

    def __init__(self, path: str | Path, compress: bool = True, max_queue: int = 1_000_000,
                 transform: Callable[[bytes], bytes] | None = None, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.transform = transform  # e.g. PII masking (--redact-captures), run on the writer thread
        self.error: str | None = None
        self.dropped = 0
        self._writer = CaptureWriter(self.path, compress=compress, overwrite=overwrite)  # refuses now
        self._queue: collections.deque[Packet] = collections.deque()
        self._max = max_queue
        self._wake = threading.Event()
        self._stop = False
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="tundra-record", daemon=True)
        self._thread.start()

    @property
    def records(self) -> int:
        return self._writer.records

    @property
    def active(self) -> bool:
        return not self._stop and self.error is None

    def put_many(self, packets: list[Packet]) -> None:
        """Queue a batch (dropping, and counting, past the queue limit or after an error)."""
        if not self.active:
            return
        room = self._max - len(self._queue)
        if room < len(packets):
            self.dropped += len(packets) - max(room, 0)
            packets = packets[: max(room, 0)]
        self._queue.extend(packets)
        self._wake.set()

    def _run(self) -> None:
        q, w, transform = self._queue, self._writer, self.transform
        try:
            while True:
                self._wake.wait(0.25)
                self._wake.clear()
                while q:
                    ts, data = q.popleft()
                    w.write(transform(data) if transform is not None else data, ts)
                w.maybe_flush()
                if self._stop and not q:
                    break
            if self._abandoned:
                w.abandon()
            else:
                w.close()
        except (OSError, CaptureError) as exc:
            if isinstance(exc, CaptureError):
                reason = str(exc)
            else:
                reason = "disk full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            self.error = f"recording to {self.path} stopped: {reason}"
            self.dropped += len(q)
            q.clear()
            try:
                w.close()
            except OSError:
                pass

    def abandon(self) -> None:
        """Stop without keeping anything (the session never started): the temporary file goes."""
        self._abandoned = True
        self._stop = True
        self._queue.clear()
        self._wake.set()
        self._thread.join(timeout=10)
        self._writer.abandon()

    def close(self) -> None:
        """Write what is queued, then the trailer."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=10)
