"""Write the Datadog Agent's `.dog` capture files (v3). Reading is in reader.py."""

from __future__ import annotations

import os
import stat
import struct
import tempfile
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


class CaptureExists(CaptureError):
    """Recording would replace an existing file."""


def is_special(path: Path) -> bool:
    """A device or FIFO already there (writing to it replaces no data)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def refuse_folder(path: Path) -> None:
    """CaptureError when `path` is a folder, or its folder is missing or not one: nothing can be written there,
    and saying so before a recording starts leaves every file as it was (--overwrite or not)."""
    try:
        if stat.S_ISDIR(os.stat(path).st_mode):
            raise CaptureError(f"cannot record to {path}: it is a directory; give a file name")
    except (FileNotFoundError, NotADirectoryError):
        pass  # a new file (its folder is looked at next)
    except OSError as exc:
        raise CaptureError(f"cannot record to {path}: {exc.strerror or exc}") from None
    try:
        folder = stat.S_ISDIR(os.stat(path.parent).st_mode)
    except FileNotFoundError:
        raise CaptureError(f"cannot record to {path}: its folder {path.parent} does not exist") from None
    except NotADirectoryError:
        folder = False
    except OSError as exc:
        raise CaptureError(f"cannot record to {path}: {exc.strerror or exc}") from None
    if not folder:
        raise CaptureError(f"cannot record to {path}: its folder {path.parent} is not a directory")


def header(version: int = VERSION) -> bytes:
    """The 8-byte file header for `version`."""
    return MAGIC + bytes([0xF0 | version, 0xFF, 0x00, 0x00])


class CaptureWriter:
    """Writes a v3 capture. zstd by default; each flush (every `flush_s` seconds) ends an independent zstd frame.

    One frame per flushed block keeps the file a single valid zstd stream for the Agent (frames concatenate),
    and lets a reader start decompressing at any frame: a replay seeks by frame (see capture.index).

    A regular file is written under a temporary name in the same folder and takes its real name at the
    first flush (with `hold`, the first once `hold` is cleared), so a recording that fails to start leaves
    every file as it was. An existing file is
    refused (CaptureExists) unless `overwrite`; a device or FIFO (e.g. /dev/null) is written directly.
    Not thread-safe: one writer thread owns it (see sources.recorder).
    """

    def __init__(self, path: str | os.PathLike[str], compress: bool = True, flush_s: float = 1.0,
                 overwrite: bool = False, hold: bool = False) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.hold = hold  # keep the temporary name until cleared (a session not yet started may still fail)
        self._pending: Path | None = None  # the temporary name, until the first flush publishes it
        refuse_folder(self.path)
        try:  # its folder is not made: a mistyped one is an error, not a new folder (the data dir makes its own)
            if is_special(self.path):
                fd = os.open(self.path, os.O_WRONLY)
            else:
                if not overwrite and os.path.lexists(self.path):
                    raise CaptureExists(f"{self.path} exists; give another name, or --overwrite to replace it")
                fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
                os.fchmod(fd, 0o600)
                self._pending = Path(tmp)
        except OSError as exc:
            raise CaptureError(f"cannot record to {self.path}: {exc.strerror or exc}") from None
        self._raw: BinaryIO = os.fdopen(fd, "wb")
        self._zw = zstandard.ZstdCompressor(level=3).stream_writer(self._raw, closefd=False) if compress else None
        self._flush_s = flush_s
        self._last_flush = time.monotonic()
        self.records = 0
        self.flushed = 0  # records handed to the OS in whole frames, under the file's name (what a failure keeps)
        self.bytes = 0
        self.closed = False
        self._unflushed = False  # records written since the last frame ended: an empty frame is never written
        self._write(header())
        self._unflushed = True  # the header goes out in the first frame

    @property
    def pending(self) -> Path | None:
        """The temporary name the file is under until its first flush names it (None once named)."""
        return self._pending

    def _publish(self) -> None:
        """Give the temporary file its real name: never over a file that appeared meanwhile, unless asked."""
        tmp, self._pending = self._pending, None
        if tmp is None:
            return
        try:
            if self.overwrite:
                os.replace(tmp, self.path)
                return
            try:
                os.link(tmp, self.path)  # fails if the name is taken: no window where a file is clobbered
            except FileExistsError:
                raise CaptureExists(f"{self.path} appeared while recording; not replaced") from None
            except OSError:
                if os.path.lexists(self.path):  # a filesystem without hard links
                    raise CaptureExists(f"{self.path} appeared while recording; not replaced") from None
                os.rename(tmp, self.path)
                return
            os.unlink(tmp)
        except BaseException:
            self._discard(tmp)
            raise

    def _discard(self, tmp: Path | None) -> None:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def abandon(self) -> None:
        """Close without publishing: a recording that never got going leaves no file behind."""
        self.closed = True
        tmp, self._pending = self._pending, None
        try:
            self._raw.close()
        except OSError:
            pass
        self._discard(tmp)

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
        self._unflushed = True
        self.maybe_flush()

    def maybe_flush(self) -> None:
        """Flush a compressed block if the flush interval has passed."""
        now = time.monotonic()
        if now - self._last_flush >= self._flush_s:
            self.flush()
            self._last_flush = now

    def flush(self) -> None:
        """Push everything written so far to the OS as a whole zstd frame (the first one names the file)."""
        if self._zw is not None and self._unflushed:
            self._zw.flush(zstandard.FLUSH_FRAME)  # records never straddle frames: each one starts at a record
        self._unflushed = False
        self._raw.flush()
        if self._pending is not None and not self.hold:
            self._publish()
        self.flushed = self.records

    def close(self) -> None:
        """Write the trailer (separator + empty TaggerState) and close."""
        if self.closed:
            return
        self.closed = True
        try:
            self._write(_U32.pack(0) + _U32.pack(0))
            if self._zw is not None:
                self._zw.flush(zstandard.FLUSH_FRAME)
            self._raw.flush()
            if self._pending is not None:
                self._publish()
            self.flushed = self.records
        except BaseException:
            self._discard(self._pending)  # never published: nothing of it should stay behind
            self._pending = None
            raise
        finally:
            self._raw.close()
