"""Write the Datadog Agent's `.dog` capture files (v3). Reading is in reader.py."""

from __future__ import annotations

import os
import stat
import struct
import time
from pathlib import Path
from typing import BinaryIO

import zstandard

from .proto import DogMsg, encode

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
