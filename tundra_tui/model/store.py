"""Per-context aggregation for `stats`: counts, gauges and sets, under a cardinality cap.

Quantiles live in the LLM rollup's DDSketches, not here: the stats contract needs only
samples, weighted count and value per context.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..protocol import Context

DEFAULT_MAX_CONTEXTS = 20_000
MAX_SET_MEMBERS = 10_000
REFUSED_MEMORY = 100_000


class ContextStats:
    """Aggregates of one context since the session began."""

    __slots__ = ("bad", "count", "members", "samples", "value")

    def __init__(self, mtype: str) -> None:
        self.samples = 0
        self.bad = 0  # values refused by the numeric guard (engine): counted, never folded
        self.count = 0.0
        self.value = 0.0
        self.members: set[str] | None = set() if mtype == "s" else None

    def add(self, mtype: str, vals: list[Any], s: float, w: float, ts_ns: int) -> None:
        """Fold a batch of samples that share a context and sample rate; `s` is their plain sum."""
        n = len(vals)
        self.samples += n
        if mtype == "c":
            self.count += n * w
            self.value += s * w
        elif mtype == "g":
            self.count += n
            self.value = float(vals[-1])
        elif mtype == "s":
            self.count += n
            members = self.members
            if members is not None:
                for m in vals:
                    if len(members) >= MAX_SET_MEMBERS:
                        break
                    members.add(m)
                self.value = len(members)
        else:  # h, d, ms: count weighted, value the plain sum
            self.count += n * w
            self.value += s


def weight_of(rate: float) -> float:
    """1/rate as the Agent applies it; a zero, negative or non-finite rate counts as 1."""
    return 1.0 / rate if 0.0 < rate < math.inf else 1.0


class Store:
    """Contexts keyed by (name, type, sorted tags). Past `max_contexts`, new ones are only counted."""

    def __init__(self, max_contexts: int = DEFAULT_MAX_CONTEXTS) -> None:
        self.max_contexts = max_contexts
        self.contexts: dict[Context, ContextStats] = {}
        self.dropped_contexts = 0  # distinct contexts refused past the cap (exact up to REFUSED_MEMORY)
        self._refused: set[int] = set()  # hashes of refused contexts; forgotten in bulk past REFUSED_MEMORY

    def slot(self, ctx: Context) -> ContextStats | None:
        """The stats of `ctx`, created if there is room; None (and counted) past the cap."""
        st = self.contexts.get(ctx)
        if st is not None:
            return st
        if len(self.contexts) < self.max_contexts:
            st = self.contexts[ctx] = ContextStats(ctx.mtype)
            return st
        h = hash(ctx)
        if h not in self._refused:
            if len(self._refused) >= REFUSED_MEMORY:  # bounded memory under a bomb: the count goes approximate
                self._refused.clear()
            self._refused.add(h)
            self.dropped_contexts += 1
        return None

    def rows(self, top: int | None = None,
             show: Callable[[Context], Context] | None = None) -> list[dict[str, Any]]:
        """Contexts as the `stats --json` contract, sorted by samples (desc), then name; `show` redacts them."""
        items = sorted(self.contexts.items(), key=lambda kv: (-kv[1].samples, kv[0].name, kv[0].tags))
        if top is not None:
            items = items[:top]
        rows = []
        for c, s in items:
            shown = show(c) if show else c
            rows.append({"name": shown.name, "type": c.mtype, "tags": list(shown.tags),
                         "samples": s.samples, "count": s.count, "value": s.value})
        for row, (_, s) in zip(rows, items, strict=True):
            if s.bad:
                row["bad_values"] = s.bad  # only where there were any: the usual row keeps its six keys
        return rows
