"""A capture's packets kept on disk, indexed: a replay seeks in it without holding it in memory.

Tundra's own captures (a zstd frame per flush) are indexed in place: a block is then a row of consecutive
frames of the capture file itself (frames.py), and nothing is copied. Any other capture (the Agent's one
frame, uncompressed, v1/v2), or the rest of one from a frame that does not fit, is read once by the hardened
CaptureReader and spilled to a private temporary file as independent zstd blocks of at most BLOCK_PACKETS
packets (or BLOCK_BYTES of payload). The index holds, per block: where it is (offset and size, in the spill or
in the capture), its first packet number and its first and last clock. Memory is one small row per block,
plus the one or two blocks last decoded, however long the capture is.

The spill is created already unlinked (tempfile.TemporaryFile), so nothing of it is ever visible on disk
and it goes with the process: on exit, on Ctrl-C, on an internal error, even on SIGKILL.

The clock of a packet is the newest timestamp up to it: it never goes back, so seeking bisects it even in a
merged capture whose timestamps do not; each packet keeps its own timestamp for the engine.
"""

from __future__ import annotations

import bisect
import os
import tempfile
import threading
from array import array
from collections.abc import Callable
from itertools import accumulate, pairwise
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO, TypeVar

import zstandard

from .frames import read_row

Packet = tuple[int, bytes]
_T = TypeVar("_T")

BLOCK_PACKETS = 8192
BLOCK_BYTES = 4 << 20  # a block of 64 KiB datagrams stays small too
_N = array("I", [0]).itemsize
_PAYLOAD = itemgetter(1)


class SpillClosed(Exception):
    """The spill was closed (the replay ended) while it was still being written."""


class Block:
    """One decoded block: each packet's timestamp, clock and payload."""

    __slots__ = ("clocks", "packets")

    def __init__(self, packets: list[Packet], clocks: list[int]) -> None:
        self.packets = packets
        self.clocks = clocks


