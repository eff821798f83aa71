"""Tundra's own captures indexed in place, by zstd frame: nothing copied, memory one row per few frames.

CaptureWriter ends a zstd frame at every flush, and a frame always ends at a record, so each frame
decompresses on its own into whole records. The index pass walks the file's frames by their headers
(RFC 8878: frame header, then block headers up to the last block), decompresses each once to count its
records and find its first and newest timestamps, and keeps per row of consecutive frames: file offset,
compressed size, bytes to skip (the file header, in the first frame), record count, first and newest
timestamp. A seek reads and decompresses only the frames of the row it needs.

A frame that does not fit (over FRAME_BYTES decompressed or FRAME_PACKETS records, a record cut by its
end, damage, the Agent's single frame) ends the in-place part: from that frame on, the capture is read by
the hardened CaptureReader and spilled like any other (spill.py). Bombs are bounded as the reader bounds
them: a window limit, a cap per frame and a budget of decompressed bytes for the whole file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from operator import itemgetter

import zstandard

from .bulk import _HEAD as _RECORD_HEAD
from .bulk import _LENGTHS, _SIZES, _value
from .reader import CHUNK, END, MAX_RATIO, MAX_WINDOW, MIN_BUDGET, CaptureReader, RecordDecoder

FRAME_BYTES = 8 << 20  # a frame decompressing past this is not indexed in place (memory of one decoded row)
FRAME_PACKETS = 65_536
FRAME_COMPRESSED = 4 << 20  # a frame whose end is not found within this is the Agent's one frame: spilled
ROW_PACKETS = 2048  # consecutive small frames share a row until it holds this many records (or ROW_BYTES)
ROW_BYTES = 1 << 20
ZSTD = b"\x28\xb5\x2f\xfd"
_TS = itemgetter(0)


class FrameError(Exception):
    """Not a zstd frame there, or one whose end cannot be found within FRAME_COMPRESSED."""


def frame_end(buf: bytes | memoryview, pos: int) -> int | None:
    """Where the zstd frame (or skippable frame) starting at `pos` ends; None if `buf` ends before it does."""
    head = bytes(buf[pos : pos + 4])
    if len(head) < 4:
        return None
    if head[1:] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50:  # skippable: its size follows the magic
        if len(buf) < pos + 8:
            return None
        return pos + 8 + int.from_bytes(buf[pos + 4 : pos + 8], "little")
    if head != ZSTD:
        raise FrameError("not a zstd frame")
    if len(buf) < pos + 5:
        return None
    fhd = buf[pos + 4]
    if fhd & 0x08:
        raise FrameError("reserved bit set in a zstd frame header")
    single = fhd >> 5 & 1
    fcs = (0 if not single else 1, 2, 4, 8)[fhd >> 6]
    p = pos + 5 + (not single) + (0, 1, 2, 4)[fhd & 3] + fcs
    while True:
        if p - pos > FRAME_COMPRESSED:
            raise FrameError("frame too large to index in place")
        if len(buf) < p + 3:
            return None
        bh = int.from_bytes(buf[p : p + 3], "little")
        kind = bh >> 1 & 3
        if kind == 3:
            raise FrameError("reserved zstd block type")
        p += 3 + (1 if kind == 1 else bh >> 3)
        if bh & 1:  # the last block
            end = p + 4 * (fhd >> 2 & 1)  # and the checksum, if any
            return end if len(buf) >= end else None


class Decompressor:
    """One frame at a time, into at most FRAME_BYTES. Tundra's frames do not say their size, and zstd then
    allocates the whole limit for each: start from the size of the last frame and grow only when it is short."""

    def __init__(self) -> None:
        self._dctx = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW)
        self._cap = 1 << 16

    def __call__(self, frame: bytes) -> bytes:
        """The frame's content (ZstdError if damaged or over FRAME_BYTES)."""
        if zstandard.frame_content_size(frame) > FRAME_BYTES:  # a size in the header is allocated as said
            raise zstandard.ZstdError("frame over the limit")
        while True:
            try:
                raw: bytes = self._dctx.decompress(frame, max_output_size=self._cap)
            except zstandard.ZstdError:
                if self._cap >= FRAME_BYTES:
                    raise
                self._cap = min(self._cap * 8, FRAME_BYTES)
                continue
            self._cap = min(max(self._cap, 2 * len(raw)), FRAME_BYTES)
            return raw


def frames_of(data: bytes) -> list[bytes]:
    """The zstd frames of `data` (a row read back), each decompressed (skippable frames give nothing)."""
    out, pos = [], 0
    decompress = Decompressor()
    while pos < len(data):
        end = frame_end(data, pos)
        if end is None:
            raise FrameError("a frame is cut")
        if data[pos : pos + 4] == ZSTD:
            out.append(decompress(data[pos:end]))
        pos = end
    return out


