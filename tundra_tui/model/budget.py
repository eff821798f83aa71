"""The budget: `[budget] usd_per_hour` or `usd_per_day`, spent per calendar period in local time (docs/json.md).

Spend is the priced cost since the period began; the burn is the spend over the last 5 minutes
(clamped to the period's start) per hour; the projection adds the burn over the time left.
A model nothing prices has unknown spend: it is named, never counted as $0.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .alert_parts import BudgetPart
from .series import Series

if TYPE_CHECKING:
    from .llm.base import RollupBase

BURN_S = 300  # the burn rate covers the last 5 minutes
PERIODS = {"usd_per_hour": "hour", "usd_per_day": "day"}


@dataclass(frozen=True, slots=True)
class BudgetRule:
    """The `[budget]` table."""

    limit_usd: float
    period: str  # "hour" | "day"


def parse_budget(value: Any) -> BudgetRule:
    """The `[budget]` table; ValueError with a one-line message naming the key."""
    if not isinstance(value, dict):
        raise ValueError("config: 'budget' must be a table")
    for k in value:
        if k not in PERIODS:
            raise ValueError(f"config: unknown key 'budget.{k}' (use usd_per_hour or usd_per_day)")
    if len(value) != 1:
        raise ValueError("config: 'budget' needs exactly one of usd_per_hour and usd_per_day")
    key, limit = next(iter(value.items()))
    if not isinstance(limit, int | float) or isinstance(limit, bool) or not math.isfinite(limit) or limit <= 0:
        raise ValueError(f"config: 'budget.{key}' must be a number > 0")
    return BudgetRule(float(limit), PERIODS[key])


def period_bounds(period: str, now_s: float) -> tuple[int, int]:
    """The local-time calendar hour or day holding `now_s`: its start and the next one's (epoch s)."""
    t = time.localtime(now_s)
    if period == "hour":
        start = int(time.mktime((t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, 0, 0, 0, 0, -1)))
        return start, start + 3600
    start = int(time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1)))
    return start, int(time.mktime((t.tm_year, t.tm_mon, t.tm_mday + 1, 0, 0, 0, 0, 0, -1)))  # 23-25 h with DST


class BudgetBook:
    """The period's baseline (the session's priced cost when the period began) and when the limit was hit."""

    def __init__(self, rule: BudgetRule) -> None:
        self.rule = rule
        self.start: int | None = None
        self.base = 0.0
        self.hit_at: float | None = None

    def part(self, llm: RollupBase, now_s: int) -> BudgetPart:
        """The budget at capture second `now_s`."""
        from .llm.grouping import key_costs

        costs = key_costs(llm)
        priced = [(llm.keys[k], float(c)) for k, c in costs.items() if isinstance(c, float | int)]
        unpriced = tuple(sorted({k[0] for k, c in costs.items() if not isinstance(c, float | int)}))
        rule = self.rule
        start, end = period_bounds(rule.period, now_s)
        if not priced:
            return BudgetPart(rule.limit_usd, rule.period, None, None, None, None, unpriced)
        total = math.fsum(c for _, c in priced)
        if self.start != start:
            self.start, self.hit_at = start, None
            began_within = llm.first_s is not None and llm.first_s >= start
            self.base = 0.0 if began_within else total - _spend(priced, now_s, now_s - start + 1)
        spent = max(total - self.base, 0.0)
        span = max(1, min(BURN_S, now_s - start + 1))
        burn = _spend(priced, now_s, span) / span * 3600.0
        projected = spent + burn * max(end - now_s, 0) / 3600.0
        if spent >= rule.limit_usd:
            if self.hit_at is None:
                self.hit_at = _crossed(priced, now_s, spent, rule.limit_usd, start)
            exhausted: float | None = self.hit_at
        elif burn > 0:
            at = now_s + (rule.limit_usd - spent) / burn * 3600.0
            exhausted = round(at, 3) if at <= end else None
        else:
            exhausted = None
        return BudgetPart(rule.limit_usd, rule.period, round(spent, 9), round(burn, 9), round(projected, 9),
                          exhausted, unpriced)


def priced_per_second(priced: list[tuple[Any, float]], now_s: int, span: int) -> list[float]:
    """The priced spend of each of the `span` seconds ending at `now_s`, oldest first: each key's tokens at
    its average cost a token (seconds older than the series' window count as 0)."""
    out = [0.0] * span
    for agg, cost in priced:
        all_tokens = agg.input_tokens + agg.output_tokens or agg.used_tokens
        if all_tokens:
            series: Series = agg.tok_series
            kept = min(span, series.window)
            per_token = cost / all_tokens
            for i, v in enumerate(series.values(now_s, kept), span - kept):
                out[i] += v * per_token
    return out


def _spend(priced: list[tuple[Any, float]], now_s: int, span: int) -> float:
    """The priced spend of the `span` seconds ending at `now_s`."""
    return math.fsum(priced_per_second(priced, now_s, span))


def _crossed(priced: list[tuple[Any, float]], now_s: int, spent: float, limit: float, start: int) -> float:
    """The second the spend reached `limit`, walking back from `now_s` (`now_s` itself past the series)."""
    per = priced_per_second(priced, now_s, max(1, min(now_s - start + 1, priced[0][0].tok_series.window)))
    for i in range(len(per) - 1, -1, -1):
        spent -= per[i]
        if spent < limit:
            return float(now_s - (len(per) - 1 - i))
    return float(now_s - len(per) + 1)
