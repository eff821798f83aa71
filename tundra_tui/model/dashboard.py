"""Build the dashboard document (telemetry.md's `--once --json` contract) from the engine state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .fleet import FleetState
from .numbers import number, quantile
from .spans import SpanSummary

if TYPE_CHECKING:
    from .engine import Engine
    from .llm import LLMRollup


def _rate(errors: float, total: float) -> float:
    return errors / total if total else 0.0


def build(engine: Engine, llm: LLMRollup, now_s: int, status: dict[str, Any]) -> dict[str, Any]:
    """The whole dashboard as plain data."""
    span = llm.rate_span(now_s)
    models: list[dict[str, Any]] = []
    tot_req = tot_err = tot_in = tot_out = 0.0
    costs: list[float] = []
    for key, agg in llm.models.items():
        cost = llm.model_cost(key, agg)
        if cost is not None:
            costs.append(cost)
        tot_req += agg.requests
        tot_err += agg.errors
        tot_in += agg.input_tokens
        tot_out += agg.output_tokens
        lat = agg.latency
        models.append({
            "model": key[0], "provider": key[1], "requests": number(agg.requests), "errors": number(agg.errors),
            "error_rate": _rate(agg.errors, agg.requests), "input_tokens": number(agg.input_tokens),
            "output_tokens": number(agg.output_tokens), "cost_usd": cost,
            "p50_ms": _quantile(lat, 0.50), "p95_ms": _quantile(lat, 0.95), "p99_ms": _quantile(lat, 0.99),
        })
    models.sort(key=lambda m: (-float(m["requests"]), str(m["model"]), str(m["provider"])))
    agents: list[dict[str, Any]] = [
        {"agent_name": k[0], "task_type": k[1], "executions": number(a.executions), "errors": number(a.errors),
         "error_rate": _rate(a.errors, a.executions), "p95_ms": _quantile(a.latency, 0.95)}
        for k, a in llm.agents.items()]
    agents.sort(key=lambda a: (-float(a["executions"]), str(a["agent_name"]), str(a["task_type"])))
    profiles = [{"name": name, "provider": p["provider"], "requests": number(p["requests"]),
                 "error_rate": _rate(p["errors"], p["requests"])} for name, p in llm.profiles.items()]
    profiles.sort(key=lambda p: (-p["requests"], p["name"]))
    kernel = status.get("kernel_drops") or 0
    return {
        "tap": {"mode": status.get("mode"), "packets": engine.packets, "lines": engine.lines,
                "errors": dict(engine.parser.errors),
                "dropped": kernel + (status.get("recorder_dropped") or 0),
                "truncated": status.get("truncated", 0), "bad_values": engine.bad_values,
                "contexts": len(engine.store.contexts), "contexts_dropped": engine.store.dropped_contexts},
        "profiles": {"available": llm.available, "selected": llm.selected,
                     "selected_provider": llm.selected_provider, "bootstraps": number(llm.bootstraps),
                     "profiles": profiles},
        "totals": {"requests": number(tot_req), "errors": number(tot_err), "error_rate": _rate(tot_err, tot_req),
                   "input_tokens": number(tot_in), "output_tokens": number(tot_out),
                   "cost_usd": sum(costs) if costs else None,
                   "requests_per_s": llm.req_series.total(now_s, span) / span,
                   "tokens_per_s": llm.tok_series.total(now_s, span) / span},
        "models": models,
        "agents": agents,
        "events": list(llm.events),
        "service_checks": sorted(({k: v for k, v in c.items() if k in ("name", "status", "tags", "message")}
                                  for c in llm.checks.values()), key=lambda c: (c["name"], c["tags"])),
        "dd_agent": status.get("dd_agent"),  # live only: the Agent's socket, its expvar counters, /info
        "fleet": FleetState().as_json(),  # the Session puts its poller's state here
        "spans": SpanSummary().as_json(),  # and its trace port's (or sidecar's) spans here
    }


def _quantile(sketch: Any, q: float) -> float | None:
    value = quantile(sketch, q)
    return None if value is None else round(value, 3)
