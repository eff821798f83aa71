"""The LLM rollup: folds records of every vocabulary into per-profile, per-model and per-agent aggregates."""

from __future__ import annotations

import re
from typing import Any

from ...protocol import STATUS_NAMES, Context, Event, ServiceCheck
from ..cost import CostSource
from ..snapshot import CheckRow, EventRow
from ..vocab import Vocabulary
from .aggregates import MAX_PLANS, Groups, Handler, KeyAgg, Plan, TagMap
from .at_daemon import AtDaemonHandlers
from .gen_ai import GenAIHandlers
from .ml_obs import MlObsHandlers

_SELECTED_TEXT = re.compile(r"selected:\s*([\w.\-]+)\s*\(([^)]+)\)")


class LLMRollup(AtDaemonHandlers, MlObsHandlers, GenAIHandlers):
    """Every vocabulary at once; the engine asks it for a Plan per context and folds plans in groups."""

    def __init__(self, vocab: Vocabulary | None = None, pricer: CostSource | None = None, window: int = 600,
                 max_events: int = 50) -> None:
        super().__init__(vocab, pricer, window, max_events)
        self._handlers = self._build_handlers()
        self._plans: dict[tuple[Any, ...], Plan] = {}
        self.tag_filter: frozenset[str] = frozenset()

    def __getstate__(self) -> dict[str, Any]:
        # handlers are closures over self: rebuild them (and the plans holding them) on copy
        state = self.__dict__.copy()
        del state["_handlers"], state["_plans"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._handlers = self._build_handlers()
        self._plans = {}

    def accepts(self, tags: tuple[str, ...]) -> bool:
        """True when every filter term is among `tags`."""
        return self.tag_filter.issubset(tags)

    def _build_handlers(self) -> dict[str, tuple[Handler, tuple[str, ...]]]:
        """Metric name -> (handler, the tag keys it reads), over every vocabulary."""
        return {**self._at_handlers(), **self._mo_handlers(), **self._ga_handlers()}

    def wants(self, name: str) -> bool:
        """True if samples of a metric with this name may be folded here (some handler takes it)."""
        return name in self._handlers

    def plan(self, ctx: Context, w: float = 1.0) -> Plan | None:
        """How this rollup folds samples of `ctx` sent with weight `w` (1/rate), or None if it ignores
        them. Shared by every context whose name, handler-relevant tags and weight agree."""
        entry = self._handlers.get(ctx.name)
        if entry is None or ctx.mtype == "s" or not self.accepts(ctx.tags):
            return None  # set members are strings: no LLM signal is a set
        handler, keys = entry
        tags = TagMap(ctx.tags)
        key = (ctx.name, w, *(tags.get(k) for k in keys))
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= MAX_PLANS:
                self._plans.clear()  # plans stay valid; only their sharing is forgotten
            relevant = tuple(f"{k}:{tags[k]}" for k in keys if k in tags)
            plan = self._plans[key] = Plan(handler, TagMap(relevant), w)
        return plan

    def fold_groups(self, groups: Groups, sec: int) -> None:
        """Fold the engine's per-second groups: one handler call per plan."""
        if self.first_s is None:
            self.first_s = sec
        for plan, (vals, s) in groups.items():
            plan.handler(plan.tags, vals, s, plan.w, sec)

    def add_event(self, e: Event, ts_ns: int) -> None:
        """Keep the event; a bootstrap event naming the selected profile also selects it."""
        self.events.append(EventRow(float(e.timestamp) if e.timestamp else ts_ns / 1e9, e.title, e.text,
                                    e.alert_type, tuple(e.tags)))
        if "bootstrap" in e.title or "selected" in e.text:
            found = _SELECTED_TEXT.search(e.text)
            if found:
                self._profile(found.group(1), found.group(2))
                self._select(found.group(1), found.group(2), ts_ns // 1_000_000_000)

    def add_check(self, sc: ServiceCheck, ts_ns: int) -> None:
        """Latest status per (name, tags)."""
        self.checks[(sc.name, sc.tags)] = CheckRow(sc.name, sc.status, tuple(sc.tags), sc.message,
                                                   STATUS_NAMES[sc.status], ts_ns / 1e9)

    @property
    def models(self) -> dict[tuple[str, str], KeyAgg]:
        """Aggregates by (model, provider), merged from the keys."""
        out: dict[tuple[str, str], KeyAgg] = {}
        for k, a in self.keys.items():
            merged = out.get(k[:2])
            if merged is None:
                merged = out[k[:2]] = KeyAgg(self.window)
            merged.absorb(a)
        return out

    @property
    def profiles(self) -> dict[str, dict[str, Any]]:
        """Every profile named: its provider, requests and errors (merged from the keys)."""
        counts: dict[str, list[float]] = {name: [0.0, 0.0] for name in self.profile_providers}
        for k, a in self.keys.items():
            if k[3] in counts:
                counts[k[3]][0] += a.requests
                counts[k[3]][1] += a.errors
        return {name: {"provider": self.profile_providers[name], "requests": n, "errors": e}
                for name, (n, e) in counts.items()}

    def rate_span(self, now_s: int) -> int:
        """Seconds the `*_per_s` rates divide by: the window, or less early in a session."""
        if self.first_s is None:
            return 1
        return max(1, min(self.window, now_s - self.first_s + 1))
