"""Build the typed Dashboard (docs/json.md) from the engine state. Called with the engine lock held: no I/O."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .cost import PRICING
from .numbers import number, quantile
from .series import Series
from .snapshot import (
    AgentRow,
    Dashboard,
    FleetPart,
    ModelRow,
    ParseErrors,
    ProfileRow,
    ProfilesPart,
    SessionStatus,
    TapPart,
    Totals,
)
from .spans import SpanSummary

if TYPE_CHECKING:
    from ddsketch import DDSketch

    from .engine import Engine
    from .llm import LLMRollup

SPARK_SECONDS = 60


def rate(errors: float, total: float) -> float:
    """errors/total, 0 when there is no total."""
    return errors / total if total else 0.0


def spark(series: Series, now_s: int) -> tuple[float, ...]:
    """The last SPARK_SECONDS one-second buckets, oldest first."""
    return tuple(series.values(now_s, SPARK_SECONDS))


def parse_errors(engine: Engine) -> ParseErrors:
    """The parser's error counters as a part."""
    e = engine.parser.errors
    return ParseErrors(e["metric"], e["event"], e["service_check"])


def tap_part(engine: Engine, status: SessionStatus | None) -> TapPart:
    """The `tap` section: the engine's counters plus the drops and truncation the source saw."""
    return TapPart(status.source.mode if status else None, engine.packets, engine.lines, parse_errors(engine),
                   status.dropped if status else 0,
                   status.source.truncated if status else 0, engine.bad_values, len(engine.store.contexts),
                   engine.store.dropped_contexts)


def model_rows(llm: LLMRollup) -> list[ModelRow]:
    """One row per (model, provider), in the rollup's order."""
    rows = []
    for key, agg in llm.models.items():
        cost = llm.model_cost(key, agg)
        lat = agg.latency
        rows.append(ModelRow(
            key[0], key[1], number(agg.requests), number(agg.errors), rate(agg.errors, agg.requests),
            number(agg.input_tokens), number(agg.output_tokens), None if cost is PRICING else cost,
            cost is PRICING, _ms(lat, 0.50), _ms(lat, 0.95), _ms(lat, 0.99)))
    return rows


def build(engine: Engine, llm: LLMRollup, now_s: int, status: SessionStatus | None,
          fleet: FleetPart | None = None, spans: SpanSummary | None = None) -> Dashboard:
    """The whole dashboard from the rollup `llm` (the full one for JSON, the filtered one on screen)."""
    span = llm.rate_span(now_s)
    models = model_rows(llm)
    priced = [m.cost_usd for m in models if m.cost_usd is not None]  # summed in the rollup's order
    models.sort(key=lambda m: (-m.requests, m.model, m.provider))
    agents = sorted((AgentRow(k[0], k[1], number(a.executions), number(a.errors), rate(a.errors, a.executions),
                              _ms(a.latency, 0.95)) for k, a in llm.agents.items()),
                    key=lambda a: (-a.executions, a.agent_name, a.task_type))
    profiles = sorted((ProfileRow(name, p["provider"], number(p["requests"]), rate(p["errors"], p["requests"]))
                       for name, p in llm.profiles.items()), key=lambda p: (-p.requests, p.name))
    t_req = sum(a.requests for a in llm.models.values())
    t_err = sum(a.errors for a in llm.models.values())
    totals = Totals(
        number(t_req), number(t_err), rate(t_err, t_req), number(sum(a.input_tokens for a in llm.models.values())),
        number(sum(a.output_tokens for a in llm.models.values())), sum(priced) if priced else None,
        any(m.pricing for m in models), llm.req_series.total(now_s, span) / span,
        llm.tok_series.total(now_s, span) / span, spark(llm.req_series, now_s), spark(llm.tok_series, now_s))
    return Dashboard(
        tap_part(engine, status),
        ProfilesPart(llm.available, llm.selected, llm.selected_provider, number(llm.bootstraps), tuple(profiles),
                     tuple(llm.switches)),
        totals, tuple(models), tuple(agents), tuple(llm.events),
        tuple(sorted(llm.checks.values(), key=lambda c: (c.name, c.tags))), status.dd_agent if status else None,
        fleet if fleet is not None else FleetPart(), spans if spans is not None else SpanSummary())


def _ms(sketch: DDSketch, q: float) -> float | None:
    value = quantile(sketch, q)
    return None if value is None else round(value, 3)
