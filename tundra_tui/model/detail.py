"""The detail screen's part for one key (a model, provider, agent or profile), or for the totals (`group`
"total", the maximised panes' charts): per-bucket rates over a span, p95 per bucket, error types, the
profiles that served it, chart marks, and the trace port's rollup for it as a separate source.

Charts show closed buckets only: a bucket's figure is final once drawn, so a chart changes (and the
screen redraws it) only when a bucket closes. Built with the engine lock held: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .alert_parts import AlertLogRow
from .alerts import TOTALS
from .budget import priced_per_second
from .latency_history import BUCKET_S, hist_quantile
from .llm.aggregates import UNKNOWN
from .llm.grouping import key_costs
from .parts import Part
from .snapshot import Switch

if TYPE_CHECKING:
    from .llm.aggregates import Key, KeyAgg
    from .llm.base import RollupBase
    from .spans import SpanModelRow, SpanSummary

POINTS = 60  # buckets per chart: a span of 1m, 5m, 15m, 1h is drawn in 1, 5, 15, 60-second buckets
MAX_SPAN_S = 86_400
TOTAL = "total"  # the group of the whole rollup
_PART = {"model": 0, "provider": 1, "agent": 2, "profile": 3}


@dataclass(frozen=True, slots=True)
class DetailPart(Part):
    """What the detail screen (or a maximised pane's chart) draws for one key over `span_s`."""

    group: str
    key: str
    span_s: int
    bucket_s: int  # seconds per point of the rate series
    start: int  # unix second where the first bucket starts; the last one ends at start + span_s
    requests_per_s: tuple[float | None, ...]  # None: the bucket ended before the data's start (never measured)
    errors_per_s: tuple[float | None, ...]
    tokens_per_s: tuple[float | None, ...]
    cost_per_min: tuple[float | None, ...] | None  # None: no member is priced
    p95_bucket_s: int  # the p95 series' own bucket (latency is kept per BUCKET_S seconds)
    p95_start: int
    p95_ms: tuple[float | None, ...]  # None: no sample in the bucket
    switches: tuple[Switch, ...]  # profile switches inside the span
    firings: tuple[AlertLogRow, ...]  # alert firings inside the span, on this key or on the totals
    error_types: tuple[tuple[str, float], ...]  # (error_type, errors), most first
    untyped_errors: float  # errors that named no type
    profiles: tuple[tuple[str, float], ...]  # (profile, requests) that served the key, most first
    spans: tuple[SpanModelRow, ...]  # the trace port's rollup for the key's models: never added to the counts

    @property
    def end(self) -> int:
        """Where the last bucket ends (unix seconds)."""
        return self.start + self.span_s


def members(llm: RollupBase, group: str, key: str) -> list[tuple[Key, KeyAgg]]:
    """The per-key aggregates a row of grouping `group` merges (every one for TOTAL)."""
    if group == TOTAL:
        return list(llm.keys.items())
    part = _PART[group]
    return [(k, a) for k, a in llm.keys.items() if k[part] == key]


def _per_second(series_values: list[list[float]], span: int) -> list[float]:
    out = [0.0] * span
    for vals in series_values:
        pad = span - len(vals)  # a window shorter than the span: the oldest seconds read 0
        for i, v in enumerate(vals):
            out[pad + i] += v
    return out


def _buckets(per_second: list[float], bucket_s: int, scale: float = 1.0, measured: int = 0) -> tuple[float | None, ...]:
    """Per-second values summed per bucket, as a rate per second (times `scale`); the buckets that end before
    index `measured` (the data's start) are None: never measured, which is not zero."""
    return tuple(None if i + bucket_s <= measured else sum(per_second[i:i + bucket_s]) / bucket_s * scale
                 for i in range(0, len(per_second), bucket_s))


def build_detail(llm: RollupBase, group: str, key: str, now_s: int, span_s: int,
                 switches: tuple[Switch, ...] = (), alerts_log: tuple[AlertLogRow, ...] = (),
                 spans: SpanSummary | None = None, since_s: int | None = None) -> DetailPart:
    """The detail part of `key` in grouping `group` over the `span_s` seconds of closed buckets before `now_s`;
    buckets that end at or before `since_s` (a replay's capture start, a live tundra's start) hold None."""
    span_s = min(max(span_s, POINTS), MAX_SPAN_S) // POINTS * POINTS  # whole buckets, bounded
    bucket_s = span_s // POINTS
    end = now_s // bucket_s * bucket_s  # the bucket holding now_s is still filling: it is left out
    start = end - span_s
    rows = members(llm, group, key)
    measured = 0 if since_s is None else min(max(since_s - start, 0), span_s)  # seconds of the span before the data

    def summed(attr: str) -> list[float]:
        return _per_second([getattr(a, attr).values(end - 1, span_s) for _, a in rows], span_s)

    req, err, tok = summed("req_series"), summed("err_series"), summed("tok_series")
    cost = _cost_per_second(llm, rows, end, span_s)
    pb = max(bucket_s, BUCKET_S)
    p_end = now_s // pb * pb
    p95: list[float | None] = []
    for t in range(p_end - span_s, p_end, pb):
        hist: dict[int, float] = {}
        for _, a in rows:
            a.lat_history.fold_into(hist, t // BUCKET_S, (t + pb) // BUCKET_S - 1)
        q = hist_quantile(hist, 0.95)
        p95.append(None if q is None else round(q, 3))
    types: dict[str, float] = {}
    for _, a in rows:
        for name, n in (a.error_types or {}).items():
            types[name] = types.get(name, 0.0) + n
    errors = sum(a.errors for _, a in rows)
    served: dict[str, float] = {}
    for k, a in rows:
        if a.requests and k[3] != UNKNOWN:
            served[k[3]] = served.get(k[3], 0.0) + a.requests
    return DetailPart(
        group, key, span_s, bucket_s, start, _buckets(req, bucket_s, measured=measured),
        _buckets(err, bucket_s, measured=measured), _buckets(tok, bucket_s, measured=measured),
        None if cost is None else _buckets(cost, bucket_s, 60.0, measured), pb, p_end - span_s,
        tuple(p95), tuple(s for s in switches if s.old is not None and start <= s.ts < now_s),
        tuple(r for r in alerts_log if r.state == "firing" and start <= r.ts < now_s
              and (group == TOTAL or r.group in (key, TOTALS))),
        tuple(sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))), max(errors - sum(types.values()), 0.0),
        tuple(sorted(served.items(), key=lambda kv: (-kv[1], kv[0]))),
        _span_rows(group, key, spans))


def _cost_per_second(llm: RollupBase, rows: list[tuple[Key, KeyAgg]], end: int, span_s: int) -> list[float] | None:
    """Dollars per second: each priced key's tokens per second times its cost per token (as `$/min` and the
    budget's burn are made: budget.priced_per_second); None when no key of the row is priced."""
    costs = key_costs(llm)
    priced = [(a, c) for k, a in rows
              if isinstance(c := costs.get(k), float) and (a.input_tokens + a.output_tokens or a.used_tokens)]
    return priced_per_second(priced, end - 1, span_s) if priced else None


def _span_rows(group: str, key: str, spans: SpanSummary | None) -> tuple[SpanModelRow, ...]:
    """The trace port's per-model rows that belong to the key (by model or provider; every one for TOTAL)."""
    if spans is None:
        return ()
    if group == TOTAL:
        return spans.models
    if group == "model":
        return tuple(r for r in spans.models if r.model == key)
    if group == "provider":
        return tuple(r for r in spans.models if r.provider == key)
    return ()  # spans name no agent or profile
