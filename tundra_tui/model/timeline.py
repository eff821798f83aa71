"""Where a capture's errors are: per-second error counts found by a cheap byte scan (no parsing)."""

from __future__ import annotations

from collections.abc import Sequence

_MARKERS = (b"success:false", b"|t:error", b"ml_obs.span.error", b"error.type:")


def error_seconds(packets: Sequence[tuple[int, bytes]]) -> dict[int, int]:
    """Unix second -> number of error markers seen in packets received then."""
    out: dict[int, int] = {}
    for ts, data in packets:
        n = 0
        for marker in _MARKERS:
            if marker in data:
                n += data.count(marker)
        if n:
            sec = ts // 1_000_000_000
            out[sec] = out.get(sec, 0) + n
    return out


def spikes(errors: dict[int, int], start_s: int, end_s: int, width: int) -> list[int]:
    """Error counts folded into `width` columns spanning [start_s, end_s]."""
    cols = [0] * max(width, 1)
    span = max(end_s - start_s, 1)
    for sec, n in errors.items():
        i = min(int((sec - start_s) / span * width), width - 1)
        if 0 <= i < width:
            cols[i] += n
    return cols
