"""Bulk decoding of a chunk of `.dog` records laid out as the Agent and tundra write them, in C.

A v3 record is `<u32 length>` then timestamp (field 1, a 9-byte varint), payload size (field 2), payload
(field 3) and nothing else. One regex split of the chunk at every record head (the length before it, the
timestamp, size and length fields) gives the payloads, each followed by the next record's length. Nothing
from the split is trusted: every record length must be the one its fields imply and every payload exactly
as long as its size says, so a record-by-record read would find the very same records. A payload that
happens to hold a head, a record with another layout, a damaged length: each fails a check, and the chunk is
read record by record instead.

Timestamps stay bytes: a 9-byte varint's little-endian value orders like the number it encodes, so
comparing them finds the second boundaries; only the boundary records' times are decoded.
"""

from __future__ import annotations

import re
import struct
from bisect import bisect_left
from itertools import repeat
from operator import itemgetter
from typing import Literal

from .proto import read_varint
from .runs import NS, Run, joined_run

# a literal first byte (field 1's key) keeps the regex search fast; the length is looked behind for
_HEAD = re.compile(rb"\x08(?<=(.{4})\x08)([\x80-\xff]{8}[\x00-\x7f])"  # record length, timestamp
                   rb"(\x10[\x80-\xff]?[\x00-\x7f]\x1a[\x80-\xff]?[\x00-\x7f])", re.DOTALL)  # size, length
_PAYLOAD = itemgetter(slice(None, -4))  # a piece without the next record's length
_FIRST = itemgetter(0)  # a payload's first byte (a small int: no allocation)
_U32 = struct.Struct("<I")
_LITTLE: Literal["little"] = "little"
_CONTINUED = int.from_bytes(b"\x80" * 8, "little")  # the continuation bits of a 9-byte varint


class _Lengths(dict[bytes, bytes | None]):
    """`size, length` fields -> the record length (u32) of a record whose payload is all it holds; None if size
    and length differ (then the layout is not the usual one). Fills _SIZES (fields -> payload size) as it goes."""

    def __missing__(self, fields: bytes) -> bytes | None:
        size = fields[1:3] if fields[1] & 0x80 else fields[1:2]
        if fields[len(size) + 2 :] != size:
            return None  # not kept: a hostile chunk's size/length pairs (2**28 of them) would fill the caches
        n = _SIZES[fields] = read_varint(size, 0)[0]
        length = self[fields] = _U32.pack(1 + 9 + len(fields) + n)
        return length


_LENGTHS = _Lengths()
_SIZES: dict[bytes, int] = {}


def _value(key: int) -> int:
    """The timestamp whose 9-byte varint has these little-endian bytes."""
    key ^= _CONTINUED
    value = 0
    for shift in range(9):
        value |= (key >> (8 * shift) & 0x7F) << (7 * shift)
    return value


def _key(ts: int) -> int:
    """The little-endian bytes, as a number, of the 9-byte varint of `ts` (2**56 <= ts < 2**63)."""
    key = 0
    for shift in range(9):
        key |= (ts >> (7 * shift) & 0x7F) << (8 * shift)
    return key | _CONTINUED


def bulk_runs(buf: bytes, at: int = 0) -> tuple[list[Run], int]:
    """Runs of the records from `at` in `buf` (all but the last record seen, which may be cut), and how many bytes
    they took: 0 when the chunk is not in the usual layout and must be read record by record. `buf` is split
    whole (a slice from `at` would copy the chunk); what lies before `at` must then hold no record head."""
    parts = _HEAD.split(buf)
    n = len(parts) // 4 - 1  # records that are whole for sure: the last one seen may run past the chunk
    if n < 1 or len(parts[0]) != at + 4:  # the first record starts at `at`
        return [], 0
    lengths, stamps, fields = parts[1:-4:4], parts[2:-4:4], parts[3:-4:4]
    payloads = list(map(_PAYLOAD, parts[4:-4:4]))
    if lengths != list(map(_LENGTHS.__getitem__, fields)) or list(map(len, payloads)) != list(
            map(_SIZES.__getitem__, fields)):
        return [], 0
    runs = second_runs(list(map(int.from_bytes, stamps, repeat(_LITTLE))), payloads)
    if runs is None:
        return [], 0  # out of time order: record by record
    return runs, len(buf) - at - 4 - 10 - len(parts[-2]) - len(parts[-1])


def second_runs(keys: list[int], payloads: list[bytes], high: int = 0) -> list[Run] | None:
    """Records (`keys`: their timestamps' varint bytes as numbers, less `high`, the bytes all share above them) as
    one run per second, but for a datagram that starts with an event or a check among others: it keeps its own time,
    in a run of its own. None if they span seconds out of time order (then record by record); within one second,
    any order is one run."""
    if keys == sorted(keys):  # in time order (a sort of sorted numbers: one pass of C compares)
        newest = _value(keys[-1] | high)
    else:
        newest = _value(max(keys) | high)
        if _value(min(keys) | high) // NS != newest // NS:
            return None
    try:
        heads = bytes(map(_FIRST, payloads))  # one byte a datagram: is there an event or a check at all?
    except IndexError:  # an empty datagram has no first byte: a space keeps the later ones in place
        heads = b"".join(p[:1] or b" " for p in payloads)
    marked = b"_" in heads
    n = len(keys)
    runs: list[Run] = []
    start = 0
    while start < n:
        first = _value(keys[start] | high)
        end = n
        if newest // NS != first // NS:  # in time order (checked above): the second ends where its next begins
            end = bisect_left(keys, _key((first // NS + 1) * NS) - high, start)
        last = _value(keys[end - 1] | high)
        group = payloads[start:end]
        plain = b"".join(group)  # memchr and memcpy: each datagram one line is the case to make cheap
        if b"\n" in plain:  # lines of their own: any of them may be an event
            run = joined_run(first, last, newest if end == n else last, group)
        elif end - start == 1 or not marked or b"_" not in heads[start:end]:
            run = Run(first, last, newest if end == n else last, group, end - start, len(plain))
        else:
            run = None
        if run is not None:
            runs.append(run)
        else:  # an event or a check among them: each datagram keeps its own time
            runs += [Run(t, t, t, p.split(b"\n"), 1, len(p))
                     for t, p in zip((_value(k | high) for k in keys[start:end]), group, strict=True)]
        start = end
    return runs
