"""Replay a `.dog` capture as a Source: paced by its timestamps, or as fast as possible."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..capture import CaptureError, CaptureReader
from .base import Packet, Source, SourceError

MAX_BATCH = 4096


class Replay(Source):
    """Plays a capture. `speed=None` means max speed. Supports pause, seek and loop."""

    def __init__(self, path: str | Path, speed: float | None = 1.0, loop: bool = False,
                 on_warning: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.speed = speed
        self.loop = loop
        self.on_warning = on_warning
        self.label = f"replay {self.path.name}"
        self.packets: list[Packet] = []
        self.times: list[int] = []
        self.pos = 0
        self.paused = False
        self.loops = 0
        self.truncated = False
        self._anchor_wall = 0.0
        self._anchor_ts = 0
        self._stopped = False

    def start(self) -> None:
        """Load the capture into memory (an index for seeking)."""
        try:
            reader = CaptureReader(self.path, self.on_warning)
            self.packets = [(m.timestamp, m.payload) for m in reader]
        except CaptureError as exc:
            raise SourceError(str(exc)) from None
        self.truncated = reader.truncated
        self.times = [ts for ts, _ in self.packets]
        self._reanchor()

    # -- position ---------------------------------------------------------------
    @property
    def start_ns(self) -> int:
        return self.times[0] if self.times else 0

    @property
    def end_ns(self) -> int:
        return self.times[-1] if self.times else 0

    @property
    def position_ns(self) -> int:
        """Capture time of the replay head."""
        if not self.times:
            return 0
        if self.speed is None or self.paused:
            return self.times[min(self.pos, len(self.times) - 1)] if self.pos < len(self.times) else self.end_ns
        return min(self._anchor_ts + int((time.monotonic() - self._anchor_wall) * 1e9 * self.speed), self.end_ns)

    def _reanchor(self, ts: int | None = None) -> None:
        self._anchor_wall = time.monotonic()
        if ts is not None:
            self._anchor_ts = ts
        elif self.pos < len(self.times):
            self._anchor_ts = self.times[self.pos]
        else:
            self._anchor_ts = self.end_ns

    def set_paused(self, paused: bool) -> None:
        """Pause or resume pacing."""
        if not paused and self.paused:
            self._reanchor(self.position_ns if self.pos < len(self.times) else None)
        if paused and not self.paused:
            self._anchor_ts = self.position_ns
        self.paused = paused
        if not paused:
            self._anchor_wall = time.monotonic()

    def set_speed(self, speed: float | None) -> None:
        """Change speed, keeping the current position."""
        here = self.position_ns
        self.speed = speed
        self._reanchor(here)

    def seek_index(self, ts_ns: int) -> int:
        """Index of the first packet at or after `ts_ns`."""
        return bisect.bisect_left(self.times, ts_ns)

    def rewind(self, ts_ns: int) -> None:
        """Move the head so the next packet is the first at or after `ts_ns`."""
        self.pos = self.seek_index(ts_ns)
        self._reanchor(max(ts_ns, self.start_ns))

    # -- Source -----------------------------------------------------------------
    def read(self, timeout: float) -> list[Packet]:
        if self._stopped:
            return []
        if self.pos >= len(self.packets):
            if self.loop and self.packets:
                self.loops += 1
                self.rewind(self.start_ns)
            else:
                time.sleep(min(timeout, 0.05)) if self.speed is not None else None
                return []
        if self.paused:
            time.sleep(min(timeout, 0.05))
            return []
        if self.speed is None:
            end = min(self.pos + MAX_BATCH, len(self.packets))
        else:
            due = self.position_ns
            end = bisect.bisect_right(self.times, due, self.pos)
            if end == self.pos:
                nxt = self.times[self.pos]
                wait = (nxt - due) / 1e9 / self.speed
                time.sleep(max(0.0, min(timeout, wait)))
                end = bisect.bisect_right(self.times, self.position_ns, self.pos)
        batch = self.packets[self.pos : end]
        self.pos = end
        return batch

    @property
    def done(self) -> bool:
        return self._stopped or (not self.loop and self.pos >= len(self.packets))

    def stop(self) -> None:
        self._stopped = True

    def status(self) -> dict[str, Any]:
        return {"kind": "replay", "file": str(self.path), "position_ns": self.position_ns,
                "start_ns": self.start_ns, "end_ns": self.end_ns, "speed": self.speed,
                "paused": self.paused, "index": self.pos, "packets_total": len(self.packets),
                "truncated_file": self.truncated}
