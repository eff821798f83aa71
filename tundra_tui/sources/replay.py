"""Replay a `.dog` capture as a Source: paced by its timestamps (any speed), or as fast as possible.

`Replay` keeps the capture on disk, indexed (capture/spill.py): the screen pauses, changes speed and seeks
in it with memory flat in the capture's length.
`ReplayOnce` streams it once at full speed (`stats FILE`, `replay --once`) in flat memory.

Pause, speed changes and seeks keep the capture clock continuous. A seek bumps `generation`,
so a batch read just before it can be recognised as stale by the reader.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from operator import attrgetter
from pathlib import Path

from ..capture import CaptureError, CaptureReader
from ..capture.frames import FrameIndex
from ..capture.reader import open_regular
from ..capture.runs import Runs
from ..capture.spill import BLOCK_PACKETS, Spill, SpillClosed
from ..model.snapshot import ReplayPosition, SourceStatus
from ..text import clean
from .base import Packet, Source, SourceError

MAX_BATCH = 4096
MAX_PACED = 4 * BLOCK_PACKETS
_DATAGRAMS, _NEWEST, _NBYTES = attrgetter("datagrams"), attrgetter("newest_ns"), attrgetter("nbytes")
# one pass: fold once ~8 MiB of datagrams are read, however many lines they hold (the reader hands out a chunk's runs
# and its few leftover records apart: a count of parts would fold three times as often, each slot's sum for few values)
ONCE_BATCH_BYTES = 8 << 20


class Replay(Source):
    """Plays a capture. `speed=None` means max speed."""

    def __init__(self, path: str | Path, speed: float | None = 1.0, loop: bool = False,
                 on_warning: Callable[[str], None] | None = None, spill_dir: str | Path | None = None) -> None:
        self.path = Path(path)
        self.spill_dir = spill_dir  # where the private spill goes (None: $TMPDIR)
        self.speed = speed
        self.loop = loop
        self.on_warning = on_warning
        self.shown = clean(str(self.path))  # as a screen or report shows it: a file name can hold terminal controls
        self.label = f"replay {clean(self.path.name)}"
        self.spill: Spill | None = None
        self._reader: CaptureReader | None = None
        self._starting = True
        self.index_error: str | None = None
        self.frames_in_place = 0  # zstd frames of the capture indexed where they are (none copied to the spill)
        try:
            self._size = self.path.stat().st_size
        except OSError:
            self._size = 0
        self.pos = 0
        self.paused = False
        self.loops = 0
        self.truncated = False
        self.generation = 0
        self.held = False  # a seek is building the engine: no packets handed out
        self.read_generation = 0
        self.read_end = 0
        self._anchor_wall = 0.0
        self._anchor_ts = 0
        self._stopped = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Check the capture and start indexing it into a spill on disk (memory flat in its length); return as
        soon as its first block can play, while the rest is indexed behind it."""
        try:
            reader = CaptureReader(self.path, self._warn)
        except CaptureError as exc:
            raise SourceError(str(exc)) from None
        self.spill = spill = Spill(self.spill_dir)
        self._reader = reader
        threading.Thread(target=self._index, args=(reader, spill), name="tundra-index", daemon=True).start()
        spill.wait_for(1)
        self._starting = False
        self._anchor(self.start_ns)

    def _warn(self, message: str) -> None:
        """A reader warning: said at once while starting; later (the screen is up) it shows as `truncated`."""
        if self._starting and self.on_warning is not None:
            self.on_warning(message)

    def _index(self, reader: CaptureReader, spill: Spill) -> None:
        """The one pass over the capture: its frames indexed in place as far as they fit (tundra's own captures),
        every other packet spilled, block by block; then the spill complete."""
        try:
            rest = self._index_frames(reader, spill) if reader.compressed and reader.version == 3 else 0
            for batch in reader.batches(at=rest) if rest is not None else ():
                if self._stopped:
                    return
                spill.append(batch)
        except SpillClosed:
            return  # the replay ended first
        except Exception as exc:  # the file went away, or a fault: the index ends where it is
            self.index_error = f"indexing stopped: {exc}"
        finally:
            self.truncated = reader.truncated or self.index_error is not None
            try:
                spill.finish()  # the replay plays what is indexed
            except SpillClosed:
                pass

    def _index_frames(self, reader: CaptureReader, spill: Spill) -> int | None:
        """Index the capture's frames in place; where the reader must take over (None: nowhere)."""
        capture = open_regular(self.path)
        spill.attach(capture)
        frames = FrameIndex(reader, capture.fileno(), spill.add_row, lambda: self._stopped)
        frames.run()
        self.frames_in_place = frames.frames
        if not spill.count:
            spill.detach()  # nothing indexed in place (the Agent's one frame): the reader spills it all
        return frames.rest

    @property
    def indexed(self) -> bool:
        """Whether the whole capture is indexed."""
        return self.spill is not None and self.spill.complete

    @property
    def indexed_fraction(self) -> float:
        """How much of the capture file the index covers, 0..1."""
        if self.indexed or self._reader is None:
            return 1.0
        size = self._size or 1
        return min(self._reader.consumed / size, 0.99)

    # -- the capture, by packet number ----------------------------------------------------------
    @property
    def count(self) -> int:
        """Packets in the capture."""
        return self.spill.count if self.spill is not None else 0

    def get(self, start: int, end: int) -> list[Packet]:
        """Packets [start, end), in play order."""
        return self.spill.get(start, end) if self.spill is not None else []

    def clock_at(self, i: int) -> int:
        """Capture clock at packet `i` (the newest timestamp up to it)."""
        return self.spill.clock_at(i) if self.spill is not None else 0

    # -- the capture clock ------------------------------------------------------------
    @property
    def start_ns(self) -> int:
        return self.spill.first_clocks[0] if self.spill is not None and self.spill.count else 0

    @property
    def end_ns(self) -> int:
        return self.spill.last_clocks[-1] if self.spill is not None and self.spill.count else 0

    def _anchor(self, ts: int) -> None:
        self._anchor_ts = ts
        self._anchor_wall = time.monotonic()

    @property
    def position_ns(self) -> int:
        """Capture time of the replay head."""
        if self.speed is None:
            return self.clock_at(self.pos - 1) if self.pos else self.start_ns
        if self.paused:
            return self._anchor_ts
        elapsed = (time.monotonic() - self._anchor_wall) * 1e9 * self.speed
        return min(self._anchor_ts + int(elapsed), self.end_ns)

    def set_paused(self, paused: bool) -> None:
        """Pause or resume, keeping the position."""
        here = self.position_ns  # at max speed, a packet's clock: read before the lock
        with self._lock:
            if paused != self.paused:
                self._anchor(here)
                self.paused = paused

    def set_speed(self, speed: float | None) -> None:
        """Change speed, keeping the position."""
        here = self.position_ns  # at max speed, a packet's clock: read before the lock
        with self._lock:
            self.speed = speed
            self._anchor(here)

    def index_at(self, ts_ns: int) -> int:
        """Number of packets at or before `ts_ns`."""
        return self.spill.index_at(ts_ns) if self.spill is not None else 0

    def hold(self, drop: bool) -> None:
        """Hand out no packets until `release` (a seek is building the engine); `drop`: also the batch read
        just before, as a seek does (its engine is rebuilt from what was fed)."""
        with self._lock:
            self.held = True
            if drop:
                self.generation += 1

    def release(self) -> None:
        """Play on after `hold`."""
        with self._lock:
            self.held = False

    def rewind_to(self, pos: int, ts_ns: int) -> None:
        """Put the head at packet `pos`, at capture time `ts_ns` (clamped to the capture)."""
        with self._lock:
            self.pos = pos
            self._anchor(max(min(ts_ns, self.end_ns), self.start_ns))
            self.generation += 1

    def rewind(self, ts_ns: int) -> int:
        """Put the head at `ts_ns` (clamped); packets up to it count as played. Returns the index."""
        ts_ns = min(ts_ns, self.end_ns)
        pos = self.index_at(ts_ns) if ts_ns >= self.start_ns else 0  # may read the capture: before the lock
        self.rewind_to(pos, ts_ns)
        return pos

    # -- Source -----------------------------------------------------------------------------
    def read(self, timeout: float) -> list[Packet]:
        if self._stopped:
            return []
        if self.held:
            time.sleep(min(timeout, 0.02))
            return []
        if self.pos >= self.count and self.loop and self.count and self.indexed:
            self.loops += 1
            self.rewind(self.start_ns - 1)
        with self._lock:  # where the head is; the capture is read after, with no lock held
            generation, start = self.generation, self.pos
            at = None if self.speed is None or self.paused else self.position_ns
        end = self._end(start, at)
        batch = self.spill.get(start, end) if end > start and self.spill is not None else []
        with self._lock:
            if self.generation != generation or self.pos != start:
                batch = []  # a seek moved the head meanwhile: this read is void
            else:
                self.pos = end
            self.read_generation, self.read_end = self.generation, self.pos
        if not batch and self.speed is not None:
            time.sleep(min(timeout, 0.02))
        elif not batch and self.spill is not None:  # max speed, ahead of the index: wait for it to grow
            self.spill.wait_for(self.pos + 1, timeout)
        return batch

    def _end(self, start: int, at: int | None) -> int:
        """Where a read from packet `start` ends: at capture time `at` (paced; at most a few blocks, so a
        fast-forward is read in bounded steps), or a batch on (`at` None: max speed; or paused)."""
        if start >= self.count or self.spill is None or (at is None and self.speed is not None):
            return start
        if at is None:
            return min(start + MAX_BATCH, self.count)
        return min(self.spill.index_at(at, start), start + MAX_PACED)

    def clock_ns(self) -> int:
        return self.position_ns

    @property
    def done(self) -> bool:
        return self._stopped or (not self.loop and self.indexed and self.pos >= self.count)

    def stop(self) -> None:
        self._stopped = True
        if self.spill is not None:
            self.spill.close()  # a scan still reading it finds nothing more; the file goes with its last read

    def position(self) -> ReplayPosition:
        """Where the head is, at what speed, paused or not."""
        changed = self.spill is not None and self.spill.changed  # rewritten under us: what is left is short
        return ReplayPosition(self.shown, self.position_ns, self.start_ns, self.end_ns, self.speed, self.paused,
                              self.pos, self.count, self.truncated or changed, self.loops)

    def status(self) -> SourceStatus:
        return SourceStatus("replay", self.label, replay=self.position())


