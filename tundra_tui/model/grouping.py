"""The grouped rows the panes show (by model, provider, agent or profile), typed and sorted. No Textual.

Rows come from the rollup's per-key aggregates (llm/grouping.py), so every grouping adds up to the
same totals; rates cover the last `rate_window` seconds, sparklines the rollup's whole window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .dashboard import current, elapsed, spark
from .llm import GROUPINGS, Group, group
from .numbers import quantile
from .snapshot import Grouping, GroupRow

if TYPE_CHECKING:
    from .llm import LLMRollup

GROUPS = GROUPINGS
SORTS = ("requests", "errors", "cost", "tokens", "p95", "name")
ASCENDING = frozenset({"name"})  # every other sort puts the largest first


def _row(g: Group, now_s: int, rate_window: int, since: int | None) -> GroupRow:
    a = g.agg
    tokens = a.has_tokens
    lat = a.latency
    return GroupRow(
        g.key, g.sub, requests=a.requests, errors=a.errors, input_tokens=a.input_tokens if tokens else None,
        output_tokens=a.output_tokens if tokens else None, cost_usd=g.cost_usd,
        cost_per_min=None if g.cost_per_s is None else g.cost_per_s * 60, pricing=g.pricing,
        p50=quantile(lat, 0.5), p95=quantile(lat, 0.95), p99=quantile(lat, 0.99),
        req_spark=spark(a.req_series, now_s), tok_spark=spark(a.tok_series, now_s),
        req_rate=current(a.req_series, now_s, rate_window, since),
        tok_rate=current(a.tok_series, now_s, rate_window, since),
        executions=g.executions, cost_models=len(g.models), cost_priced=g.priced)


def _sort(rows: list[GroupRow], sort: str) -> tuple[GroupRow, ...]:
    keys = {
        "requests": lambda r: (-r.requests, r.key, r.sub),
        "errors": lambda r: (-r.errors, -r.error_rate, r.key, r.sub),
        "cost": lambda r: (-(r.cost_usd if r.cost_usd is not None else -1), r.key, r.sub),
        "tokens": lambda r: (-((r.input_tokens or 0) + (r.output_tokens or 0)), r.key, r.sub),
        "p95": lambda r: (-(r.p95 if r.p95 is not None else -1), r.key, r.sub),
        "name": lambda r: (r.key, r.sub),
    }
    return tuple(sorted(rows, key=keys[sort]))


def build_grouping(llm: LLMRollup, now_s: int, rate_window: int, by: str = "model",
                   sort: str = "requests") -> Grouping:
    """The rows of grouping `by` from rollup `llm` (with the engine lock held), sorted by `sort`."""
    since = elapsed(llm, now_s)
    rows = [_row(g, now_s, rate_window, since) for g in group(llm, by, now_s, rate_window)]
    return Grouping(by, sort, _sort(rows, sort))