class Spill:
    """Packets appended in order to a private unlinked file, read back by packet number or by clock."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        # kept open for the life of the spill (closed by close()): no `with` fits
        self._fh = tempfile.TemporaryFile(prefix="tundra-replay-", dir=Path(directory) if directory else None)  # noqa: SIM115
        self._fd = self._fh.fileno()
        os.fchmod(self._fd, 0o600)
        self._cctx = zstandard.ZstdCompressor(level=1)
        self._lock = threading.Lock()  # the index rows and the cache; never held across a read or a write
        self.offsets: list[int] = []
        self.sizes: list[int] = []
        self.skips: list[int] = []  # -1: a block of the spill; else a row of the capture's frames (bytes to skip)
        self._capture: BinaryIO | None = None  # the capture file, read in place (`attach`)
        self.changed = False  # a row read back differs from the index: the capture file was rewritten meanwhile
        self.starts: list[int] = [0]  # packet number of each block's first packet; the last entry is the total
        self.first_clocks: list[int] = []
        self.last_clocks: list[int] = []
        self.spilled_bytes = 0
        self.kept_bytes = 0  # of which checkpoints (`keep`)
        self._clock = -(2**63)
        self._pending: list[Packet] = []
        self._pending_bytes = 0
        self._cache: dict[int, Block] = {}
        self.complete = False  # every packet of the capture is spilled (or indexing stopped for good)
        self._grown = threading.Condition(self._lock)  # notified at each block and at the end
        self._readers = 0  # reads under way: the file closes when the last one ends, never under one
        self._closed = False

    # -- writing (one thread) -------------------------------------------------------------------
    def append(self, packets: list[Packet]) -> None:
        """Add packets after those already spilled (a block is written each time enough are pending)."""
        self._pending += packets  # a reader batch is one 256 KiB chunk: pending stays small
        self._pending_bytes += sum(map(len, map(_PAYLOAD, packets)))
        while len(self._pending) >= BLOCK_PACKETS:
            self._write_block(self._pending[:BLOCK_PACKETS])
            del self._pending[:BLOCK_PACKETS]
            self._pending_bytes = sum(map(len, map(_PAYLOAD, self._pending)))
        if self._pending_bytes >= BLOCK_BYTES:
            self._write_block(self._pending)
            self._pending, self._pending_bytes = [], 0

    def finish(self) -> None:
        """Write what is pending: the spill is complete (also after an error: what is spilled is all there is)."""
        try:
            if self._pending:
                self._write_block(self._pending)
                self._pending, self._pending_bytes = [], 0
        finally:
            with self._grown:
                self.complete = True
                self._grown.notify_all()

    def wait_for(self, count: int, timeout: float | None = None) -> bool:
        """Wait until `count` packets are spilled or the spill is complete; whether that is so."""
        with self._grown:
            return self._grown.wait_for(lambda: self.starts[-1] >= count or self.complete, timeout)

    def attach(self, capture: BinaryIO) -> None:
        """Read rows (`add_row`) from this open capture file; closed with the spill (at once if it is)."""
        with self._lock:
            self._capture = capture
            closed = self._closed
        if closed:
            capture.close()

    def detach(self) -> None:
        """No row came from the attached capture: close it now rather than with the spill."""
        with self._lock:
            capture, self._capture = self._capture, None
        if capture is not None:
            capture.close()

    def add_row(self, offset: int, size: int, skip: int, count: int, first_ts: int, newest_ts: int) -> None:
        """Index `count` packets in place: the frames at [offset, offset + size) of the attached capture."""
        assert not self._pending, "rows come before any spilled block"
        self._index_block(offset, size, skip, count, first_ts, newest_ts)

    def _index_block(self, offset: int, size: int, skip: int, count: int, first_ts: int, newest_ts: int) -> None:
        first = max(self._clock, first_ts)
        self._clock = max(self._clock, newest_ts)
        with self._grown:
            self.offsets.append(offset)
            self.sizes.append(size)
            self.skips.append(skip)
            self.first_clocks.append(first)
            self.last_clocks.append(self._clock)
            self.starts.append(self.starts[-1] + count)
            self._grown.notify_all()

    def _write_block(self, pending: list[Packet]) -> None:
        stamps = array("q", [ts for ts, _ in pending])
        lengths = array("I", [len(d) for _, d in pending])
        blob = self._cctx.compress(b"".join((array("I", [len(pending)]).tobytes(), stamps.tobytes(),
                                             lengths.tobytes(), *(d for _, d in pending))))
        with self._lock:
            offset = self.spilled_bytes
            self.spilled_bytes += len(blob)
        if self._guarded(lambda: os.pwrite(self._fd, blob, offset)) is None:
            raise SpillClosed("the replay closed while indexing")
        self._index_block(offset, len(blob), -1, len(pending), stamps[0], max(stamps))

    # -- reading (any thread) ---------------------------------------------------------------------
    @property
    def count(self) -> int:
        """Packets spilled so far."""
        return self.starts[-1]

    def block(self, b: int) -> Block:
        """Block `b`, decoded (the last two used stay cached)."""
        with self._lock:
            hit = self._cache.get(b)
            offset, size, skip = self.offsets[b], self.sizes[b], self.skips[b]
        if hit is not None:
            return hit
        if skip >= 0:
            return self._row(b, offset, size, skip)
        data = self._pread(size, offset)
        if data is None:
            return Block([], [])  # closed: a background scan still running finds nothing more
        raw = zstandard.ZstdDecompressor().decompress(data)
        n = int.from_bytes(raw[:_N], "little")
        stamps = array("q")
        stamps.frombytes(raw[_N : _N + 8 * n])
        lengths = array("I")
        lengths.frombytes(raw[_N + 8 * n : _N + 12 * n])
        base = _N + 12 * n
        ends = list(accumulate(lengths, initial=base))
        payloads = [raw[i:j] for i, j in pairwise(ends)]
        tss = stamps.tolist()
        return self._cached(b, list(zip(tss, payloads, strict=True)), tss)

    def _row(self, b: int, offset: int, size: int, skip: int) -> Block:
        """Block `b`, a row of the capture's own frames, read back in place."""
        capture = self._capture
        count = self.starts[b + 1] - self.starts[b]
        packets = (self._guarded(lambda: read_row(capture.fileno(), offset, size, skip, count))
                   if capture is not None else None)
        if packets is None:  # closed, or the file was rewritten: nothing more to play from it
            self.changed = self.changed or not self._closed
            return Block([], [])
        return self._cached(b, packets, [ts for ts, _ in packets])

    def _cached(self, b: int, packets: list[Packet], tss: list[int]) -> Block:
        clocks = list(accumulate(tss, max, initial=self._start_clock(b)))[1:]
        block = Block(packets, clocks)
        with self._lock:
            if len(self._cache) >= 2:
                self._cache.pop(next(iter(self._cache)))
            self._cache[b] = block
        return block

    # -- other state kept beside the packets (engine checkpoints) --------------------------------------
    def keep(self, data: bytes) -> tuple[int, int] | None:
        """Append `data` (compressed) after everything else; where it is, for `kept` (None: closed). Any thread."""
        blob = self._cctx_for_kept().compress(data)
        with self._lock:
            offset = self.spilled_bytes
            self.spilled_bytes += len(blob)  # reserved: another writer appends after it
            self.kept_bytes += len(blob)
        if self._guarded(lambda: os.pwrite(self._fd, blob, offset)) is None:
            return None
        return offset, len(blob)

    def kept(self, where: tuple[int, int]) -> bytes | None:
        """What `keep` stored at `where`; None once the spill is closed."""
        data = self._pread(where[1], where[0])
        return None if data is None else zstandard.ZstdDecompressor().decompress(data)

    def _cctx_for_kept(self) -> zstandard.ZstdCompressor:
        return zstandard.ZstdCompressor(level=1)  # one per call: compressors are not shared between threads

    def _pread(self, size: int, offset: int) -> bytes | None:
        return self._guarded(lambda: os.pread(self._fd, size, offset))

    def _guarded(self, op: Callable[[], _T]) -> _T | None:
        """Run a read or write of the file unless it is closed (then None); close() waits for the last one."""
        with self._lock:
            if self._closed:
                return None
            self._readers += 1
        try:
            return op()
        finally:
            with self._lock:
                self._readers -= 1
                last = self._closed and not self._readers
            if last:
                self._close_files()

    def _start_clock(self, b: int) -> int:
        return self.last_clocks[b - 1] if b else -(2**63)

    def _block_of(self, i: int) -> int:
        return bisect.bisect_right(self.starts, i) - 1

    def get(self, start: int, end: int) -> list[Packet]:
        """Packets [start, end) by packet number."""
        out: list[Packet] = []
        end = min(end, self.count)
        while start < end:
            b = self._block_of(start)
            first = self.starts[b]
            part = self.block(b).packets[start - first : end - first]
            if not part:
                break  # closed
            out += part
            start += len(part)
        return out

    def clock_at(self, i: int) -> int:
        """The clock of packet `i`."""
        b = self._block_of(i)
        clocks = self.block(b).clocks
        return clocks[i - self.starts[b]] if clocks else self.last_clocks[b]

    def index_at(self, clock: int, lo: int = 0) -> int:
        """Number of packets whose clock is at or before `clock` (at least `lo`)."""
        b = bisect.bisect_right(self.last_clocks, clock)  # blocks before b end at or before `clock`
        if b >= len(self.offsets):
            return max(self.count, lo)
        first = self.starts[b]
        clocks = self.block(b).clocks or [clock]  # closed: as if the whole block were played
        return max(first + bisect.bisect_right(clocks, clock), lo)

    def blocks(self) -> range:
        """The numbers of the blocks spilled so far."""
        return range(len(self.offsets))

    def close(self) -> None:
        """Close the file (it has no name: that frees its space), once no read is under way. Idempotent."""
        with self._lock:
            now = not self._closed and not self._readers
            self._closed = True
            self._cache.clear()
        if now:
            self._close_files()

    def _close_files(self) -> None:
        self._fh.close()
        if self._capture is not None:
            self._capture.close()
