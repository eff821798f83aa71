"""The LLM picture over the stream: profiles, per-model tokens/cost/latency, agents, events, checks.

Understands the at-daemon vocabulary (default, names overridable), Datadog LLM Observability
`ml_obs.*` (seconds, nanodollars) and OTel GenAI `gen_ai.*` (seconds) at the same time.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable
from typing import Any

from ddsketch import DDSketch

from ..protocol import STATUS_NAMES, Context, Event, Metric, ServiceCheck
from .cost import CostSource, Pricer
from .numbers import fsum
from .series import Series
from .sketch import add_many
from .store import weight_of
from .vocab import FALSE_VALUES, Vocabulary

Handler = Callable[["TagMap", list[float], float, float, int], None]  # (tags, values, their sum, weight, second)
MAX_KEYS = 500  # models/agents/profiles kept apart; past that they fold into "(other)"
OTHER = "(other)"
_SELECTED_TEXT = re.compile(r"selected:\s*([\w.\-]+)\s*\(([^)]+)\)")


class TagMap(dict[str, str]):
    """A context's tags by key, plus the aggregates its samples go to, resolved once per context."""

    __slots__ = ("agent", "agg")

    def __init__(self, tags: tuple[str, ...]) -> None:
        super().__init__(t.partition(":")[::2] for t in tags)
        self.agg: ModelAgg | None = None
        self.agent: AgentAgg | None = None


class Plan:
    """How one kind of context folds: its handler and the tags that handler reads.

    Contexts that differ only in tags the handler ignores share one Plan object, so the engine
    can fold their samples together (thousands of contexts usually feed a handful of models).
    """

    __slots__ = ("handler", "tags", "w")

    def __init__(self, handler: Handler, tags: TagMap, w: float) -> None:
        self.handler = handler
        self.tags = tags
        self.w = w  # samples of one plan share a sample rate too, so they fold as one batch


Groups = dict[Plan, list[Any]]  # plan -> [values, their sum]
MAX_PLANS = 50_000


class LazySketch:
    """A DDSketch fed in large batches: samples wait in lists until someone reads the sketch."""

    def __init__(self) -> None:
        self._sketch = DDSketch()
        self._pending: dict[float, list[float]] = {}

    def add(self, vals: list[float], w: float) -> None:
        """Queue samples of weight `w` (cheap: a list extend)."""
        pending = self._pending.get(w)
        if pending is None:
            self._pending[w] = pending = []
        pending.extend(vals)
        if len(pending) > 50_000:
            self._drain()

    def __deepcopy__(self, memo: dict[int, object]) -> LazySketch:
        """Merging into an empty sketch copies it (public ddsketch API) far faster than deepcopy."""
        new = LazySketch()
        new._sketch.merge(self.sketch)
        return new

    def _drain(self) -> None:
        for w, vals in self._pending.items():
            add_many(self._sketch, vals, w)
        self._pending.clear()

    @property
    def sketch(self) -> DDSketch:
        """The sketch with every queued sample in it."""
        if self._pending:
            self._drain()
        return self._sketch


class ModelAgg:
    """Everything known about one (model, provider)."""

    def __init__(self, window: int) -> None:
        self.requests = self.errors = self.starts = 0.0
        self.input_tokens = self.output_tokens = self.cache_read_tokens = self.used_tokens = 0.0
        self.reported_total_cost: float | None = None
        self.reported_part_cost: float | None = None
        self.lazy_latency = LazySketch()
        self.req_series = Series(window)
        self.err_series = Series(window)
        self.tok_series = Series(window)

    @property
    def latency(self) -> DDSketch:
        return self.lazy_latency.sketch


class AgentAgg:
    """One (agent_name, task_type)."""

    def __init__(self) -> None:
        self.executions = self.errors = 0.0
        self.lazy_latency = LazySketch()

    @property
    def latency(self) -> DDSketch:
        return self.lazy_latency.sketch


