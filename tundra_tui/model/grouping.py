"""The grouped rows the panes show (by model, provider, agent or profile), typed and sorted. No Textual."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ddsketch import DDSketch

from .dashboard import spark
from .numbers import quantile
from .snapshot import Dashboard, Grouping, GroupRow

if TYPE_CHECKING:
    from .llm import LLMRollup

GROUPS = ("model", "provider", "agent", "profile")
SORTS = ("requests", "errors", "cost", "tokens", "p95", "name")


def _model_rows(llm: LLMRollup, dash: Dashboard, now_s: int, span: int) -> list[GroupRow]:
    rows = []
    known = {(m.model, m.provider): m for m in dash.models}  # cost and quantiles, computed once
    for key, agg in llm.models.items():
        m = known[key]
        cost = m.cost_usd
        tok_window = agg.tok_series.total(now_s, span)
        all_tokens = agg.input_tokens + agg.output_tokens or agg.used_tokens
        # $/min: the session cost scaled by the share of tokens spent in the rate window
        per_min = None if cost is None or not all_tokens else cost * (tok_window / all_tokens) / (span / 60)
        rows.append(GroupRow(
            key[0], key[1], requests=agg.requests, errors=agg.errors, input_tokens=agg.input_tokens,
            output_tokens=agg.output_tokens, cost_usd=cost, cost_per_min=per_min, pricing=m.pricing,
            p50=m.p50_ms, p95=m.p95_ms, p99=m.p99_ms, req_spark=spark(agg.req_series, now_s),
            tok_spark=spark(agg.tok_series, now_s), req_rate=agg.req_series.total(now_s, span) / span,
            tok_rate=tok_window / span))
    return rows


def _add(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True)) if a else b


def _provider_rows(models: list[GroupRow], llm: LLMRollup) -> list[GroupRow]:
    sketches: dict[str, DDSketch] = {}
    for (_model, provider), agg in llm.models.items():
        sk = sketches.setdefault(provider, DDSketch())
        if agg.latency.count:
            sk.merge(agg.latency)
    out = []
    by_provider: dict[str, list[GroupRow]] = {}
    for r in models:
        by_provider.setdefault(r.sub, []).append(r)
    for name, rows in by_provider.items():
        priced = [r for r in rows if r.cost_usd is not None]
        found = sketches.get(name)
        lat = (quantile(found, 0.5), quantile(found, 0.95), quantile(found, 0.99)) if found is not None else (None,) * 3
        req_spark: tuple[float, ...] = ()
        tok_spark: tuple[float, ...] = ()
        for r in rows:
            req_spark, tok_spark = _add(req_spark, r.req_spark), _add(tok_spark, r.tok_spark)
        out.append(GroupRow(
            name, requests=sum(r.requests for r in rows), errors=sum(r.errors for r in rows),
            input_tokens=sum(r.input_tokens or 0 for r in rows), output_tokens=sum(r.output_tokens or 0 for r in rows),
            cost_usd=sum(r.cost_usd or 0.0 for r in priced) if priced else None,
            cost_per_min=sum(r.cost_per_min or 0.0 for r in priced) if priced else None,
            pricing=any(r.pricing for r in rows), p50=lat[0], p95=lat[1], p99=lat[2], req_spark=req_spark,
            tok_spark=tok_spark, req_rate=sum(r.req_rate for r in rows), tok_rate=sum(r.tok_rate for r in rows)))
    return out


def _sort(rows: list[GroupRow], sort: str) -> tuple[GroupRow, ...]:
    keys = {
        "requests": lambda r: (-r.requests, r.key),
        "errors": lambda r: (-r.error_rate, -r.errors, r.key),
        "cost": lambda r: (-(r.cost_usd if r.cost_usd is not None else -1), r.key),
        "tokens": lambda r: (-((r.input_tokens or 0) + (r.output_tokens or 0)), r.key),
        "p95": lambda r: (-(r.p95 if r.p95 is not None else -1), r.key),
        "name": lambda r: (r.key, r.sub),
    }
    return tuple(sorted(rows, key=keys[sort]))


def build_grouping(llm: LLMRollup, dash: Dashboard, now_s: int, group: str = "model",
                   sort: str = "requests") -> Grouping:
    """The grouped rows of `dash` (built from the same rollup `llm`, with the engine lock held)."""
    span = llm.rate_span(now_s)
    models = _model_rows(llm, dash, now_s, span)
    if group == "provider":
        rows = _provider_rows(models, llm)
    elif group == "agent":
        rows = [GroupRow(k[0], k[1], a.executions, a.errors, p50=quantile(a.latency, 0.5),
                         p95=quantile(a.latency, 0.95), p99=quantile(a.latency, 0.99)) for k, a in llm.agents.items()]
    elif group == "profile":
        rows = [GroupRow(name, p["provider"] or "", p["requests"], p["errors"]) for name, p in llm.profiles.items()]
    else:
        rows = models
    return Grouping(group, sort, _sort(rows, sort))
