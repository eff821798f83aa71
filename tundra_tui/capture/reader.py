"""Read the Datadog Agent's `.dog` capture files (v1, v2, v3), streaming.

The file is decompressed and decoded a chunk at a time, so memory stays flat however long the
capture is, and freshly freed buffers are reused instead of faulting in new pages.
A cut or damaged file is read to its last whole record, with one warning.

Fast path: a v3 record laid out as the Agent and tundra write it (timestamp, payload size,
payload, nothing after) is recognised by one regex match on the chunk, so the payload is the
only copy made. Anything else goes through the full protobuf decoder. `runs()` goes further for
one-pass readers: whole chunks of such records at once (literal.py, else bulk.py), a second's datagrams as one run.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from .bulk import bulk_runs
from .dogfile import MAGIC, ZSTD_MAGIC, CaptureError
from .literal import literal_runs
from .proto import DogMsg, decode, read_varint
from .runs import Runs, runs_of

CHUNK = 1 << 18  # small enough for malloc to reuse freed chunks, big enough to amortise each read
# A record holds one datagram (at most 64 KiB) and its ancillary data: a length past this is damage or a bomb
# (0xFFFFFFFE would otherwise make the reader buffer the whole file, re-copying it on every read).
MAX_RECORD = 1 << 20
MAX_WINDOW = 1 << 27  # zstd's own default limit, stated: a frame asking more memory to decompress is refused
# Real captures compress 5-50x; a zstd bomb, thousands of times. Past this ratio (or 64 MiB, for tiny files)
# the rest of a compressed capture is refused with one warning, so a small file cannot cost hours or gigabytes.
MAX_RATIO = 1000
MIN_BUDGET = 64 << 20
_U32 = struct.Struct("<I")
# field 1: a 9-byte timestamp varint (any time from 1972 to 2262 in ns); field 2, payload size, and
# field 3, payload length: varints below 2**21
_SMALL = rb"([\x80-\xff]{0,2}[\x00-\x7f])"
_HEAD = re.compile(b"\x08([\x80-\xff]{8}[\x00-\x7f])\x10" + _SMALL + b"\x1a" + _SMALL)
_LOW4 = b"\x80\x80\x80\x80"

Packet = tuple[int, bytes]


class CaptureReader:
    """Reads any `.dog` file by content. Iterate for DogMsg records, or `batches()` for (ts_ns, payload)."""

    def __init__(self, path: str | os.PathLike[str], on_warning: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.on_warning = on_warning
        self.version = 0
        self.compressed = False
        self.truncated = False
        self.consumed = 0  # bytes of the file read so far (how far a pass has got, for a progress figure)
        self._open().close()  # fail now, with one clear line, if it is not a capture

    # -- the byte stream ------------------------------------------------------------------------
    def _open(self, at: int = 0) -> _Stream:
        fh = open_regular(self.path)
        fh.seek(at)
        stream = _Stream(fh, self)
        if at:  # a frame in the middle: no header there (the file's was checked when it was opened)
            stream.head = stream.read()
            return stream
        head = stream.read_at_least(8)
        if len(head) < 8 and _cut_header(stream.magic, head):  # empty, or cut before its first record
            self._truncate("empty file: no records" if not stream.magic else "capture ends before its first record")
            self.version = 3
            stream.head = b""
            return stream
        if len(head) < 8 or head[:4] != MAGIC or head[4] & 0xF0 != 0xF0:
            stream.close()
            raise CaptureError(f"{self.path}: not a DogStatsD capture (.dog) file")
        self.version = head[4] ^ 0xF0
        if self.version not in (1, 2, 3):
            stream.close()
            raise CaptureError(f"{self.path}: unsupported capture version {self.version}")
        stream.head = head
        return stream

    def _truncate(self, why: str) -> None:
        if not self.truncated and self.on_warning is not None:
            tail = "" if "no records" in why else "; read up to the last whole record"
            self.on_warning(f"warning: {self.path}: {why}{tail}")
        self.truncated = True

    # -- records ------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[DogMsg]:
        """Every record, timestamps normalised to nanoseconds."""
        for batch in self._scan(full=True):
            yield from batch  # type: ignore[misc]

    def batches(self, at: int = 0) -> Iterator[list[Packet]]:
        """(ts_ns, payload) of every record, a chunk's worth at a time: the fast way to replay a file. With `at`,
        from the zstd frame at that file offset on (one that starts at a record: see frames.py)."""
        return self._scan(full=False, at=at)  # type: ignore[return-value]

    def runs(self) -> Iterator[Runs]:
        """The records as runs (each second's datagrams as one list of lines), a chunk at a time: the fastest
        one-pass read, with no object per record but its payload."""
        for batch in self._scan(full=False, bulk=True):
            yield batch if type(batch) is Runs else runs_of(batch)  # type: ignore[arg-type]

    def _scan(self, full: bool, bulk: bool = False, at: int = 0) -> Iterator[list[Packet] | list[DogMsg] | Runs]:
        bulk = bulk and not full and self.version >= 3
        records = RecordDecoder(self.version, full)
        with self._open(at) as stream:
            buf = stream.head
            if not buf:
                if at:  # bytes are there, but not one whole record comes out of them
                    self._truncate("capture ends early")
                return  # cut before the first record: nothing to read
            pos = 8 if not at else 0
            while True:
                if bulk:  # as many whole records as possible in one go; the rest of the chunk record by record
                    runs, used = literal_runs(buf, pos)
                    if not used:  # not all small records in the usual layout: the regex split may still do
                        runs, used = bulk_runs(buf, pos)
                    if used:
                        yield Runs(runs)
                        pos += used
                out, pos, stop = records.decode(buf, pos)
                yield out
                if stop is not None:
                    if stop is not END:
                        self._truncate(stop)
                    return
                end = len(buf)
                more = stream.read()
                if not more:
                    if pos + 4 > end:
                        if self.version >= 2 or pos != end:
                            self._truncate("capture ends early")
                    else:
                        self._truncate("last record is cut")
                    return
                glued = _glued(buf[pos:], more, records) if bulk else None
                if glued is not None:  # the cut record completed on its own: the new chunk is read where it is
                    yield glued[0]
                    buf, pos = more, glued[1]
                else:
                    buf = buf[pos:] + more
                    pos = 0


END = "the separator before the tagger state"


def _glued(rest: bytes, more: bytes, records: RecordDecoder) -> tuple[list[Any], int] | None:
    """The record cut by a chunk's end (`rest`) completed from the next chunk (`more`) without joining the two
    (a copy of the whole chunk): its decoded form and where it ends in `more`; None if it does not end whole
    there (then the caller joins them, as for any odd case)."""
    head = rest if len(rest) >= 4 else rest + more[: 4 - len(rest)]
    if len(head) < 4:
        return None
    need = 4 + _U32.unpack_from(head)[0] - len(rest)
    if need <= 0 or need > len(more) or need > MAX_RECORD:
        return None
    out, used, stop = records.decode(rest + more[:need], 0)
    return (out, need) if stop is None and used == len(rest) + need else None


class RecordDecoder:
    """Whole records out of decompressed capture bytes: the one record loop, shared by the reader and by the
    frame index (frames.py), so both find the very same records."""

    def __init__(self, version: int = 3, full: bool = False) -> None:
        self.scale = 1 if version >= 3 else 1_000_000_000
        self.full = full
        self.fast = not full and version >= 3
        self._sizes: dict[bytes, int] = {}
        self._highs: dict[bytes, int] = {}  # the top 5 bytes of a timestamp change every 2**28 ns: decode them once

    def decode(self, buf: bytes, pos: int) -> tuple[list[Any], int, str | None]:
        """Records from `pos` on: (records, where the first one not read starts, why it stopped: None if the
        bytes ran out (what is left is a cut record), END at the separator, else what is wrong there)."""
        match, unpack, from_bytes = _HEAD.match, _U32.unpack_from, int.from_bytes
        sizes, highs, fast, full, scale = self._sizes, self._highs, self.fast, self.full, self.scale
        out: list[Any] = []
        app = out.append
        end = len(buf)
        while pos + 4 <= end:
            (length,) = unpack(buf, pos)
            if length == 0:
                return out, pos, END
            start, stop = pos + 4, pos + 4 + length
            if stop > end:
                if length > MAX_RECORD:
                    return out, pos, f"a record claims {length:,} bytes (over {MAX_RECORD:,})"
                break
            if fast:
                m = match(buf, start, stop)
                if m is not None:
                    tsb, szb, lnb = m.groups()
                    n = sizes.get(lnb)
                    if n is None:
                        n = sizes[lnb] = read_varint(lnb, 0)[0]
                    p = m.end()
                    if p + n == stop and szb == lnb:  # the payload is the last field, and all of it counts
                        hi = highs.get(tsb[4:])
                        if hi is None:
                            if len(highs) > 100_000:
                                highs.clear()
                            hi = highs[tsb[4:]] = read_varint(_LOW4 + tsb[4:], 0)[0]
                        lo = from_bytes(tsb[:4], "little")
                        ts = hi | lo & 0x7F | lo >> 1 & 0x3F80 | lo >> 2 & 0x1FC000 | lo >> 3 & 0xFE00000
                        app((ts, buf[p:stop]))
                        pos = stop
                        continue
            try:
                msg = decode(buf[start:stop])
            except (ValueError, IndexError):
                return out, pos, "a record is damaged"
            pos = stop
            msg = msg._replace(timestamp=msg.timestamp * scale)
            app(msg if full else (msg.timestamp, msg.payload))
        return out, pos, None


class _Stream:
    """The decompressed bytes of an open capture, a chunk at a time; a context manager that closes the file."""

    def __init__(self, fh: BinaryIO, owner: CaptureReader) -> None:
        self.fh = fh
        self.owner = owner
        self.head = b""
        at = fh.tell()
        magic = self.magic = fh.read(4)
        fh.seek(at)
        self.src: Any = fh
        self.budget = -1  # decompressed bytes still allowed (-1: not compressed, no limit)
        if magic == ZSTD_MAGIC:
            self.budget = max(os.fstat(fh.fileno()).st_size * MAX_RATIO, MIN_BUDGET)
            owner.compressed = True
            self.src = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW).stream_reader(
                fh, read_size=CHUNK, read_across_frames=True, closefd=False)

    def read(self) -> bytes:
        if self.src is None:
            return b""
        try:
            data: bytes = self.src.read(CHUNK)
            self.owner.consumed = self.fh.tell()
        except zstandard.ZstdError:
            self.owner._truncate("compressed data is damaged")
            self.src = None  # nothing more can be read past the damage
            return b""
        if self.budget >= 0:
            self.budget -= len(data)
            if self.budget < 0:
                self.owner._truncate(f"it decompresses to over {MAX_RATIO}x its size (a zstd bomb?)")
                self.src = None
                return b""
        return data

    def read_at_least(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            more = self.read()
            if not more:
                break
            data += more
        return data

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_regular(path: Path) -> BinaryIO:
    """Open `path` for reading if it is a regular file: a FIFO, a device or a socket would block or never
    end (and cannot seek), so it gets one clear line instead. O_NONBLOCK: opening a FIFO must not wait."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise CaptureError(f"{path}: is a directory, not a capture file") from None
    except OSError as exc:
        raise CaptureError(f"{path}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a device or socket"
        raise CaptureError(f"{path}: is {what}, not a capture file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _cut_header(magic: bytes, head: bytes) -> bool:
    """An empty file, or one whose (decompressed) start is the beginning of a capture header, cut short."""
    if not magic:
        return True
    if magic != ZSTD_MAGIC and len(magic) < 4 and not MAGIC.startswith(magic):
        return False
    return MAGIC.startswith(head[:4]) and (len(head) < 5 or head[4] & 0xF0 == 0xF0)


def read_capture(path: str | os.PathLike[str], on_warning: Callable[[str], None] | None = None) -> list[DogMsg]:
    """All records of a capture, in file order."""
    return list(CaptureReader(path, on_warning))