class LLMView:
    """Folds records into the LLM picture; `snapshot()` gives the dashboard JSON."""

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
        self.vocabularies: set[str] = set()
        self.first_s: int | None = None
        self.req_series = Series(window)
        self.tok_series = Series(window)
        self.err_series = Series(window)
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

    # -- dispatch ----------------------------------------------------------------
    def _build_handlers(self) -> dict[str, tuple[Handler, tuple[str, ...]]]:
        """Metric name -> (handler, the tag keys it reads)."""
        m, t = self.vocab.metrics, self.vocab.tags
        model = (t["model"], t["provider"])
        agent = (t["agent_name"], t["task_type"])
        mo = ("model_name", "model_provider")
        ga = ("gen_ai.response.model", "gen_ai.request.model", "gen_ai.provider.name", "gen_ai.system")
        return {
            m["bootstrap"]: (self._at_bootstrap, ()), m["available"]: (self._at_available, ()),
            m["selected"]: (self._at_selected, (t["profile"], t["provider"])),
            m["request_start"]: (self._at_start, model),
            m["request_complete"]: (self._at_complete, (*model, t["success"], t["profile"])),
            m["request_duration"]: (self._at_duration, model),
            m["tokens_input"]: (self._tokens("input_tokens"), model),
            m["tokens_output"]: (self._tokens("output_tokens"), model),
            m["tokens_used"]: (self._tokens("used_tokens"), model),
            m["agent_execution"]: (self._at_agent, (*agent, t["success"])),
            m["agent_duration"]: (self._at_agent_duration, agent),
            "ml_obs.span": (self._mo_span, mo), "ml_obs.span.error": (self._mo_error, mo),
            "ml_obs.span.duration": (self._mo_duration, mo),
            "ml_obs.span.llm.input.tokens": (self._mo_tokens("input_tokens"), mo),
            "ml_obs.span.llm.output.tokens": (self._mo_tokens("output_tokens"), mo),
            "ml_obs.span.llm.total.tokens": (self._mo_tokens("used_tokens"), mo),
            "ml_obs.span.llm.input.cache_read.tokens": (self._mo_tokens("cache_read_tokens"), mo),
            "ml_obs.span.llm.total.cost": (self._mo_cost(True), mo),
            "ml_obs.span.llm.input.cost": (self._mo_cost(False), mo),
            "ml_obs.span.llm.output.cost": (self._mo_cost(False), mo),
            "gen_ai.client.token.usage": (self._ga_tokens, (*ga, "gen_ai.token.type")),
            "gen_ai.client.operation.duration": (self._ga_duration, (*ga, "error.type")),
        }

    def plan(self, ctx: Context, w: float = 1.0) -> Plan | None:
        """How this view folds samples of `ctx` sent with weight `w` (1/rate), or None if it ignores
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

    def fold(self, plan: Plan, vals: list[float], sec: int) -> None:
        """Fold a batch of samples of one context (every sample counts, whatever the store's cap)."""
        if self.first_s is None:
            self.first_s = sec
        plan.handler(plan.tags, vals, fsum(vals), plan.w, sec)

    def fold_groups(self, groups: Groups, sec: int) -> None:
        """Fold the engine's per-second groups: one handler call per plan."""
        if self.first_s is None:
            self.first_s = sec
        for plan, (vals, s) in groups.items():
            plan.handler(plan.tags, vals, s, plan.w, sec)

    def add_metric(self, m: Metric, ts_ns: int) -> None:
        """Fold one metric record (tests and tools; the engine batches through plan/fold)."""
        plan = self.plan(m.context, weight_of(m.rate))
        if plan is not None and m.values:
            self.fold(plan, list(m.values), ts_ns // 1_000_000_000)  # type: ignore[arg-type]

    # -- keys ---------------------------------------------------------------------
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

    def _at_key(self, tags: TagMap) -> ModelAgg:
        """The (model, provider) aggregate of an at-daemon context, resolved once per context."""
        if tags.agg is None:
            t = self.vocab.tags
            tags.agg = self._model(tags.get(t["model"], ""), tags.get(t["provider"], ""))
        return tags.agg

    def _agent_of(self, tags: TagMap) -> AgentAgg:
        """The (agent, task) aggregate of a context, resolved once per context."""
        if tags.agent is None:
            t = self.vocab.tags
            tags.agent = self._agent(tags.get(t["agent_name"], ""), tags.get(t["task_type"], ""))
        return tags.agent

    # -- at-daemon -----------------------------------------------------------------
    def _at_bootstrap(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        self.vocabularies.add("at-daemon")
        self.bootstraps += s * w

    def _at_available(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        self.available = int(float(vals[-1]))

    def _at_selected(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        t = self.vocab.tags
        name, provider = tags.get(t["profile"]), tags.get(t["provider"])
        if not name:
            return
        prof = self._profile(name)
        if provider:
            prof["provider"] = provider
        if float(vals[-1]) >= 1:
            self._select(name, provider, sec)

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

    def _at_start(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        self._at_key(tags).starts += s * w

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

    def _at_complete(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        self.vocabularies.add("at-daemon")
        t = self.vocab.tags
        failed = tags.get(t["success"], "true").lower() in FALSE_VALUES
        n = s * w
        self._count_request(self._at_key(tags), n, failed, sec, tags.get(t["profile"]))

    def _at_duration(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        self._at_key(tags).lazy_latency.add(vals, w)

    def _tokens(self, attr: str) -> Handler:
        def handle(tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
            n = s * w
            agg = self._at_key(tags)
            setattr(agg, attr, getattr(agg, attr) + n)
            self._count_tokens(agg, attr, n, sec)
        return handle

    def _count_tokens(self, agg: ModelAgg, attr: str, n: float, sec: int) -> None:
        if attr in ("input_tokens", "output_tokens") or (attr == "used_tokens" and not (
                agg.input_tokens or agg.output_tokens)):
            agg.tok_series.add(sec, n)
            self.tok_series.add(sec, n)

    def _at_agent(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        t = self.vocab.tags
        agg = self._agent_of(tags)
        n = s * w
        agg.executions += n
        if tags.get(t["success"], "true").lower() in FALSE_VALUES:
            agg.errors += n

    def _at_agent_duration(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        self._agent_of(tags).lazy_latency.add(vals, w)

    # -- Datadog LLM Observability -------------------------------------------------------
    def _mo_key(self, tags: TagMap) -> ModelAgg | None:
        """The model aggregate of an ml_obs span (None for spans that name no model)."""
        if tags.agg is None and tags.get("model_name"):
            self.vocabularies.add("ml_obs")
            tags.agg = self._model(tags["model_name"], tags.get("model_provider", ""))
        return tags.agg

    def _mo_span(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        agg = self._mo_key(tags)
        if agg is not None:
            self._count_request(agg, s * w, False, sec, None)

    def _mo_error(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        agg = self._mo_key(tags)
        if agg is not None:
            n = s * w
            agg.errors += n
            agg.err_series.add(sec, n)
            self.err_series.add(sec, n)

    def _mo_duration(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        agg = self._mo_key(tags)
        if agg is not None:
            agg.lazy_latency.add([v * 1000.0 for v in vals], w)

    def _mo_tokens(self, attr: str) -> Handler:
        def handle(tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
            agg = self._mo_key(tags)
            if agg is not None:
                n = s * w
                setattr(agg, attr, getattr(agg, attr) + n)
                self._count_tokens(agg, attr, n, sec)
        return handle

    def _mo_cost(self, total: bool) -> Handler:
        def handle(tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
            agg = self._mo_key(tags)
            if agg is None:
                return
            usd = s * w / 1e9  # nanodollars
            if total:
                agg.reported_total_cost = (agg.reported_total_cost or 0.0) + usd
            else:
                agg.reported_part_cost = (agg.reported_part_cost or 0.0) + usd
        return handle

    # -- OpenTelemetry GenAI ---------------------------------------------------------------
    def _ga_key(self, tags: TagMap) -> ModelAgg:
        """The model aggregate of a gen_ai context: response model first, provider name first."""
        if tags.agg is None:
            self.vocabularies.add("gen_ai")
            model = tags.get("gen_ai.response.model") or tags.get("gen_ai.request.model", "")
            provider = tags.get("gen_ai.provider.name") or tags.get("gen_ai.system", "")
            tags.agg = self._model(model, provider)
        return tags.agg

    def _ga_tokens(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        kind = tags.get("gen_ai.token.type")
        attr = {"input": "input_tokens", "output": "output_tokens"}.get(kind or "")
        if attr is None:
            return
        agg = self._ga_key(tags)
        n = s * w
        setattr(agg, attr, getattr(agg, attr) + n)
        self._count_tokens(agg, attr, n, sec)

    def _ga_duration(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        agg = self._ga_key(tags)
        self._count_request(agg, len(vals) * w, "error.type" in tags, sec, None)
        agg.lazy_latency.add([v * 1000.0 for v in vals], w)

    # -- events and checks -------------------------------------------------------------------
    def add_event(self, e: Event, ts_ns: int) -> None:
        """Keep the event; a bootstrap event naming the selected profile also selects it."""
        self.events.append({"ts": float(e.timestamp) if e.timestamp else ts_ns / 1e9, "title": e.title,
                            "text": e.text, "alert_type": e.alert_type, "tags": list(e.tags)})
        if "bootstrap" in e.title or "selected" in e.text:
            found = _SELECTED_TEXT.search(e.text)
            if found:
                self._profile(found.group(1))["provider"] = found.group(2)
                self._select(found.group(1), found.group(2), ts_ns // 1_000_000_000)

    def add_check(self, sc: ServiceCheck, ts_ns: int) -> None:
        """Latest status per (name, tags)."""
        self.checks[(sc.name, sc.tags)] = {"name": sc.name, "status": sc.status, "tags": list(sc.tags),
                                           "message": sc.message, "ts": ts_ns / 1e9,
                                           "status_name": STATUS_NAMES[sc.status]}

    # -- output ---------------------------------------------------------------------------------
    def model_cost(self, key: tuple[str, str], agg: ModelAgg) -> float | None:
        """Reported cost wins; else the configured or table price; None when unpriced."""
        if agg.reported_total_cost is not None:
            return agg.reported_total_cost
        if agg.reported_part_cost is not None:
            return agg.reported_part_cost
        return self.pricer.cost(key[0], key[1], agg.input_tokens, agg.output_tokens, agg.cache_read_tokens)

    def rate_span(self, now_s: int) -> int:
        """Seconds the `*_per_s` rates divide by: the window, or less early in a session."""
        if self.first_s is None:
            return 1
        return max(1, min(self.window, now_s - self.first_s + 1))
