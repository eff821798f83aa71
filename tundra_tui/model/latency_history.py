"""Latency over time for the detail screen's p95 chart: per key, one coarse log histogram per 5-second bucket.

A DDSketch per second per key would cost kilobytes a second; a chart column needs only a p95 good
to a few percent, so samples fold into bins ~10% wide (±5%), kept sparse, 5 seconds to a bucket.
Histograms of any keys and buckets merge by adding counts, so groupings and wide columns are exact
merges, never averages of quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

BUCKET_S = 5  # seconds per histogram: the p95 chart's finest column
GAMMA = 1.1  # ratio between bin edges
_INV_LOG = 1 / math.log(GAMMA)
_ZERO = -(10**6)  # the bin of samples <= 0 (a log has none)


def _bin(v: float) -> int:
    return math.floor(math.log(v) * _INV_LOG) if v > 0 else _ZERO


def bin_value(b: int) -> float:
    """The value a bin stands for: the middle of its edges (0 for the zero bin)."""
    return 0.0 if b == _ZERO else 2 * GAMMA ** (b + 1) / (1 + GAMMA)


class LatencyHistory:
    """A ring of sparse histograms {bin: weight}, one per BUCKET_S seconds, over `window` seconds."""

    __slots__ = ("_head", "_slots")

    def __init__(self, window: int) -> None:
        self._slots: list[dict[int, float] | None] = [None] * max(1, -(-window // BUCKET_S))
        self._head = -1  # the newest bucket written (unix seconds // BUCKET_S)

    def __deepcopy__(self, memo: dict[int, object]) -> LatencyHistory:
        """Replay checkpoints copy every key: plain dict copies, not a generic deepcopy."""
        new = LatencyHistory.__new__(LatencyHistory)
        new._slots = [d.copy() if d else None for d in self._slots]
        new._head = self._head
        return new

    def add(self, sec: int, vals: Iterable[float], w: float) -> None:
        """Samples of unix second `sec` (older than the window: ignored), each of weight `w`."""
        b = sec // BUCKET_S
        n = len(self._slots)
        if b > self._head:
            if self._head < 0 or b - self._head >= n:
                self._slots = [None] * n
            else:
                for old in range(self._head + 1, b + 1):
                    self._slots[old % n] = None
            self._head = b
        elif b <= self._head - n:
            return
        hist = self._slots[b % n]
        if hist is None:
            hist = self._slots[b % n] = {}
        for v in vals:
            k = _bin(v)
            hist[k] = hist.get(k, 0.0) + w

    def fold_into(self, out: dict[int, float], lo: int, hi: int) -> None:
        """Add the histograms of buckets lo..hi (bucket numbers, inclusive) into `out`."""
        n = len(self._slots)
        for b in range(max(lo, self._head - n + 1), min(hi, self._head) + 1):
            hist = self._slots[b % n]
            if hist:
                for k, c in hist.items():
                    out[k] = out.get(k, 0.0) + c


def hist_quantile(hist: dict[int, float], q: float) -> float | None:
    """Quantile `q` of a merged histogram (None when empty)."""
    total = math.fsum(hist.values())
    if total <= 0:
        return None
    rank = q * total
    acc = 0.0
    for k in sorted(hist):
        acc += hist[k]
        if acc >= rank:
            return bin_value(k)
    return bin_value(max(hist))
