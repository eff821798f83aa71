"""Build the typed Dashboard (docs/json.md) from the engine state. Called with the engine lock held: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .host_parts import FleetPart
from .llm import Group, group
from .llm.grouping import total_of
from .numbers import count, quantile
from .receiver_parts import HEALTHY
from .series import Series
from .series import rate as series_rate
from .snapshot import (
    AgentRow,
    ContextRow,
    Dashboard,
    ModelRow,
    ParseErrors,
    ProfileRow,
    ProfilesPart,
    SessionStatus,
    Stats,
    TapPart,
    Totals,
)
from .spans import SpanSummary

if TYPE_CHECKING:
    from ddsketch import DDSketch

    from .engine import Engine
    from .llm import LLMRollup

def rate(errors: float, total: float) -> float:
    """errors/total, 0 when there is no total."""
    return errors / total if total else 0.0


def elapsed(llm: LLMRollup, now_s: int) -> int | None:
    """Seconds of traffic seen so far (rates divide by fewer than their window early in a session)."""
    return None if llm.first_s is None else now_s - llm.first_s + 1


def current(series: Series, now_s: int, rate_window: int, since: int | None) -> float:
    """The series' per-second rate over the last `rate_window` seconds ending at `now_s`."""
    return series_rate(series.values(now_s, rate_window), rate_window, since)


def spark(series: Series, now_s: int) -> tuple[float, ...]:
    """Per-second values over the series' whole window, oldest first (the panes fold them to their width)."""
    return tuple(series.values(now_s))


def source_label(status: SessionStatus | None) -> str:
    """What the document describes: `replay:FILE`, `live:URL,...`, or `engine` without a session."""
    if status is None:
        return "engine"
    src = status.source
    if src.replay is not None:
        return f"replay:{src.replay.file}"
    return "live:" + ",".join(src.listen) if src.listen else src.kind


def parse_errors(engine: Engine) -> ParseErrors:
    """The parser's error counters as a part."""
    e = engine.parser.errors
    return ParseErrors(e["metric"], e["event"], e["service_check"])


def stats_of(engine: Engine, source: str, top: int | None) -> Stats:
    """The `tundra stats --json` document: contexts (the `top` busiest, or all) and bad lines, shown redacted."""
    show, st = engine.redactor, engine.store
    rows = tuple(ContextRow(r["name"], r["type"], tuple(r["tags"]), r["samples"], r["count"], r["value"],
                            r.get("bad_values", 0)) for r in st.rows(top, show.context))
    bad = tuple(f"{b.kind} ({b.reason}): {show.line(b.text)}" for b in engine.parser.bad_lines)
    return Stats(source, engine.packets, engine.lines, parse_errors(engine), engine.bad_values, engine.events,
                 engine.service_checks, rows, contexts_total=len(st.contexts), contexts_dropped=st.dropped_contexts,
                 max_contexts=st.max_contexts, redacted_datagrams=engine.redacted_datagrams, bad_lines=bad)


def tap_part(engine: Engine, status: SessionStatus | None, now_ns: int) -> TapPart:
    """The `tap` section: the engine's counters plus the drops and truncation the source saw."""
    age = max(now_ns - engine.last_ts_ns, 0) / 1e9 if engine.packets else None
    return TapPart(status.source.mode if status else None, engine.packets, engine.lines, parse_errors(engine),
                   status.dropped if status else 0,
                   status.source.truncated if status else 0, engine.bad_values, len(engine.store.contexts),
                   engine.store.dropped_contexts, engine.redacted_datagrams, None if age is None else round(age, 3),
                   current(engine.datagram_series, now_ns // 1_000_000_000, engine.rate_window,
                           None if not engine.first_ts_ns else (now_ns - engine.first_ts_ns) // 1_000_000_000 + 1),
                   status.unparsed if status else 0, status.recorder_in_flight if status else 0,
                   status.source.receiver if status else HEALTHY)


def model_rows(llm: LLMRollup, rows: list[Group]) -> list[ModelRow]:
    """One row per (model, provider), most requests first."""
    out = [ModelRow(g.key, g.sub, count(g.agg.requests), count(g.agg.errors), rate(g.agg.errors, g.agg.requests),
                    count(g.agg.input_tokens), count(g.agg.output_tokens), g.cost_usd, g.pricing,
                    _ms(g.agg.latency, 0.50), _ms(g.agg.latency, 0.95), _ms(g.agg.latency, 0.99)) for g in rows]
    out.sort(key=lambda m: (-m.requests, m.model, m.provider))
    return out


def build(engine: Engine, llm: LLMRollup, now_ns: int, status: SessionStatus | None,
          fleet: FleetPart | None = None, spans: SpanSummary | None = None) -> Dashboard:
    """The whole dashboard from the rollup `llm` (the full one for JSON, the filtered one on screen)."""
    now_s = now_ns // 1_000_000_000
    rw = engine.rate_window
    since = elapsed(llm, now_s)
    by_model = group(llm, "model", now_s, rw)
    whole = total_of(by_model, llm.window)
    agents = sorted((AgentRow(k[0], k[1], count(a.executions), count(a.errors), rate(a.errors, a.executions),
                              _ms(a.latency, 0.95)) for k, a in llm.agents.items()),
                    key=lambda a: (-a.executions, a.agent_name, a.task_type))
    profiles = sorted((ProfileRow(g.key, g.sub or None, count(g.agg.requests), rate(g.agg.errors, g.agg.requests))
                       for g in group(llm, "profile", now_s, rw) if g.key in llm.profile_providers),
                      key=lambda p: (-p.requests, p.name))
    t = whole.agg
    totals = Totals(
        float(llm.first_s) if llm.first_s is not None else None,
        count(t.requests), count(t.errors), rate(t.errors, t.requests), count(t.input_tokens),
        count(t.output_tokens), whole.cost_usd, len(whole.models), whole.priced, whole.pricing,
        current(llm.req_series, now_s, rw, since), current(llm.tok_series, now_s, rw, since),
        None if whole.cost_per_s is None else whole.cost_per_s * 60,
        spark(llm.req_series, now_s), spark(llm.tok_series, now_s))
    return Dashboard(
        datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"), source_label(status),
        now_ns / 1e9, rw, llm.window,
        tap_part(engine, status, now_ns),
        ProfilesPart(llm.available, llm.selected, llm.selected_provider, count(llm.bootstraps), tuple(profiles),
                     tuple(llm.switches)),
        totals, tuple(model_rows(llm, by_model)), tuple(agents), tuple(llm.events),
        tuple(sorted(llm.checks.values(), key=lambda c: (c.name, c.tags))), status.dd_agent if status else None,
        fleet if fleet is not None else FleetPart(), spans if spans is not None else SpanSummary(),
        prices="pending" if totals.pricing else "ready")


def _ms(sketch: DDSketch, q: float) -> float | None:
    value = quantile(sketch, q)
    return None if value is None else round(value, 3)
