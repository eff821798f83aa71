"""The one Source interface shared by the live tap, capture replay and the demo."""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..model.snapshot import SourceStatus

Packet = tuple[int, bytes]  # (receive time in ns since the epoch, raw datagram)


class SourceError(Exception):
    """A source could not start (busy port, bad path, unreadable file)."""


class PortBusy(SourceError):
    """A UDP port another process holds, where tundra had to bind it itself."""

    def __init__(self, message: str, port: int) -> None:
        super().__init__(message)
        self.port = port


class Source(ABC):
    """Yields batches of packets; the model cannot tell a live tap from a replay."""

    label: str = ""
    stop_grace: float = 0.0  # seconds a stop lets data already received land before counting the rest as dropped

    def start(self) -> None:  # noqa: B027 - optional hook
        """Open sockets/files; raise SourceError with a one-line reason."""

    @abstractmethod
    def read(self, timeout: float) -> list[Packet]:
        """Return the packets available now, waiting up to `timeout` s for the first."""

    @property
    @abstractmethod
    def done(self) -> bool:
        """True when no more packets will come (end of a capture, stopped tap)."""

    def stop(self) -> None:  # noqa: B027 - optional hook
        """Release resources; idempotent."""

    def backlog(self) -> int:
        """Bytes received and waiting to be read (0 where nothing queues)."""
        return 0

    def clock_ns(self) -> int | None:
        """Capture time for a replayed source; None for a live one (the session uses wall time)."""
        return None

    def status(self) -> SourceStatus:
        """Source facts for the status bar and JSON (drops, truncation, position)."""
        return SourceStatus("live", self.label)
