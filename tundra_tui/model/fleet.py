"""The fleet section: per model and provider across every host, as Datadog aggregated it.

Pure: folds the JSON of a v2 `query_timeseries_data` answer into rows. The poller that
fetches it lives in services/fleet.py.
"""

from __future__ import annotations

from typing import Any

from ..protocol.text import clean_any
from .cost import PRICING, CostSource
from .numbers import MAX_MAGNITUDE, fsum, number
from .snapshot import FleetModel
from .vocab import FALSE_VALUES

STATUSES = ("off", "ok", "rate_limited", "unauthorized", "error")  # FleetPart.status


def fleet_queries(scope: str, metrics: dict[str, str], tags: dict[str, str]) -> list[tuple[str, str]]:
    """(name, metrics query) pairs in the at-daemon vocabulary; the order is the query_index order."""
    s = scope or "*"
    m, p, ok = tags["model"], tags["provider"], tags["success"]
    return [
        ("requests", f"sum:{metrics['request_complete']}{{{s}}} by {{{m},{p},{ok},host}}.as_count()"),
        ("input_tokens", f"sum:{metrics['tokens_input']}{{{s}}} by {{{m},{p}}}.as_count()"),
        ("output_tokens", f"sum:{metrics['tokens_output']}{{{s}}} by {{{m},{p}}}.as_count()"),
    ]


def _tagmap(group_tags: object) -> dict[str, str]:
    """An answer's `group_tags` as key -> value; any host in the org writes these, so they are sanitised here."""
    out: dict[str, str] = {}
    for t in group_tags if isinstance(group_tags, list) else ():
        key, _, value = (clean_any(t) or "").partition(":")
        out[key] = value
    return out


def _total(values: object) -> float:
    """The sum of a series' points: null, non-numbers, non-finite and absurd values left out (never raises)."""
    if not isinstance(values, list):
        return 0.0
    return fsum(v for v in values if isinstance(v, int | float) and -MAX_MAGNITUDE <= v <= MAX_MAGNITUDE)


def fold_answer(answer: dict[str, Any], tags: dict[str, str],
                pricer: CostSource) -> tuple[tuple[FleetModel, ...], int | None, bool]:
    """Rows per (model, provider), the host count, and whether a price is still being asked, from a
    timeseries answer's JSON."""
    attrs = (answer.get("data") or {}).get("attributes") or {}
    series = attrs.get("series") or []
    values = attrs.get("values") or []
    values = values if isinstance(values, list) else []
    names = ("requests", "input_tokens", "output_tokens")
    rows: dict[tuple[str, str], dict[str, float]] = {}
    hosts: set[str] = set()
    for i, s in enumerate(series if isinstance(series, list) else ()):
        idx = s.get("query_index", 0) if isinstance(s, dict) else -1
        if not isinstance(idx, int) or not 0 <= idx < len(names) or i >= len(values):
            continue
        total = _total(values[i])
        tm = _tagmap(s.get("group_tags"))
        key = (tm.get(tags["model"], "unknown"), tm.get(tags["provider"], "unknown"))
        row = rows.setdefault(key, {"requests": 0.0, "errors": 0.0, "input_tokens": 0.0, "output_tokens": 0.0})
        row[names[idx]] += total
        if idx == 0:
            if tm.get(tags["success"], "true").lower() in FALSE_VALUES:
                row["errors"] += total
            if tm.get("host") and total > 0:
                hosts.add(tm["host"])
    out = []
    pending = False
    for (model, provider), r in sorted(rows.items(), key=lambda kv: -kv[1]["requests"]):
        cost = pricer.cost(model, provider, r["input_tokens"], r["output_tokens"])
        pending = pending or cost is PRICING
        out.append(FleetModel(model, provider, number(r["requests"]), number(r["errors"]),
                              number(r["input_tokens"]), number(r["output_tokens"]),
                              None if cost is PRICING else cost))
    return tuple(out), (len(hosts) if hosts else None), pending

