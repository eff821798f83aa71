"""Bulk decoding of a chunk of `.dog` records by a literal split: the fast way for the usual layout.

A v3 record under 64 KiB starts `<length: 2 bytes> 00 00 08`: the top half of its u32 length, then field 1's key.
Those three bytes occur nowhere else in a record's head (a timestamp's bytes are not zero, a varint's last byte
is only zero for 0, which proto3 leaves out), so `bytes.split` on them (a C search, no regex) cuts a chunk into
pieces, one a record: timestamp, size and length fields, payload, then the low half of the next record's length.
The payload is found by the size field's first byte (a 1- or 2-byte varint: payloads under 16 KiB).

Nothing from the split is trusted: the records it implies are rebuilt from what was cut out of the pieces
(length, fields and separator from each payload's length, with its timestamp and payload) and must be, byte for
byte, the chunk itself, every timestamp a 9-byte varint and all in time order. So a record-by-record read finds
the very same records, or the chunk goes to the regex split (bulk.py), and from there record by record.
"""

from __future__ import annotations

import struct
from itertools import islice, repeat
from operator import getitem, itemgetter, le
from typing import Literal, cast

from .bulk import second_runs
from .proto import varint
from .runs import Run

SEP = b"\x00\x00\x08"
_STAMP = itemgetter(slice(0, 9))
_SIZE_BYTE = itemgetter(10)  # the payload size varint's first byte: it has a second one if its top bit is set
_PAYLOAD = tuple(slice(13, -2) if b < 0x80 else slice(15, -2) for b in range(256))
_TOP_BIT = bytes(b >> 7 for b in range(256))  # each byte -> its continuation bit
_VARINT9 = b"\x01" * 8 + b"\x00"  # the continuation bits of a 9-byte varint
_LOW = struct.Struct("<H")
_MAX_PAYLOAD = 1 << 14  # a 2-byte varint's limit; what _STARTS and _FIELDS are ever asked about stays under it
_LITTLE: Literal["little"] = "little"


class _Fields(dict[int, bytes]):
    """Payload length -> the size and length fields of a record whose payload is all it holds."""

    def __missing__(self, n: int) -> bytes:
        size = varint(n)
        fields = self[n] = b"\x10" + size + b"\x1a" + size
        return fields


class _Starts(dict[int, bytes]):
    """Payload length (under 16 KiB) -> how its record starts: the u32 length, whose top half is the separator's
    zeros, then field 1's key."""

    def __missing__(self, n: int) -> bytes:
        start = self[n] = _LOW.pack(1 + 9 + len(_FIELDS[n]) + n) + SEP
        return start


_FIELDS = _Fields()
_STARTS = _Starts()


def literal_runs(buf: bytes, at: int = 0) -> tuple[list[Run], int]:
    """Runs of the records from `at` in `buf` (all but the last one, which may be cut), and how many bytes they
    took: 0 when the chunk is not all records under 16 KiB in the usual layout, in time order."""
    pieces = buf.split(SEP)
    n = len(pieces) - 2  # the last piece is the last record seen: it may run past the chunk
    if n < 1 or len(pieces[0]) != at + 2 or len(pieces) > (len(buf) - at) // 16 + 2:
        return [], 0
    body = pieces[1:-1]
    try:
        payloads = cast(list[bytes], list(map(getitem, body, map(_PAYLOAD.__getitem__, map(_SIZE_BYTE, body)))))
    except IndexError:  # a piece too short to hold a record head
        return [], 0
    sizes = list(map(len, payloads))
    if max(sizes) >= _MAX_PAYLOAD:  # a record of 16 KiB or more (over 64 KiB: no separator) joins a piece
        return [], 0  # refused before the caches below see its size: they stay under 16 Ki entries each
    stamps = list(map(_STAMP, body))
    rebuilt: list[bytes] = stamps * 4  # every slot is filled below
    rebuilt[0::4] = map(_STARTS.__getitem__, sizes)
    rebuilt[1::4] = stamps
    rebuilt[2::4] = map(_FIELDS.__getitem__, sizes)
    rebuilt[3::4] = payloads
    records = b"".join(rebuilt)
    if not buf.startswith(records, at) or b"".join(stamps).translate(_TOP_BIT) != _VARINT9 * n:
        return [], 0
    keys = list(map(int.from_bytes, stamps, repeat(_LITTLE)))
    if not all(map(le, keys, islice(keys, 1, None))):
        return [], 0  # out of time order
    return second_runs(keys, payloads), len(records)
