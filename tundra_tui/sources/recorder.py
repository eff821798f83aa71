"""Record packets to a capture in a thread of its own, so disk writes never stall the tap."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..capture import CaptureWriter
from ..capture.queued import QueuedWriter
from .base import Packet


class Recorder(QueuedWriter[Packet]):
    """Queue packets; a writer thread appends them to a `.dog` file and flushes every second.

    A write error (ENOSPC and friends) stops the recording with `error` set; the tap goes on.
    """

    def __init__(self, path: str | Path, compress: bool = True, max_queue: int = 1_000_000,
                 transform: Callable[[bytes], bytes] | None = None, overwrite: bool = False,
                 hold: bool = False) -> None:
        self.transform = transform  # e.g. PII masking (--redact-captures), run on the writer thread
        self._writer = CaptureWriter(Path(path), compress=compress, overwrite=overwrite, hold=hold)  # refuses now
        super().__init__(Path(path), max_queue, 0.25, "tundra-record")

    def release(self) -> None:
        """The session started: the file may take its name (a recording made with `hold` keeps its temporary
        one until then, so a start that fails replaces nothing)."""
        self._writer.hold = False

    @property
    def records(self) -> int:
        """Items written (each other one put is counted in `dropped`)."""
        return self.written

    def _write(self, item: Packet) -> None:
        ts, data = item
        self._writer.write(self.transform(data) if self.transform is not None else data, ts)

    def _tick(self) -> None:
        self._writer.maybe_flush()

    def _close(self) -> None:
        self._writer.close()

    def _abandon(self) -> None:
        self._writer.abandon()

    def _durable(self) -> int:
        return self._writer.flushed

    def _where(self) -> Path:
        return self._writer.pending or self.path
