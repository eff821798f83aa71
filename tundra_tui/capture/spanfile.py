"""The `.spans` sidecar beside a `.dog` capture: one JSON object per line, in zstd frames.

Each line is `{"t": receive time in ns, "span": {...}}`. Every flush closes a zstd frame, so a
file cut short by a crash or a kill still reads up to its last whole frame. The `.dog` itself
stays exactly the Agent's format; the sidecar only holds decoded span records, never raw bodies.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from .dogfile import CaptureError, CaptureExists, is_special
from .reader import MAX_RATIO, MIN_BUDGET, open_regular

SUFFIX = ".spans"
STEP = 4096  # compressed bytes fed at a time: zstd's best ratio (~32,000x) makes that at most ~128 MiB out
MAX_LINE = 1024 * 1024  # a longer line is not one tundra wrote: skipped


def sidecar_path(capture: str | os.PathLike[str]) -> Path:
    """Where the span sidecar of `capture` lives: `FILE.spans` beside `FILE`."""
    p = Path(capture)
    return p.with_name(p.name + SUFFIX)


def has_sidecar(capture: str | os.PathLike[str]) -> bool:
    """False when `capture` is a device or FIFO (/dev/null, a pipe): its sidecar would land beside it, in /dev."""
    try:
        mode = os.stat(capture).st_mode
    except OSError:
        return True
    return not (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode))


def refuse_existing(capture: str | os.PathLike[str], overwrite: bool) -> None:
    """CaptureExists if recording `capture` would replace its sidecar, CaptureError if the sidecar's name is a
    folder (checked before the capture is begun)."""
    side = sidecar_path(capture)
    if os.path.isdir(side):
        raise CaptureError(f"cannot record spans to {side}: it is a directory")
    if not overwrite and os.path.lexists(side):
        raise CaptureExists(f"{side} exists; give another name, or --overwrite to replace it")


class SpanFileWriter:
    """Appends span lines; `flush` ends a frame. One thread owns it (see services.spanfeed).

    Like the capture beside it, an existing file is refused (CaptureExists) unless `overwrite`; then the new one
    is written under a temporary name that replaces it at the first flush, so a start that fails keeps it.
    """

    def __init__(self, path: str | os.PathLike[str], overwrite: bool = False, hold: bool = False) -> None:
        self.path = Path(path)
        self.hold = hold  # an existing file is replaced at the first flush once this is cleared
        self._tmp: Path | None = None  # the temporary name that replaces an existing file at the first flush
        self._special = False  # a device or FIFO the user named: never ours to remove
        try:  # its folder is not made: that of the capture beside it, which refuses a missing one
            if is_special(self.path):  # a device or FIFO: written to, never replaced (nor removed)
                fd = os.open(self.path, os.O_WRONLY)
                self._special = True
            elif overwrite and os.path.lexists(self.path):
                fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part", dir=self.path.parent)
                os.fchmod(fd, 0o600)
                self._tmp = Path(tmp)
            else:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CaptureExists(f"{self.path} exists; give another name, or --overwrite to replace it") from None
        except OSError as exc:
            raise CaptureError(f"cannot record spans to {self.path}: {exc.strerror or exc}") from None
        self._raw: BinaryIO = os.fdopen(fd, "wb")
        self._zc = zstandard.ZstdCompressor(level=3)
        self._pending: list[bytes] = []
        self.records = 0
        self.flushed = 0  # records handed to the OS in whole frames (what a failure keeps)
        self.closed = False

    def write(self, ts_ns: int, record: dict[str, Any]) -> None:
        """Queue one record received at `ts_ns` for the next frame."""
        line = json.dumps({"t": ts_ns, "span": record}, separators=(",", ":"), ensure_ascii=False)
        self._pending.append(line.encode("utf-8", "replace") + b"\n")
        self.records += 1

    def flush(self) -> None:
        """Write what is queued as one whole zstd frame."""
        if self._pending:
            self._raw.write(self._zc.compress(b"".join(self._pending)))
            self._pending.clear()
        self._raw.flush()
        if self._tmp is not None and not self.hold:  # the first flush: the new sidecar replaces the old one
            os.replace(self._tmp, self.path)  # forgotten only once done: a failed replace keeps the .part named
            self._tmp = None
        self.flushed = self.records

    def abandon(self) -> None:
        """Close and remove the file: a recording that never got going leaves no sidecar behind (and an existing
        one it was to replace as it was)."""
        if not self.closed:
            self.closed = True
            try:
                self._raw.close()
            except OSError:
                pass
            if self._tmp is None and self._special:
                return
            try:
                os.unlink(self._tmp or self.path)
            except OSError:
                pass

    def close(self) -> None:
        """Flush and close; idempotent."""
        if self.closed:
            return
        self.closed = True
        self.hold = False
        try:
            self.flush()
        finally:
            self._raw.close()


def read_spanfile(path: str | os.PathLike[str]) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
    """Every whole line of a sidecar as (time, record), and whether the file ended mid-frame or mid-line (or
    decompressed past MAX_RATIO times its size, a zstd bomb: read up to there). A FIFO or a device is refused
    (CaptureError): it would block, or never end."""
    try:
        with open_regular(Path(path)) as fh:
            raw = fh.read()
    except OSError as exc:
        raise CaptureError(f"cannot read {path}: {exc.strerror or exc}") from None
    out, truncated = _whole_frames(raw, max(len(raw) * MAX_RATIO, MIN_BUDGET))
    lines: list[tuple[int, dict[str, Any]]] = []
    for line in bytes(out).split(b"\n"):
        if not line or len(line) > MAX_LINE:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            truncated = True
            continue
        if isinstance(obj, dict) and isinstance(obj.get("t"), int) and isinstance(obj.get("span"), dict):
            lines.append((obj["t"], obj["span"]))
    return lines, truncated


def _whole_frames(raw: bytes, budget: int) -> tuple[bytes, bool]:
    """The content of `raw`'s whole zstd frames, frame by frame: a frame cut short (a crash mid-write) or
    damaged ends it, what came before stands; and whether it ended so, or at `budget` bytes of output."""
    out = bytearray()
    dctx = zstandard.ZstdDecompressor()
    pos = 0
    while pos < len(raw):
        frame, start = dctx.decompressobj(), len(out)
        try:
            while not frame.eof and pos < len(raw) and len(out) <= budget:
                piece = raw[pos:pos + STEP]
                pos += len(piece)
                out += frame.decompress(piece)
        except zstandard.ZstdError:
            del out[start:]
            return bytes(out), True
        if not frame.eof or len(out) > budget:
            del out[start:]
            return bytes(out), True
        pos -= len(frame.unused_data)
    return bytes(out), False
