"""State shared by the vocabulary handlers: the aggregates, and how a context finds its own."""

from __future__ import annotations

import collections

from ..cost import CostSource, Pricer
from ..series import Series
from ..snapshot import CheckRow, EventRow, Switch
from ..vocab import Vocabulary
from .aggregates import MAX_KEYS, OTHER, UNKNOWN, AgentAgg, Key, KeyAgg

MAX_TYPE_LEN = 100  # an error type is a short name; the wire may send a long one


class RollupBase:
    """The aggregates every vocabulary folds into, and the lookups that create them (capped at MAX_KEYS)."""

    def __init__(self, vocab: Vocabulary | None = None, pricer: CostSource | None = None, window: int = 600,
                 max_events: int = 50) -> None:
        self.vocab = vocab or Vocabulary()
        self.pricer: CostSource = pricer or Pricer()
        self.window = window
        self.keys: dict[Key, KeyAgg] = {}
        self.agents: dict[tuple[str, str], AgentAgg] = {}
        self.profile_providers: dict[str, str | None] = {}  # every profile named, with its provider once known
        self.available: int | None = None
        self.selected: str | None = None
        self.selected_provider: str | None = None
        self.bootstraps = 0.0
        self.switches: collections.deque[Switch] = collections.deque(maxlen=50)
        self.events: collections.deque[EventRow] = collections.deque(maxlen=max_events)
        self.checks: dict[tuple[str, tuple[str, ...]], CheckRow] = {}
        self.first_s: int | None = None
        self.req_series = Series(window)
        self.tok_series = Series(window)
        self.err_series = Series(window)
        self.latency_window = 0  # seconds of per-second latency kept per key (alerts on p95/p99; 0: none)

    def _key_agg(self, model: str, provider: str, agent: str = "", profile: str = "") -> KeyAgg:
        """The aggregate of one (model, provider, agent, profile). Past MAX_KEYS a new key keeps its model
        and provider and folds its agent and profile into "(other)"; past twice that, all of it."""
        key = (model or UNKNOWN, provider or UNKNOWN, agent or UNKNOWN, profile or UNKNOWN)
        agg = self.keys.get(key)
        if agg is None:
            if len(self.keys) >= MAX_KEYS:
                key = (key[0], key[1], OTHER, OTHER)
                if key not in self.keys and len(self.keys) >= 2 * MAX_KEYS:
                    key = (OTHER, OTHER, OTHER, OTHER)
                agg = self.keys.get(key)
            if agg is None:
                agg = self.keys[key] = KeyAgg(self.window)
                if len(self.keys) == 1:
                    self.pricer.prefetch()  # the first model: have its price ready by the time it is shown
        if profile and profile not in self.profile_providers and len(self.profile_providers) < MAX_KEYS:
            self.profile_providers[profile] = provider or None
        return agg

    def _agent(self, name: str, task: str) -> AgentAgg:
        key = (name or UNKNOWN, task or UNKNOWN)
        if key not in self.agents and len(self.agents) >= MAX_KEYS:
            key = (OTHER, OTHER)
        agg = self.agents.get(key)
        if agg is None:
            agg = self.agents[key] = AgentAgg()
        return agg

    def _profile(self, name: str, provider: str | None) -> None:
        """Note a profile and (when given) its provider."""
        if name not in self.profile_providers and len(self.profile_providers) >= MAX_KEYS:
            name = OTHER
        if provider or name not in self.profile_providers:
            self.profile_providers[name] = provider or self.profile_providers.get(name)

    def _select(self, name: str, provider: str | None, sec: float) -> None:
        if name != self.selected:
            if self.selected is not None:
                self.switches.append(Switch(float(sec), self.selected, name))
                self.events.append(EventRow(float(sec), "profile switch", f"{self.selected} -> {name}", "warning",
                                            (f"profile:{name}", *((f"provider:{provider}",) if provider else ()))))
            elif self.switches.maxlen:
                self.switches.append(Switch(float(sec), None, name))
        self.selected = name
        if provider:
            self.selected_provider = provider

    def _count_request(self, agg: KeyAgg, n: float, failed: bool, sec: int, error_type: str | None = None) -> None:
        agg.requests += n
        agg.req_series.add(sec, n)
        self.req_series.add(sec, n)
        if failed:
            self._count_error(agg, n, sec, error_type)

    def _count_error(self, agg: KeyAgg, n: float, sec: int, error_type: str | None) -> None:
        agg.errors += n
        agg.err_series.add(sec, n)
        self.err_series.add(sec, n)
        if error_type:
            agg.count_error_type(error_type[:MAX_TYPE_LEN], n)

    def _latency(self, agg: KeyAgg, vals: list[float], w: float, sec: int) -> None:
        """Latency samples (ms) into the key's sketch, and its per-second ones when alerts read them."""
        agg.lazy_latency.add(vals, w)
        agg.lat_history.add(sec, vals, w)
        if self.latency_window:
            agg.add_recent(sec, vals, w, self.window)  # the alerts drop judged seconds

    def _count_tokens(self, agg: KeyAgg, attr: str, n: float, sec: int, lines: float) -> None:
        """Add `n` tokens, from `lines` samples, to `agg.attr`; the token series counts in+out, or `used` when a
        key sends only that."""
        setattr(agg, attr, getattr(agg, attr) + n)
        agg.token_lines[attr] = agg.token_lines.get(attr, 0.0) + lines
        agg.has_tokens = True
        if attr in ("input_tokens", "output_tokens") or (attr == "used_tokens" and not (
                agg.input_tokens or agg.output_tokens)):
            agg.tok_series.add(sec, n)
            self.tok_series.add(sec, n)
