"""State shared by the vocabulary handlers: the aggregates, and how a context finds its own."""

from __future__ import annotations

import collections
from typing import Any

from ..cost import CostSource, Pricer
from ..series import Series
from ..vocab import Vocabulary
from .aggregates import MAX_KEYS, OTHER, AgentAgg, ModelAgg


class RollupBase:
    """The aggregates every vocabulary folds into, and the lookups that create them (capped at MAX_KEYS)."""

    def __init__(self, vocab: Vocabulary | None = None, pricer: CostSource | None = None, window: int = 600,
                 max_events: int = 50) -> None:
        self.vocab = vocab or Vocabulary()
        self.pricer: CostSource = pricer or Pricer()
        self.window = window
        self.models: dict[tuple[str, str], ModelAgg] = {}
        self.agents: dict[tuple[str, str], AgentAgg] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        self.available: int | None = None
        self.selected: str | None = None
        self.selected_provider: str | None = None
        self.bootstraps = 0.0
        self.switches: collections.deque[tuple[float, str | None, str]] = collections.deque(maxlen=50)
        self.events: collections.deque[dict[str, Any]] = collections.deque(maxlen=max_events)
        self.checks: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
        self.first_s: int | None = None
        self.req_series = Series(window)
        self.tok_series = Series(window)
        self.err_series = Series(window)

    def _model(self, model: str, provider: str) -> ModelAgg:
        key = (model or "unknown", provider or "unknown")
        agg = self.models.get(key)
        if agg is None:
            if len(self.models) >= MAX_KEYS:
                key = (OTHER, OTHER)
                agg = self.models.get(key)
            if agg is None:
                agg = self.models[key] = ModelAgg(self.window)
                if len(self.models) == 1:
                    self.pricer.prefetch()  # the first model: have its price ready by the time it is shown
        return agg

    def _agent(self, name: str, task: str) -> AgentAgg:
        key = (name or "unknown", task or "unknown")
        if key not in self.agents and len(self.agents) >= MAX_KEYS:
            key = (OTHER, OTHER)
        agg = self.agents.get(key)
        if agg is None:
            agg = self.agents[key] = AgentAgg()
        return agg

    def _profile(self, name: str) -> dict[str, Any]:
        if name not in self.profiles and len(self.profiles) >= MAX_KEYS:
            name = OTHER
        return self.profiles.setdefault(name, {"provider": None, "requests": 0.0, "errors": 0.0})

    def _select(self, name: str, provider: str | None, sec: float) -> None:
        if name != self.selected:
            if self.selected is not None:
                self.switches.append((sec, self.selected, name))
                self.events.append({"ts": float(sec), "title": "profile switch",
                                    "text": f"{self.selected} -> {name}", "alert_type": "warning",
                                    "tags": [f"profile:{name}"] + ([f"provider:{provider}"] if provider else [])})
            elif self.switches.maxlen:
                self.switches.append((sec, None, name))
        self.selected = name
        if provider:
            self.selected_provider = provider

    def _count_request(self, agg: ModelAgg, n: float, failed: bool, sec: int, profile: str | None) -> None:
        agg.requests += n
        agg.req_series.add(sec, n)
        self.req_series.add(sec, n)
        if failed:
            agg.errors += n
            agg.err_series.add(sec, n)
            self.err_series.add(sec, n)
        if profile:
            prof = self._profile(profile)
            prof["requests"] += n
            if failed:
                prof["errors"] += n

    def _count_tokens(self, agg: ModelAgg, attr: str, n: float, sec: int) -> None:
        """Add `n` tokens to `agg.attr`; the token series counts in+out, or `used` when a model sends only that."""
        setattr(agg, attr, getattr(agg, attr) + n)
        if attr in ("input_tokens", "output_tokens") or (attr == "used_tokens" and not (
                agg.input_tokens or agg.output_tokens)):
            agg.tok_series.add(sec, n)
            self.tok_series.add(sec, n)
