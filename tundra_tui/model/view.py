"""What the screen shows, as plain data: grouped and sorted rows, sparklines, status. No Textual."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ddsketch import DDSketch

from .numbers import quantile
from .spans import SpanSummary

if TYPE_CHECKING:
    from .engine import Engine
    from .llm import LLMRollup

GROUPS = ("model", "provider", "agent", "profile")
SORTS = ("requests", "errors", "cost", "tokens", "p95", "name")
SPARK_SECONDS = 60


@dataclass
class Row:
    """One line of the per-group panes. None means "not known for this grouping"."""

    key: str
    sub: str = ""
    requests: float = 0.0
    errors: float = 0.0
    input_tokens: float | None = None
    output_tokens: float | None = None
    cost_usd: float | None = None
    cost_per_min: float | None = None
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    req_spark: list[float] = field(default_factory=list)
    tok_spark: list[float] = field(default_factory=list)
    req_rate: float = 0.0
    tok_rate: float = 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass
class View:
    """Everything one UI refresh needs."""

    doc: dict[str, Any]
    rows: list[Row]
    group: str
    sort: str
    req_spark: list[float]
    tok_spark: list[float]
    switches: list[tuple[float, str | None, str]]
    checks: list[dict[str, Any]]
    status: dict[str, Any]
    spans: SpanSummary = field(default_factory=SpanSummary)  # LLM spans from the trace port, typed for screens


def _sum(values: list[list[float]]) -> list[float]:
    return [sum(col) for col in zip(*values, strict=True)] if values else []


def _model_rows(llm: LLMRollup, doc: dict[str, Any], now_s: int, span: int) -> list[Row]:
    rows = []
    known = {(m["model"], m["provider"]): m for m in doc["models"]}  # cost and quantiles, computed once
    for key, agg in llm.models.items():
        m = known[key]
        cost = m["cost_usd"]
        rs = agg.req_series.values(now_s, SPARK_SECONDS)
        ts = agg.tok_series.values(now_s, SPARK_SECONDS)
        tok_window = agg.tok_series.total(now_s, span)
        all_tokens = agg.input_tokens + agg.output_tokens or agg.used_tokens
        # $/min: the session cost scaled by the share of tokens spent in the rate window
        per_min = None if cost is None or not all_tokens else cost * (tok_window / all_tokens) / (span / 60)
        rows.append(Row(key[0], key[1], agg.requests, agg.errors, agg.input_tokens, agg.output_tokens, cost, per_min,
                        m["p50_ms"], m["p95_ms"], m["p99_ms"], rs, ts,
                        agg.req_series.total(now_s, span) / span, tok_window / span))
    return rows


def _provider_rows(models: list[Row], llm: LLMRollup) -> list[Row]:
    out: dict[str, Row] = {}
    sketches: dict[str, DDSketch] = {}
    for (_model, provider), agg in llm.models.items():
        sk = sketches.setdefault(provider, DDSketch())
        if agg.latency.count:
            sk.merge(agg.latency)
    for r in models:
        g = out.get(r.sub)
        if g is None:
            g = out[r.sub] = Row(r.sub, "", input_tokens=0.0, output_tokens=0.0, req_spark=[0.0] * len(r.req_spark),
                                 tok_spark=[0.0] * len(r.tok_spark))
            g.cost_usd = None
        g.requests += r.requests
        g.errors += r.errors
        g.input_tokens = (g.input_tokens or 0) + (r.input_tokens or 0)
        g.output_tokens = (g.output_tokens or 0) + (r.output_tokens or 0)
        if r.cost_usd is not None:
            g.cost_usd = (g.cost_usd or 0.0) + r.cost_usd
            g.cost_per_min = (g.cost_per_min or 0.0) + (r.cost_per_min or 0.0)
        g.req_spark = _sum([g.req_spark, r.req_spark])
        g.tok_spark = _sum([g.tok_spark, r.tok_spark])
        g.req_rate += r.req_rate
        g.tok_rate += r.tok_rate
    for name, g in out.items():
        found = sketches.get(name)
        if found is not None:
            g.p50, g.p95, g.p99 = quantile(found, 0.5), quantile(found, 0.95), quantile(found, 0.99)
    return list(out.values())


def _sort(rows: list[Row], sort: str) -> list[Row]:
    keys = {
        "requests": lambda r: (-r.requests, r.key),
        "errors": lambda r: (-r.error_rate, -r.errors, r.key),
        "cost": lambda r: (-(r.cost_usd if r.cost_usd is not None else -1), r.key),
        "tokens": lambda r: (-((r.input_tokens or 0) + (r.output_tokens or 0)), r.key),
        "p95": lambda r: (-(r.p95 if r.p95 is not None else -1), r.key),
        "name": lambda r: (r.key, r.sub),
    }
    return sorted(rows, key=keys[sort])


def build_view(engine: Engine, now_ns: int, status: dict[str, Any], group: str = "model",
               sort: str = "requests") -> View:
    """The View for one refresh (call with the engine lock held)."""
    now_s = now_ns // 1_000_000_000
    llm = engine.display
    doc = engine.dashboard(now_ns, status, llm)
    span = llm.rate_span(now_s)
    models = _model_rows(llm, doc, now_s, span)
    if group == "provider":
        rows = _provider_rows(models, llm)
    elif group == "agent":
        rows = [Row(k[0], k[1], a.executions, a.errors, p50=quantile(a.latency, 0.5), p95=quantile(a.latency, 0.95),
                    p99=quantile(a.latency, 0.99)) for k, a in llm.agents.items()]
    elif group == "profile":
        rows = [Row(name, p["provider"] or "", p["requests"], p["errors"]) for name, p in llm.profiles.items()]
    else:
        rows = models
    checks = sorted(llm.checks.values(), key=lambda c: (c["name"], c["tags"]))
    return View(doc, _sort(rows, sort), group, sort, llm.req_series.values(now_s, SPARK_SECONDS),
                llm.tok_series.values(now_s, SPARK_SECONDS), list(llm.switches), checks, status)