def read_row(fd: int, offset: int, size: int, skip: int, count: int) -> list[tuple[int, bytes]] | None:
    """The records of a row, read back from the capture; None if the file changed under the replay."""
    data = os.pread(fd, size, offset)
    try:
        frames = frames_of(data)
    except (FrameError, zstandard.ZstdError):
        return None
    records = RecordDecoder()
    out: list[tuple[int, bytes]] = []
    for i, raw in enumerate(frames):
        got, pos, stop = records.decode(raw, skip if i == 0 else 0)
        if not (pos == len(raw) or stop is END):
            return None
        out += got
    return out if len(out) == count else None


def summary(raw: bytes, pos: int) -> tuple[int, int, int] | None:
    """(records, first timestamp, newest timestamp) of a frame that is nothing but whole records in the usual
    layout from `pos` to its end, found in C by bulk.py's split and checks (no Python step per record); None
    when it is not (then the frame is read record by record)."""
    parts = _RECORD_HEAD.split(raw[pos:] if pos else raw)
    n = len(parts) // 4
    if n < 1 or len(parts[0]) != 4:
        return None
    lengths, stamps, fields = parts[1::4], parts[2::4], parts[3::4]
    sizes = [len(p) - 4 for p in parts[4:-1:4]]  # each piece is a payload, then the next record's length
    sizes.append(len(parts[-1]))  # the last payload ends the frame
    if lengths != list(map(_LENGTHS.__getitem__, fields)) or sizes != list(map(_SIZES.__getitem__, fields)):
        return None
    keys = [int.from_bytes(k, "little") for k in stamps]  # a 9-byte varint's bytes order as its value does
    return n, _value(keys[0]), _value(max(keys))


class FrameIndex:
    """The one pass that indexes a capture's frames in place; `add` gets each row, `rest` the offset of the
    first frame that must be read by the reader instead (None: the whole capture is indexed)."""

    def __init__(self, reader: CaptureReader, fd: int, add: Callable[[int, int, int, int, int, int], None],
                 stopped: Callable[[], bool]) -> None:
        self.reader = reader
        self.fd = fd
        self.add = add  # (offset, size, skip, count, first ts, newest ts)
        self.stopped = stopped
        self.size = os.fstat(fd).st_size
        self.budget = max(self.size * MAX_RATIO, MIN_BUDGET)
        self.records = RecordDecoder()
        self.decompress = Decompressor()
        self.rest: int | None = None
        self.frames = 0

    def run(self) -> None:
        """Index frame after frame until the end, the separator or a frame that does not fit (`rest`)."""
        buf, at, pos = b"", 0, 0  # buf holds the file from `at`; pos: the next frame's offset in the file
        row: list[int] = []  # the open row: offset, end, skip, count, first ts, newest ts, decompressed bytes
        while not self.stopped():
            try:
                end = frame_end(buf, pos - at)
            except FrameError:
                self._close(row)
                self.rest = pos
                return
            if end is None:
                more = os.pread(self.fd, CHUNK, at + len(buf))
                if more:
                    buf, at = buf[pos - at :] + more, pos
                    continue
                self._close(row)
                if pos < self.size:
                    self.rest = pos  # a cut frame: the reader reads what it can of it, and says so
                else:
                    self.reader._truncate("capture ends early")  # no separator, as the reader would say
                self.reader.consumed = self.size
                return
            frame = buf[pos - at : end]
            found = self._frame(frame, pos, row)
            if found is None:
                self._close(row)
                self.rest = pos
                return
            pos += len(frame)
            self.reader.consumed = pos
            if found is END:
                self._close(row)
                return

    def _frame(self, frame: bytes, offset: int, row: list[int]) -> str | None:
        """Add one frame to the open row (closing it when full): "" if whole, END at the separator, None if it
        does not fit in place."""
        if frame[:4] != ZSTD:
            return ""  # a skippable frame: nothing in it
        try:
            raw = self.decompress(frame)
        except zstandard.ZstdError:
            return None
        self.budget -= len(raw)
        skip = 8 if offset == 0 else 0  # the file's header, checked when the reader opened it
        if self.budget < 0 or len(raw) < skip:
            return None
        found = summary(raw, skip)
        stop: str | None = None
        if found is None:
            got, pos, stop = self.records.decode(raw, skip)
            if not (pos == len(raw) or stop is END):
                return None
            found = (len(got), got[0][0], max(map(_TS, got))) if got else (0, 0, 0)
        count, first, newest = found
        if count > FRAME_PACKETS:
            return None
        self.frames += 1
        if not row:
            row += [offset, offset, skip, 0, first, -(2**63), 0]
        row[1] = offset + len(frame)
        if count:
            if not row[3]:
                row[4] = first
            row[3] += count
            row[5] = max(row[5], newest)
        row[6] += len(raw)
        if row[3] >= ROW_PACKETS or row[6] >= ROW_BYTES:
            self._close(row)
        return END if stop is END else ""

    def _close(self, row: list[int]) -> None:
        if row and row[3]:
            self.add(row[0], row[1] - row[0], row[2], row[3], row[4], row[5])
        row.clear()
