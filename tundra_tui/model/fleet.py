"""The fleet section: per model and provider across every host, as Datadog aggregated it.

Pure: folds the JSON of a v2 `query_timeseries_data` answer into rows. The poller that
fetches it lives in services/fleet.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..protocol import split_tag
from ..text import clean_any
from .cost import PRICING, CostSource
from .host_parts import FleetModel, FleetPart, HostCheck
from .numbers import MAX_MAGNITUDE, fsum, number
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
        key, value = split_tag(clean_any(t) or "")
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
        cost = pricer.cost(model, provider, r["input_tokens"], r["output_tokens"], part=("fleet",),
                           requests=max(r["requests"], 1.0))  # a price tier applies per request, not to the sum
        pending = pending or cost is PRICING
        out.append(FleetModel(model, provider, number(r["requests"]), number(r["errors"]),
                              number(r["input_tokens"]), number(r["output_tokens"]),
                              None if cost is PRICING else cost))
    return tuple(out), (len(hosts) if hosts else None), pending



def host_points(answer: dict[str, Any], host: str) -> tuple[tuple[int, float], ...]:
    """(point start in ms, requests) of one host, from the requests query of a timeseries answer."""
    attrs = (answer.get("data") or {}).get("attributes") or {}
    times, series, values = attrs.get("times"), attrs.get("series"), attrs.get("values")
    if not isinstance(times, list) or not isinstance(series, list) or not isinstance(values, list):
        return ()
    if not all(isinstance(t, int) and not isinstance(t, bool) and 0 <= t < 1 << 50 for t in times):
        return ()
    sums = [0.0] * len(times)
    seen = False
    for s, vals in zip(series, values, strict=False):
        if not isinstance(s, dict) or s.get("query_index", 0) != 0 or not isinstance(vals, list):
            continue
        if _tagmap(s.get("group_tags")).get("host") != host:
            continue
        seen = True
        for j, v in enumerate(vals[: len(times)]):
            if isinstance(v, int | float) and -MAX_MAGNITUDE <= v <= MAX_MAGNITUDE:
                sums[j] += v
    return tuple(sorted(zip(times, sums, strict=True))) if seen else ()


def host_check(fleet: FleetPart, since_s: int, until_s: int,
               tap_total: Callable[[int, int], float]) -> HostCheck | None:
    """This host's requests in Datadog beside what the tap saw, over the same whole points.

    Only points that start at or after `since_s` (the tap running, its series still holding
    them) and end by `until_s` (the poll, less Datadog's ingestion delay) are compared;
    `tap_total(end_s, span_s)` counts the tap's requests in (end - span, end]. None: no keys."""
    if fleet.host is None or fleet.status == "off":
        return None
    pts = fleet.host_points
    step = (pts[1][0] - pts[0][0]) // 1000 if len(pts) >= 2 else 0
    whole = [(t // 1000, v) for t, v in pts if t // 1000 >= since_s and t // 1000 + step <= until_s] if step > 0 else []
    if not whole:
        return HostCheck(fleet.host)
    start, end = whole[0][0], whole[-1][0] + step
    return HostCheck(fleet.host, start, end, number(fsum(v for _, v in whole)),
                     number(tap_total(end - 1, end - start)))
