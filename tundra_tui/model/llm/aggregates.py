"""The LLM rollup's containers: per-context tag maps, fold plans, and the aggregates samples fold into.

Samples fold into one `KeyAgg` per (model, provider, agent, profile): every grouping the screen
offers is a merge of these at snapshot time, so rows of any grouping add up to the same totals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ddsketch import DDSketch

from ...protocol import split_tag
from ..latency_history import LatencyHistory
from ..series import Series
from ..sketch import add_many

Handler = Callable[["TagMap", list[float], float, float, int], None]  # (tags, values, their sum, weight, second)
MAX_KEYS = 500  # keys kept apart; past that they fold into "(other)"
MAX_ERROR_TYPES = 20  # error types kept apart per key
OTHER = "(other)"
UNKNOWN = "unknown"  # a key part whose tag the context does not carry (tokens carry no profile)
Key = tuple[str, str, str, str]  # (model, provider, agent, profile)


class TagMap(dict[str, str]):
    """A context's tags by key, plus the aggregates its samples go to, resolved once per context."""

    __slots__ = ("agent", "agg")

    def __init__(self, tags: tuple[str, ...]) -> None:
        super().__init__(map(split_tag, tags))
        self.agg: KeyAgg | None = None
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

    def absorb(self, other: LazySketch) -> None:
        """Add every sample of `other` (a group's sketch from its members')."""
        if other.sketch.count:
            self.sketch.merge(other.sketch)

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


class KeyAgg:
    """Everything known about one (model, provider, agent, profile), or a merge of several."""

    __slots__ = ("cache_read_tokens", "err_series", "error_types", "errors", "has_tokens", "input_tokens",
                 "lat_history", "lazy_latency", "output_tokens", "recent_latency", "reported_part_cost",
                 "reported_total_cost", "req_series", "requests", "tok_series", "token_lines", "used_tokens")

    def __init__(self, window: int) -> None:
        self.requests = self.errors = 0.0
        self.input_tokens = self.output_tokens = self.cache_read_tokens = self.used_tokens = 0.0
        self.has_tokens = False  # token samples seen (a row with none shows "-", not 0)
        self.token_lines: dict[str, float] = {}  # token samples per kind: one per request, each its own count
        self.reported_total_cost: float | None = None
        self.reported_part_cost: float | None = None
        self.lazy_latency = LazySketch()
        self.req_series = Series(window)
        self.err_series = Series(window)
        self.tok_series = Series(window)
        self.recent_latency: dict[int, DDSketch] | None = None  # per-second sketches, kept only for alerts
        self.lat_history = LatencyHistory(window)  # the detail screen's p95 over time
        self.error_types: dict[str, float] | None = None  # errors by `error_type` (None until one names it)

    @property
    def latency(self) -> DDSketch:
        return self.lazy_latency.sketch

    @property
    def token_requests(self) -> float:
        """The requests these tokens came in: the most samples of any kind (a request sends each kind once)."""
        return max(self.token_lines.values(), default=1.0)

    def add_recent(self, sec: int, vals: list[float], w: float, keep: int) -> None:
        """Latency samples of second `sec` into its own sketch; seconds older than `keep` are dropped."""
        recent = self.recent_latency
        if recent is None:
            recent = self.recent_latency = {}
        sk = recent.get(sec)
        if sk is None:
            sk = recent[sec] = DDSketch()
            for old in [s for s in recent if s <= sec - keep]:
                del recent[old]
        add_many(sk, vals, w)

    def count_error_type(self, name: str, n: float) -> None:
        """`n` errors of type `name`; past MAX_ERROR_TYPES names a new one counts as "(other)"."""
        types = self.error_types
        if types is None:
            types = self.error_types = {}
        if name not in types and len(types) >= MAX_ERROR_TYPES:
            name = OTHER
        types[name] = types.get(name, 0.0) + n

    def absorb(self, other: KeyAgg) -> None:
        """Add `other` into this aggregate (groupings are merges of per-key aggregates).

        Error types and latency history stay with the keys: only the detail screen reads them, for one row."""
        self.requests += other.requests
        self.errors += other.errors
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.used_tokens += other.used_tokens
        self.has_tokens = self.has_tokens or other.has_tokens
        for kind, n in other.token_lines.items():
            self.token_lines[kind] = self.token_lines.get(kind, 0.0) + n
        if other.reported_total_cost is not None:
            self.reported_total_cost = (self.reported_total_cost or 0.0) + other.reported_total_cost
        if other.reported_part_cost is not None:
            self.reported_part_cost = (self.reported_part_cost or 0.0) + other.reported_part_cost
        self.lazy_latency.absorb(other.lazy_latency)
        self.req_series.absorb(other.req_series)
        self.err_series.absorb(other.err_series)
        self.tok_series.absorb(other.tok_series)


class AgentAgg:
    """One (agent_name, task_type)'s executions (`llm.agent.execution*`, which name no model)."""

    def __init__(self) -> None:
        self.executions = self.errors = 0.0
        self.lazy_latency = LazySketch()

    @property
    def latency(self) -> DDSketch:
        return self.lazy_latency.sketch
