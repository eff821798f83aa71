"""Per-context aggregation: counts, gauges, sets and DDSketch distributions, under a cardinality cap."""

from __future__ import annotations

import math
from typing import Any

from ddsketch import DDSketch

from ..protocol import Context, Metric

DEFAULT_MAX_CONTEXTS = 20_000
MAX_SET_MEMBERS = 10_000


class ContextStats:
    """Aggregates of one context since the session began."""

    __slots__ = ("count", "last_seen", "members", "samples", "sketch", "value")

    def __init__(self, mtype: str) -> None:
        self.samples = 0
        self.count = 0.0
        self.value = 0.0
        self.last_seen = 0
        self.members: set[str] | None = set() if mtype == "s" else None
        self.sketch: DDSketch | None = DDSketch() if mtype in ("h", "d", "ms") else None


def weight_of(rate: float) -> float:
    """1/rate as the Agent applies it; a zero, negative or non-finite rate counts as 1."""
    return 1.0 / rate if 0.0 < rate < math.inf else 1.0


class Store:
    """Contexts keyed by (name, type, sorted tags). Past `max_contexts`, new ones are only counted."""

    def __init__(self, max_contexts: int = DEFAULT_MAX_CONTEXTS) -> None:
        self.max_contexts = max_contexts
        self.contexts: dict[Context, ContextStats] = {}
        self.dropped_contexts = 0  # distinct contexts refused past the cap (approximate: bounded memory)
        self.dropped_samples = 0
        self._refused: set[int] = set()

    def add(self, m: Metric, ts_ns: int) -> None:
        """Fold one metric line into its context."""
        ctx = m.context
        st = self.contexts.get(ctx)
        if st is None:
            if not m.values:
                return  # `name::|c` carries no sample and makes no context, as in the Agent
            if len(self.contexts) >= self.max_contexts:
                self._refuse(ctx, len(m.values))
                return
            st = self.contexts[ctx] = ContextStats(ctx.mtype)
        st.last_seen = ts_ns
        n = len(m.values)
        st.samples += n
        mtype = ctx.mtype
        if mtype == "g":
            st.count += n
            st.value = float(m.values[-1])
        elif mtype == "s":
            st.count += n
            members = st.members
            if members is not None and len(members) < MAX_SET_MEMBERS:
                members.add(str(m.values[0]))
                st.value = len(members)
        else:
            w = weight_of(m.rate)
            st.count += n * w
            if mtype == "c":
                st.value += sum(m.values) * w  # type: ignore[arg-type]
            else:
                st.value += sum(m.values)  # type: ignore[arg-type]
                sk = st.sketch
                if sk is not None:
                    for v in m.values:
                        sk.add(v, w)  # type: ignore[arg-type]

    def _refuse(self, ctx: Context, samples: int) -> None:
        self.dropped_samples += samples
        h = hash(ctx)
        if h not in self._refused:
            if len(self._refused) < 1_000_000:
                self._refused.add(h)
            self.dropped_contexts += 1

    def rows(self, top: int | None = None) -> list[dict[str, Any]]:
        """Contexts as the `stats --json` contract, sorted by samples (desc), then name."""
        items = sorted(self.contexts.items(), key=lambda kv: (-kv[1].samples, kv[0].name, kv[0].tags))
        if top is not None:
            items = items[:top]
        return [{"name": c.name, "type": c.mtype, "tags": list(c.tags), "samples": s.samples,
                 "count": s.count, "value": s.value} for c, s in items]
