"""Rows of one grouping (model, provider, agent, profile), merged from the per-key aggregates.

Every key lands in exactly one row of every grouping, so each grouping's rows add up to the same
totals. A key's cost is what the daemon reported for it, else its own tokens priced, so costs add
up too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..cost import PRICING, CostAnswer
from .aggregates import Key, KeyAgg

if TYPE_CHECKING:
    from .base import RollupBase

GROUPINGS = ("model", "provider", "agent", "profile")
_PART = {"model": 0, "provider": 1, "agent": 2, "profile": 3}


@dataclass
class Group:
    """One row of a grouping: the merge of its keys, their cost, and (by agent) the agent's runs."""

    key: str
    sub: str  # beside the key: a model's or a profile's provider, else ""
    agg: KeyAgg
    cost_usd: float | None = None  # of the priced part; None when no part is priced
    cost_per_s: float | None = None  # over the rate window, from the keys' token rates
    models: set[tuple[str, str]] = field(default_factory=set)  # (model, provider) with something to price
    unpriced: set[tuple[str, str]] = field(default_factory=set)  # ... of which nothing prices
    pending: set[tuple[str, str]] = field(default_factory=set)  # ... whose price is still being asked
    executions: float | None = None  # `llm.agent.execution` runs, by agent only (they name no model)
    execution_errors: float = 0.0

    @property
    def priced(self) -> int:
        """How many of `models` are priced (the cost is partial when fewer than all)."""
        return len(self.models - self.unpriced - self.pending)

    @property
    def pricing(self) -> bool:
        """Some price is still being asked (shown as "…")."""
        return bool(self.pending)


def key_costs(llm: RollupBase) -> dict[Key, CostAnswer]:
    """The cost of every key with something to price (None: nothing prices it; PRICING: being asked).

    Each key's own tokens are priced (its input, output and cached counts at its model's price), so
    an agent's cost is what its tokens cost, and any grouping's rows add up to the total; as requests of
    their average size, so a price tier past N tokens applies per request, never to a session's sum."""
    out: dict[Key, CostAnswer] = {}
    for k, a in llm.keys.items():
        if a.reported_total_cost is not None:
            out[k] = a.reported_total_cost  # the daemon's own figure wins (docs/json.md, Pricing)
        elif a.reported_part_cost is not None:
            out[k] = a.reported_part_cost
        elif a.has_tokens:
            out[k] = llm.pricer.cost(k[0], k[1], a.input_tokens, a.output_tokens, a.cache_read_tokens,
                                     part=k[2:], requests=a.token_requests)
    return out


def group(llm: RollupBase, by: str, now_s: int, rate_window: int) -> list[Group]:
    """The rows of grouping `by` (one of GROUPINGS), unsorted; `$ per s` over the last `rate_window` s."""
    part = _PART[by]
    costs = key_costs(llm)
    rows: dict[tuple[str, str], Group] = {}

    def row(key: str, sub: str) -> Group:
        g = rows.get((key, sub))
        if g is None:
            g = rows[(key, sub)] = Group(key, sub, KeyAgg(llm.window))
        return g

    for k, a in llm.keys.items():
        if by == "model":
            g = row(k[0], k[1])
        elif by == "profile":
            g = row(k[3], llm.profile_providers.get(k[3]) or "")
        else:
            g = row(k[part], "")
        g.agg.absorb(a)
        if k not in costs:
            continue
        g.models.add((k[0], k[1]))
        cost = costs[k]
        if cost is PRICING:
            g.pending.add((k[0], k[1]))
            continue
        if not isinstance(cost, float):
            g.unpriced.add((k[0], k[1]))
            continue
        g.cost_usd = (g.cost_usd or 0.0) + cost
        all_tokens = a.input_tokens + a.output_tokens or a.used_tokens
        recent = a.tok_series.total(now_s, rate_window)
        # a key's $/s: its cost scaled by the share of its tokens spent in the rate window
        g.cost_per_s = (g.cost_per_s or 0.0) + (cost * recent / all_tokens / rate_window if all_tokens else 0.0)
    if by == "profile":
        for name, provider in llm.profile_providers.items():
            row(name, provider or "")  # profiles named only by `selected` or a bootstrap event
    elif by == "agent":
        for (name, _task), agent in llm.agents.items():  # task_type folds: rows are by agent name
            g = row(name, "")
            g.executions = (g.executions or 0.0) + agent.executions
            g.execution_errors += agent.errors
    return list(rows.values())


def total_of(rows: list[Group], window: int) -> Group:
    """Rows of one grouping merged: what the rows of any grouping add up to."""
    whole = Group("total", "", KeyAgg(window))
    for g in rows:
        whole.agg.absorb(g.agg)
        whole.models |= g.models
        whole.unpriced |= g.unpriced
        whole.pending |= g.pending
        if g.cost_usd is not None:
            whole.cost_usd = (whole.cost_usd or 0.0) + g.cost_usd
        if g.cost_per_s is not None:
            whole.cost_per_s = (whole.cost_per_s or 0.0) + g.cost_per_s
    return whole


def total(llm: RollupBase, now_s: int, rate_window: int) -> Group:
    """Every key merged: what the rows of any grouping add up to."""
    return total_of(group(llm, "provider", now_s, rate_window), llm.window)
