"""A tiny protobuf codec for UnixDogstatsdMsg (the only message tundra writes).

Proto3 rules: fields in number order, zero values omitted. A test checks the bytes
against the `protobuf` package's own encoding.
"""

from __future__ import annotations

from typing import NamedTuple


class DogMsg(NamedTuple):
    """One captured datagram. `timestamp` is as stored (ns for v3, s for v1/v2)."""

    timestamp: int
    payload: bytes
    pid: int = 0
    ancillary: bytes = b""


def varint(value: int) -> bytes:
    """A protobuf varint (negatives as 10-byte two's complement)."""
    if value < 0:
        value += 1 << 64  # int32/int64 negatives are 10-byte two's complement varints
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode(msg: DogMsg) -> bytes:
    """Encode one UnixDogstatsdMsg."""
    parts = []
    if msg.timestamp:
        parts.append(b"\x08" + varint(msg.timestamp))
    if msg.payload:
        parts.append(b"\x10" + varint(len(msg.payload)))
        parts.append(b"\x1a" + varint(len(msg.payload)) + msg.payload)
    if msg.pid:
        parts.append(b"\x20" + varint(msg.pid))
    if msg.ancillary:
        parts.append(b"\x28" + varint(len(msg.ancillary)))
        parts.append(b"\x32" + varint(len(msg.ancillary)) + msg.ancillary)
    return b"".join(parts)


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The varint at `pos`, and the position after it."""
    result = shift = 0
    while True:
        byte = buf[pos]  # IndexError on a cut varint
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _signed(value: int, bits: int) -> int:
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    if bits == 32:
        value = ((value + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
    return value


def decode(buf: bytes) -> DogMsg:
    """Decode one UnixDogstatsdMsg; unknown fields are skipped. Raises ValueError if malformed."""
    ts = pid = 0
    payload = ancillary = b""
    payload_size = ancillary_size = -1
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
            if field == 1:
                ts = _signed(value, 64)
            elif field == 2:
                payload_size = _signed(value, 32)
            elif field == 4:
                pid = _signed(value, 32)
            elif field == 5:
                ancillary_size = _signed(value, 32)
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            if pos + length > end:
                raise ValueError("field runs past record")
            data = buf[pos : pos + length]
            pos += length
            if field == 3:
                payload = data
            elif field == 6:
                ancillary = data
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    # The Agent keeps only payload[:payloadSize]; an absent size means zero.
    payload = payload[: max(payload_size, 0)]
    ancillary = ancillary[: max(ancillary_size, 0)]
    return DogMsg(ts, payload, pid, ancillary)
