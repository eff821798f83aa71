"""Read and write the Datadog Agent's `.dog` capture files (v1, v2 read; v3 read and written)."""

from __future__ import annotations

import os
import stat
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import zstandard

from .proto import DogMsg, decode, encode

MAGIC = b"\xd4\x74\xd0\x60"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
VERSION = 3
_U32 = struct.Struct("<I")


class CaptureError(Exception):
    """The file is missing, unreadable or not a capture."""


def header(version: int = VERSION) -> bytes:
    """The 8-byte file header for `version`."""
    return MAGIC + bytes([0xF0 | version, 0xFF, 0x00, 0x00])


class CaptureWriter:
    """Writes a v3 capture. zstd by default; flushes a compressed block every `flush_s` seconds.

    Not thread-safe: one writer thread owns it (see sources.recorder).
    """

    def __init__(self, path: str | os.PathLike[str], compress: bool = True, flush_s: float = 1.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to an existing file
        self._raw: BinaryIO = os.fdopen(fd, "wb")
        self._zw = zstandard.ZstdCompressor(level=3).stream_writer(self._raw, closefd=False) if compress else None
        self._flush_s = flush_s
        self._last_flush = time.monotonic()
        self.records = 0
        self.bytes = 0
        self.closed = False
        self._write(header())

    def _write(self, data: bytes) -> None:
        if self._zw is not None:
            self._zw.write(data)
        else:
            self._raw.write(data)

    def write(self, payload: bytes, ts_ns: int | None = None, pid: int = 0) -> None:
        """Append one datagram received at `ts_ns` (default: now)."""
        rec = encode(DogMsg(ts_ns if ts_ns is not None else time.time_ns(), payload, pid))
        self._write(_U32.pack(len(rec)) + rec)
        self.records += 1
        self.bytes += len(payload)
        self.maybe_flush()

    def maybe_flush(self) -> None:
        """Flush a compressed block if the flush interval has passed."""
        now = time.monotonic()
        if now - self._last_flush >= self._flush_s:
            self.flush()
            self._last_flush = now

    def flush(self) -> None:
        """Push everything written so far to the OS as whole zstd blocks."""
        if self._zw is not None:
            self._zw.flush(zstandard.FLUSH_BLOCK)
        self._raw.flush()

    def close(self) -> None:
        """Write the trailer (separator + empty TaggerState) and close."""
        if self.closed:
            return
        self.closed = True
        try:
            self._write(_U32.pack(0) + _U32.pack(0))
            if self._zw is not None:
                self._zw.flush(zstandard.FLUSH_FRAME)
        finally:
            self._raw.close()


class CaptureReader:
    """Reads any `.dog` file by content. A cut file is read to its last whole record."""

    def __init__(self, path: str | os.PathLike[str], on_warning: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.on_warning = on_warning
        self.version = 0
        self.compressed = False
        self.truncated = False
        self._data = self._load()

    def _load(self) -> bytes:
        try:
            with open(self.path, "rb") as fh:
                raw = fh.read()
        except IsADirectoryError:
            raise CaptureError(f"{self.path}: is a directory, not a capture file") from None
        except OSError as exc:
            raise CaptureError(f"{self.path}: {exc.strerror or exc}") from None
        if raw[:4] == ZSTD_MAGIC:
            self.compressed = True
            raw = self._unzstd(raw)
        if len(raw) < 8 or raw[:4] != MAGIC or raw[4] & 0xF0 != 0xF0:
            raise CaptureError(f"{self.path}: not a DogStatsD capture (.dog) file")
        self.version = raw[4] ^ 0xF0
        if self.version not in (1, 2, 3):
            raise CaptureError(f"{self.path}: unsupported capture version {self.version}")
        return raw

    def _unzstd(self, raw: bytes) -> bytes:
        parts: list[bytes] = []
        dobj = zstandard.ZstdDecompressor().decompressobj()
        try:
            parts.append(dobj.decompress(raw))
            while dobj.eof and dobj.unused_data:  # several frames, as a concatenated file has
                rest = dobj.unused_data
                dobj = zstandard.ZstdDecompressor().decompressobj()
                parts.append(dobj.decompress(rest))
        except zstandard.ZstdError:
            self._truncate("compressed data is damaged")
        return parts[0] if len(parts) == 1 else b"".join(parts)  # one frame: no extra copy

    def _truncate(self, why: str) -> None:
        if not self.truncated and self.on_warning is not None:
            self.on_warning(f"warning: {self.path}: {why}; read up to the last whole record")
        self.truncated = True

    def __iter__(self) -> Iterator[DogMsg]:
        """Yield records with timestamps normalised to nanoseconds."""
        data, pos, end = self._data, 8, len(self._data)
        scale = 1 if self.version >= 3 else 1_000_000_000
        while True:
            if pos + 4 > end:
                if self.version >= 2 or pos != end:
                    self._truncate("capture ends early")
                return
            (length,) = _U32.unpack_from(data, pos)
            pos += 4
            if length == 0:
                return  # separator before the tagger state
            if pos + length > end:
                self._truncate("last record is cut")
                return
            try:
                msg = decode(data[pos : pos + length])
            except (ValueError, IndexError):
                self._truncate("a record is damaged")
                return
            pos += length
            yield msg._replace(timestamp=msg.timestamp * scale)


def read_capture(path: str | os.PathLike[str], on_warning: Callable[[str], None] | None = None) -> list[DogMsg]:
    """All records of a capture, in file order."""
    return list(CaptureReader(path, on_warning))