class ReplayOnce(Source):
    """One pass over a capture, as fast as the reader can go, a chunk at a time. No seeking."""

    def __init__(self, path: str | Path, on_warning: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.on_warning = on_warning
        self.shown = clean(str(self.path))  # as a screen or report shows it: a file name can hold terminal controls
        self.label = f"replay {clean(self.path.name)}"
        self.reader: CaptureReader | None = None
        self.packets = 0
        self.first_ns = 0
        self.last_ns = 0  # the newest timestamp so far: the capture clock
        self._batches: Iterator[Runs] = iter(())
        self._done = False

    def start(self) -> None:
        try:
            self.reader = CaptureReader(self.path, self.on_warning)
        except CaptureError as exc:
            raise SourceError(str(exc)) from None
        self._batches = self.reader.runs()

    def read(self, timeout: float) -> Runs:  # type: ignore[override]
        """Runs (each second's datagrams as one list of lines) from the next few chunks of the capture."""
        batch = Runs()
        if self._done:
            return batch
        size = 0
        while size < ONCE_BATCH_BYTES:  # big batches: the engine folds its slots once per batch
            part = next(self._batches, None)
            if part is None:
                self._done = True
                break
            batch += part
            size += sum(map(_NBYTES, part))
        if batch:
            if not self.packets:
                self.first_ns = batch[0].first_ns
            self.packets += sum(map(_DATAGRAMS, batch))
            self.last_ns = max(self.last_ns, max(map(_NEWEST, batch)))
        return batch

    def clock_ns(self) -> int:
        return self.last_ns

    @property
    def done(self) -> bool:
        return self._done

    def stop(self) -> None:
        self._done = True
        self._batches = iter(())

    def status(self) -> SourceStatus:
        truncated = self.reader.truncated if self.reader is not None else False
        return SourceStatus("replay", self.label, replay=ReplayPosition(
            self.shown, self.last_ns, self.first_ns, self.last_ns, None, False, self.packets, self.packets,
            truncated, 0))
