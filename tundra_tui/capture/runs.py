"""Runs: the datagrams of one second of capture time, as one list of lines.

A buffering DogStatsD client joins its lines with newlines before sending; joining the datagrams that
arrived within one second the same way changes nothing the engine computes (it folds per second), and
lets a capture or a flood of one-line datagrams take the multi-line path: one Python step per line, none
per datagram. Events and service checks keep the exact time of their own datagram (the screen shows it),
so a datagram holding one (a line starting with `_`) is a run of its own.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate, islice, pairwise
from operator import itemgetter, le, methodcaller
from typing import NamedTuple

NS = 1_000_000_000
_TS, _DATA = itemgetter(0), itemgetter(1)
_HEAD = itemgetter(slice(0, 1))  # a line's first byte (a shared one-byte object: no allocation)
_BREAKS = methodcaller("count", b"\n")


class Run(NamedTuple):
    """Datagrams received within one second, in arrival order, as their lines."""

    first_ns: int  # arrival of the first datagram
    last_ns: int  # arrival of the last one (its second is every datagram's second)
    newest_ns: int  # the latest arrival (a merged capture need not be in order)
    lines: list[bytes]
    datagrams: int
    nbytes: int  # payload bytes, without the newlines that joined them
    payloads: list[bytes] | None = None  # the datagrams, when several were joined and one has several lines


class Runs(list[Run]):
    """A batch of runs, as a source hands it to the engine in place of a batch of (ts_ns, datagram)."""


def joined_run(first: int, last: int, newest: int, datagrams: list[bytes]) -> Run | None:
    """Datagrams that all arrived within one second as one run (`first`, `last`, `newest`: their arrival times);
    None if one holds an event or a check: then each must be a run of its own."""
    plain = b"".join(datagrams)  # memchr and memcpy: each datagram one line is the case to make cheap
    lines = b"\n".join(datagrams).split(b"\n") if b"\n" in plain else datagrams
    if len(datagrams) > 1 and b"_" in b"".join(map(_HEAD, lines)):
        return None
    return Run(first, last, newest, lines, len(datagrams), len(plain),
               datagrams if lines is not datagrams and len(datagrams) > 1 else None)


def datagrams_holding(run: Run, marked: list[bytes]) -> int:
    """How many of the run's datagrams hold a line of `marked` (some of its lines, in order)."""
    if run.datagrams == 1 or run.payloads is None:  # one datagram, or one line a datagram
        return min(len(marked), run.datagrams)
    if len(marked) == len(run.lines):  # every line (secrets in every request): every datagram
        return run.datagrams
    ends = list(accumulate(d + 1 for d in map(_BREAKS, run.payloads)))  # where each datagram's lines end
    lines, at, last, held = run.lines, 0, 0, 0
    for line in marked:
        # an equal line between two marked ones would have been marked too: the engine's verdict is the line's
        at = lines.index(line, at)
        dg = bisect_right(ends, at, last)
        held += dg != last or not held
        last, at = dg, at + 1
    return held


def runs_of(packets: Sequence[tuple[int, bytes]]) -> Runs:
    """Consecutive (ts_ns, datagram) of the same second as one run each."""
    out = Runs()
    n = len(packets)
    if not n:
        return out
    tss = list(map(_TS, packets))
    datas = list(map(_DATA, packets))
    if min(tss) // NS == max(tss) // NS:
        bounds = [0, n]
    elif all(map(le, tss, islice(tss, 1, None))):  # in order: each second's end found by bisection
        bounds = [0]
        while bounds[-1] < n:
            bounds.append(bisect_left(tss, (tss[bounds[-1]] // NS + 1) * NS, bounds[-1]))
    else:  # out of order (a merged capture): a run ends wherever the second changes
        bounds = [0, *(i for i in range(1, n) if tss[i] // NS != tss[i - 1] // NS), n]
    for i, j in pairwise(bounds):
        group = tss[i:j]
        run = joined_run(group[0], group[-1], max(group), datas[i:j])
        if run is not None:
            out.append(run)
        else:
            out += [Run(t, t, t, d.split(b"\n"), 1, len(d)) for t, d in zip(group, datas[i:j], strict=True)]
    return out
