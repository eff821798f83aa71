"""Floats and integers as the Agent's Go code reads them (strconv.ParseFloat / ParseInt).

Python's float() is more lenient: it strips spaces, accepts `_` separators and turns an
out-of-range literal into inf. Go rejects all three, and accepts hex floats like `0x1p-2`.
"""

from __future__ import annotations

import math

_WS = frozenset(b" \t\n\r\x0b\x0c")
_INF_WORDS = frozenset({b"inf", b"+inf", b"-inf", b"infinity", b"+infinity", b"-infinity"})


def go_float(raw: bytes) -> float:
    """Parse like Go's strconv.ParseFloat(s, 64); raise ValueError where Go errs."""
    if not raw or raw[0] in _WS or raw[-1] in _WS:
        raise ValueError("bad float")
    if b"x" in raw or b"X" in raw:
        return _go_hex(raw)
    if b"_" in raw:
        raise ValueError("bad float")
    value = float(raw)
    if math.isinf(value) and raw.lower() not in _INF_WORDS:
        raise ValueError("float out of range")
    if math.isnan(value) and raw.lower() != b"nan":
        raise ValueError("bad float")  # Go accepts "NaN" but not a signed NaN
    return value


def _go_hex(raw: bytes) -> float:
    body = raw[1:] if raw[:1] in (b"+", b"-") else raw
    if body[:2].lower() != b"0x" or b"p" not in body.lower():
        raise ValueError("hex float needs 0x prefix and p exponent")
    # Go allows `_` only between digits of a base-prefixed literal.
    text = raw.replace(b"_", b"").decode("ascii")
    if "__" in raw.decode("ascii", "replace") or raw.endswith(b"_"):
        raise ValueError("bad float")
    value = float.fromhex(text)
    if math.isinf(value):
        raise ValueError("float out of range")
    return value


def go_int(raw: bytes) -> int:
    """Parse like Go's strconv.ParseInt(s, 10, 64)."""
    digits = raw[1:] if raw[:1] in (b"+", b"-") else raw
    if not digits or not digits.isdigit():
        raise ValueError("bad integer")
    value = int(raw)
    if not -(1 << 63) <= value < (1 << 63):
        raise ValueError("integer out of range")
    return value
