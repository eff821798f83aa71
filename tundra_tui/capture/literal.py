"""Bulk decoding of a chunk of `.dog` records by a literal split: the fast way for the usual layout.

A v3 record under 64 KiB starts `<length: 2 bytes> 00 00 08`: the top half of its u32 length, then field 1's key.
Those three bytes occur nowhere else in a record's head (a timestamp's bytes are not zero, a varint's last byte
is only zero for 0, which proto3 leaves out), so `bytes.split` on them (a C search, no regex) cuts a chunk into
pieces, one a record: timestamp, size and length fields, payload, then the low half of the next record's length.
The piece's length says where its payload is (the size field is a 1-byte varint under 128 bytes, a 2-byte one
up to 16 KiB): when all payloads of a chunk are on one side of 128 bytes, one slice cuts them all.

Nothing from the split is trusted: the records it implies are rebuilt from what was cut out of the pieces
(length, fields and separator from each piece's length, with its timestamp and payload) and must be, byte for
byte, the chunk itself, every timestamp a 9-byte varint and all in time order. So a record-by-record read finds
the very same records, or the chunk goes to the regex split (bulk.py), and from there record by record.
"""

from __future__ import annotations

import re
import struct
import sys
from itertools import repeat
from operator import getitem, itemgetter
from typing import Literal, cast

from .bulk import second_runs
from .proto import varint
from .runs import Run

SEP = b"\x00\x00\x08"
_split = re.compile(re.escape(SEP)).split  # bytes.split's own, faster: re scans for the first byte, then compares
_STAMP8 = itemgetter(slice(0, 8))  # a timestamp's 9-byte varint but its last byte
# A piece is a record's timestamp, size and length fields, payload, and the next record's low length bytes: its
# length alone says where the payload is. Under 128 bytes the size is a 1-byte varint (a piece of 15 + n bytes),
# from 128 to 16 KiB a 2-byte one (17 + n): no piece is 143 or 144 bytes long, none under 15 or past this.
_NARROW_END, _WIDE_START, _PIECE_END = 143, 145, 17 + (1 << 14)
_NARROW, _WIDE = itemgetter(slice(13, -2)), itemgetter(slice(15, -2))  # a piece's payload, by its size's width
_SLICES = (slice(13, -2), slice(15, -2))  # by whether the piece is wide
_TOP_BIT = bytes(b >> 7 for b in range(256))  # each byte -> its continuation bit
_CONTINUED8 = b"\x01" * 8  # the continuation bits of a 9-byte varint's first 8 bytes
_NATIVE_LE = sys.byteorder == "little"
_LOW = struct.Struct("<H")
_LITTLE: Literal["little"] = "little"


class _Fields(dict[int, bytes]):
    """Piece length -> the size and length fields of a record whose payload is all it holds."""

    def __missing__(self, piece: int) -> bytes:
        size = varint(piece - (15 if piece < _NARROW_END else 17))
        fields = self[piece] = b"\x10" + size + b"\x1a" + size
        return fields


class _Starts(dict[int, bytes]):
    """Piece length -> how its record starts: the u32 length (the piece's, less the next record's two bytes, plus
    field 1's key), whose top half is the separator's zeros, then field 1's key."""

    def __missing__(self, piece: int) -> bytes:
        start = self[piece] = _LOW.pack(piece - 1) + SEP
        return start


_FIELDS = _Fields()
_STARTS = _Starts()


def literal_runs(buf: bytes, at: int = 0) -> tuple[list[Run], int]:
    """Runs of the records from `at` in `buf` (all but the last one, which may be cut), and how many bytes they
    took: 0 when the chunk is not all records under 16 KiB in the usual layout, in time order."""
    pieces = _split(buf)
    n = len(pieces) - 2  # the last piece is the last record seen: it may run past the chunk
    if n < 1 or len(pieces[0]) != at + 2 or len(pieces) > (len(buf) - at) // 16 + 2:
        return [], 0
    body = pieces[1:-1]
    lens = list(map(len, body))
    distinct = set(lens)  # a few dozen lengths: min and max of these, not of every piece's
    short, long = min(distinct), max(distinct)
    if short >= _WIDE_START and long < _PIECE_END:  # the usual case: every payload 128 bytes to 16 KiB
        payloads = list(map(_WIDE, body))
    elif long < _NARROW_END and short >= 15:  # every payload under 128 bytes
        payloads = list(map(_NARROW, body))
    elif short >= 15 and long < _PIECE_END and _NARROW_END not in distinct and _NARROW_END + 1 not in distinct:
        wide = map(_NARROW_END.__lt__, lens)  # no piece is 143 or 144 long: past 143 is wide
        payloads = cast(list[bytes], list(map(getitem, body, map(_SLICES.__getitem__, wide))))
    else:  # a piece too short to hold a record head, or one no record makes (16 KiB or more: over 64 KiB, a
        return [], 0  # record with no separator joins a piece); the caches below see only lengths records make
    # a timestamp's first 8 bytes are taken; its 9th (bits 56-62: the same for 2.3 years) is taken as the first
    # record's for all, put in with the fields, and the comparison below checks it in every record
    stamps = list(map(_STAMP8, body))
    top = body[0][8:9]
    fields = {piece: top + _FIELDS[piece] for piece in distinct}
    rebuilt: list[bytes] = stamps * 4  # every slot is filled below
    rebuilt[0::4] = map(_STARTS.__getitem__, lens)
    rebuilt[1::4] = stamps
    rebuilt[2::4] = map(fields.__getitem__, lens)
    rebuilt[3::4] = payloads
    records = b"".join(rebuilt)
    low = b"".join(stamps)
    if not buf.startswith(records, at) or top[0] > 0x7F or low.translate(_TOP_BIT) != _CONTINUED8 * n:
        return [], 0
    # the 8 bytes as little-endian numbers, in C (a memoryview's native order: little-endian machines)
    keys = memoryview(low).cast("Q").tolist() if _NATIVE_LE else list(map(int.from_bytes, stamps, repeat(_LITTLE)))
    runs = second_runs(keys, payloads, top[0] << 64)
    if runs is None:
        return [], 0  # out of time order
    return runs, len(records)
