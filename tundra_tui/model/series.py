"""Per-second time series over a rolling window, and the two readings the screen takes of them:
a current rate (the last few seconds) and a sparkline (the whole window folded to a width)."""

from __future__ import annotations

from collections.abc import Iterable


class Series:
    """A ring of 1-second buckets covering the last `window` seconds."""

    __slots__ = ("_buckets", "_head", "window")

    def __init__(self, window: int = 600) -> None:
        self.window = window
        self._buckets = [0.0] * window
        self._head = -1  # the newest second written (unix seconds)

    def __deepcopy__(self, memo: dict[int, object]) -> Series:
        """Floats are immutable: a list slice copies a window ~50x faster than deepcopy (replay checkpoints)."""
        new = Series.__new__(Series)
        new.window, new._buckets, new._head = self.window, self._buckets[:], self._head
        return new

    def add(self, second: int, value: float) -> None:
        """Add `value` to the bucket of unix second `second` (older than the window: ignored)."""
        head = self._head
        if second > head:
            self._advance(second)
        elif second <= head - self.window:
            return
        self._buckets[second % self.window] += value

    def _advance(self, second: int) -> None:
        b, w = self._buckets, self.window
        if self._head < 0 or second - self._head >= w:
            for i in range(w):
                b[i] = 0.0
        else:
            for s in range(self._head + 1, second + 1):
                b[s % w] = 0.0
        self._head = second

    def absorb(self, other: Series) -> None:
        """Add `other`'s buckets, second by second (a group's series from its members'; same window)."""
        if other._head < 0:
            return
        if other._head > self._head:
            self._advance(other._head)
        theirs = other._buckets
        if other._head < self._head:  # their buckets past their head hold seconds older than our window
            theirs = theirs[:]
            for s in range(other._head + 1, min(self._head, other._head + self.window) + 1):
                theirs[s % self.window] = 0.0
        self._buckets = [a + b for a, b in zip(self._buckets, theirs, strict=True)]

    def values(self, now: int, span: int | None = None) -> list[float]:
        """Bucket values for the `span` seconds ending at `now`, oldest first."""
        span = min(span or self.window, self.window)
        out = []
        for s in range(now - span + 1, now + 1):
            out.append(self._buckets[s % self.window] if self._head - self.window < s <= self._head else 0.0)
        return out

    def total(self, now: int, span: int | None = None) -> float:
        """Sum over the `span` seconds ending at `now`."""
        return sum(self.values(now, span))


def sum_values(lists: Iterable[list[float]], length: int) -> list[float]:
    """Element-wise sum of per-second value lists of one `length` (a group's series from its members')."""
    out = [0.0] * length
    for vals in lists:
        out = [a + b for a, b in zip(out, vals, strict=True)]
    return out


def rate(values: list[float], window: int, elapsed: int | None = None) -> float:
    """Per-second rate over the last `window` of these per-second `values` (newest last).

    Early on, when only `elapsed` seconds have been seen, it divides by those instead, so a fresh
    session does not read low. Once the last `window` seconds are silent, it reads 0.
    """
    window = max(1, min(window, len(values))) if values else 1
    span = window if elapsed is None else max(1, min(window, elapsed))
    return sum(values[-window:]) / span


def bucketed(values: list[float], now: int, width: int) -> list[float]:
    """Per-second `values` ending at unix second `now` folded into at most `width` columns.

    Each column covers the same whole number of seconds, aligned to the clock so columns do not
    shift between refreshes; a column reads its per-second average over the seconds it has seen,
    so the newest, still-filling column does not dip.
    """
    if width <= 0 or not values:
        return []
    span = len(values)
    per = -(-span // width)  # seconds per column, rounded up
    if per == 1:
        return list(values)
    first = now - span + 1  # the unix second of values[0]
    cols: list[float] = []
    last_col = now // per
    for col in range(last_col - min(width, -(-span // per)) + 1, last_col + 1):
        lo, hi = max(col * per, first), min(col * per + per - 1, now)
        if hi < lo:
            cols.append(0.0)
            continue
        cols.append(sum(values[lo - first: hi - first + 1]) / (hi - lo + 1))
    return cols
