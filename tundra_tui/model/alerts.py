"""Alerts: `[[alerts]]` rules evaluated second by second on capture time (docs/json.md, "AlertRow").

Each closed second t is judged once, from the per-second series the rollup keeps: the metric over
the `window_s` seconds ending at t, per group. A breach held `for_s` seconds fires; the first
second without one resolves it; `cooldown_s` after a resolution keeps it from firing again. A replay
is judged second by second exactly as live was, however many seconds one refresh covers.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ddsketch import DDSketch

from .alert_parts import AlertLogRow, AlertRow
from .numbers import quantile

if TYPE_CHECKING:
    from .llm.aggregates import Key, KeyAgg
    from .llm.base import RollupBase
    from .series import Series

METRICS = ("error_rate", "p95_ms", "p99_ms", "requests_per_s", "tokens_per_s", "cost_per_hour")
GROUP_BY = ("model", "provider", "agent", "profile")
_PART = {"model": 0, "provider": 1, "agent": 2, "profile": 3}
TOTALS = "totals"  # the group name of an alert without group_by
MAX_GROUPS = 200  # groups judged per rule: past it, new groups are not tracked
LOG_LEN = 100
ERROR_WARN, ERROR_ALARM = 0.02, 0.10  # the panes' error-rate colours when no alert says otherwise (README)
_KEYS = {"name", "metric", "above", "below", "window_s", "for_s", "group_by", "cooldown_s", "bell", *GROUP_BY}


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One `[[alerts]]` table."""

    name: str
    metric: str
    threshold: float
    above: bool  # fires above the threshold (else below)
    window_s: int = 60
    for_s: int = 0
    group_by: str | None = None
    filters: tuple[tuple[str, str], ...] = ()  # (model|provider|agent|profile, value): keys must match all
    cooldown_s: int = 0
    bell: bool = False

    def breached(self, value: float | None) -> bool:
        """Whether `value` is past the threshold (no value, as with no requests, never is)."""
        if value is None:
            return False
        return value > self.threshold if self.above else value < self.threshold


def error_levels(rules: tuple[AlertRule, ...]) -> tuple[float, float]:
    """(warn, alarm): an error rate from `warn` on is coloured warn, above `alarm` alarm. The defaults
    (2%, 10%), unless `[[alerts]]` has error_rate rules with `above`: then alarm above the lowest of their
    thresholds, as the alert fires, and warn from no higher than that."""
    mine = [r.threshold for r in rules if r.metric == "error_rate" and r.above]
    alarm = min(mine) if mine else ERROR_ALARM
    return min(ERROR_WARN, alarm), alarm


def parse_alerts(value: Any, window_s: int) -> tuple[AlertRule, ...]:
    """The `[[alerts]]` array; ValueError with a one-line message naming the key."""
    if not isinstance(value, list):
        raise ValueError("config: 'alerts' must be an array of tables ([[alerts]])")
    rules = []
    for i, t in enumerate(value):
        where = f"alerts[{i}]"
        if not isinstance(t, dict):
            raise ValueError(f"config: '{where}' must be a table")
        unknown = set(t) - _KEYS
        if unknown:
            raise ValueError(f"config: unknown key '{where}.{sorted(unknown)[0]}'")
        name = t.get("name")
        if not isinstance(name, str) or not name or len(name) > 64 or not name.isprintable():
            raise ValueError(f"config: '{where}.name' must be a printable string of 1-64 characters")
        if t.get("metric") not in METRICS:
            raise ValueError(f"config: '{where}.metric' must be one of {', '.join(METRICS)}")
        if ("above" in t) == ("below" in t):
            raise ValueError(f"config: '{where}' needs exactly one of 'above' and 'below'")
        threshold: Any = t["above"] if "above" in t else t["below"]
        if not _is_num(threshold) or not math.isfinite(threshold):
            raise ValueError(f"config: '{where}.{'above' if 'above' in t else 'below'}' must be a number")
        ints = {}
        for k, default, low in (("window_s", 60, 1), ("for_s", 0, 0), ("cooldown_s", 0, 0)):
            v = t.get(k, default)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise ValueError(f"config: '{where}.{k}' must be an integer >= {low}")
            ints[k] = v
        if ints["window_s"] > window_s:
            raise ValueError(f"config: '{where}.window_s' ({ints['window_s']}) must not exceed 'window_s' ({window_s})")
        group_by = t.get("group_by")
        if group_by is not None and group_by not in GROUP_BY:
            raise ValueError(f"config: '{where}.group_by' must be one of {', '.join(GROUP_BY)}")
        filters = []
        for k in GROUP_BY:
            if k in t:
                if not isinstance(t[k], str):
                    raise ValueError(f"config: '{where}.{k}' must be a string")
                filters.append((k, t[k]))
        if not isinstance(t.get("bell", False), bool):
            raise ValueError(f"config: '{where}.bell' must be true or false")
        rules.append(AlertRule(name, t["metric"], float(threshold), "above" in t, ints["window_s"], ints["for_s"],
                               group_by, tuple(filters), ints["cooldown_s"], t.get("bell", False)))
    return tuple(rules)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def latency_window(rules: tuple[AlertRule, ...]) -> int:
    """Seconds of per-second latency the rollup must keep for these rules (0: none asks for it)."""
    return max((r.window_s for r in rules if r.metric in ("p95_ms", "p99_ms")), default=0)


class _State:
    """One (rule, group)'s state between seconds."""

    __slots__ = ("breach_since", "firing_since", "resolved_at", "value")

    def __init__(self) -> None:
        self.breach_since: int | None = None
        self.firing_since: int | None = None
        self.resolved_at: int | None = None
        self.value: float | None = None


class AlertBook:
    """The rules and their state; `advance` judges every closed second not judged yet."""

    def __init__(self, rules: tuple[AlertRule, ...] = (), llm: RollupBase | None = None) -> None:
        """`llm`: the rollup judged, told to keep the per-second latency the rules read."""
        self.rules = rules
        if llm is not None:
            llm.latency_window = latency_window(rules)
        self.states: dict[tuple[int, str], _State] = {}
        self.log: collections.deque[AlertLogRow] = collections.deque(maxlen=LOG_LEN)
        self.through: int | None = None  # the last second judged
        self.fired = 0  # firings so far (the screen rings and notifies on new ones)

    def advance(self, llm: RollupBase, through_s: int) -> None:
        """Judge seconds up to and including `through_s` (capture seconds), from the first unjudged one."""
        if not self.rules or llm.first_s is None:
            return
        start = llm.first_s if self.through is None else self.through + 1
        start = max(start, through_s - llm.window + 1)  # older seconds have left the series
        if through_s < start:
            return
        for i, rule in enumerate(self.rules):
            self._judge(i, rule, llm, start, through_s)
        self.through = through_s
        if llm.latency_window:
            oldest = through_s - llm.latency_window + 1  # the earliest second a later judgement reads
            for agg in llm.keys.values():
                if agg.recent_latency:
                    for s in [s for s in agg.recent_latency if s < oldest]:
                        del agg.recent_latency[s]

    def _judge(self, i: int, rule: AlertRule, llm: RollupBase, start: int, end: int) -> None:
        groups = _groups(rule, llm)
        span = end - start + 1
        for group, keys in groups.items():
            st = self.states.get((i, group))
            if st is None:
                if len(self.states) >= MAX_GROUPS * len(self.rules):
                    continue
                st = self.states[(i, group)] = _State()
            values = _metric(rule, llm, keys, start, span)
            for n, value in enumerate(values):
                self._step(i, rule, group, st, start + n, value)

    def _step(self, i: int, rule: AlertRule, group: str, st: _State, t: int, value: float | None) -> None:
        st.value = value
        if not rule.breached(value):
            st.breach_since = None
            if st.firing_since is not None:
                st.firing_since, st.resolved_at = None, t
                self.log.append(AlertLogRow(float(t), rule.name, group, "resolved", value, rule.threshold))
            return
        if st.breach_since is None:
            st.breach_since = t
        if st.firing_since is not None or t - st.breach_since < rule.for_s:
            return
        if st.resolved_at is not None and t - st.resolved_at < rule.cooldown_s:
            return
        st.firing_since = t
        self.fired += 1
        self.log.append(AlertLogRow(float(t), rule.name, group, "firing", value, rule.threshold, rule.bell))

    def rows(self) -> tuple[AlertRow, ...]:
        """Every judged (rule, group), firing ones first, then by rule order and group."""
        out = []
        for (i, group), st in self.states.items():
            rule = self.rules[i]
            firing = st.firing_since is not None
            out.append((not firing, i, group, AlertRow(
                rule.name, group, "firing" if firing else "ok",
                float(st.firing_since) if st.firing_since is not None else None,
                None if st.value is None else round(st.value, 6), rule.threshold)))
        return tuple(r[3] for r in sorted(out, key=lambda r: r[:3]))

    def bells(self) -> bool:
        """Whether some rule that rings is firing."""
        return any(self.rules[i].bell and st.firing_since is not None for (i, _), st in self.states.items())


def _groups(rule: AlertRule, llm: RollupBase) -> dict[str, list[Key]]:
    """The rule's groups and the keys in each (after its filters)."""
    out: dict[str, list[Key]] = {} if rule.group_by else {TOTALS: []}
    for k in llm.keys:
        if any(k[_PART[f]] != v for f, v in rule.filters):
            continue
        out.setdefault(k[_PART[rule.group_by]] if rule.group_by else TOTALS, []).append(k)
    return out


def _metric(rule: AlertRule, llm: RollupBase, keys: list[Key], start: int, span: int) -> list[float | None]:
    """The metric for each second start..start+span-1, each over the window_s seconds ending there."""
    w = rule.window_s
    aggs = [llm.keys[k] for k in keys]
    if rule.metric in ("p95_ms", "p99_ms"):
        q = 0.95 if rule.metric == "p95_ms" else 0.99
        return [_window_quantile(aggs, t - w + 1, t, q) for t in range(start, start + span)]
    if rule.metric == "error_rate":
        req = _window_sums([_values(a.req_series, start + span - 1, span + w - 1) for a in aggs], w, span)
        err = _window_sums([_values(a.err_series, start + span - 1, span + w - 1) for a in aggs], w, span)
        return [e / r if r > 0 else None for e, r in zip(err, req, strict=True)]
    if rule.metric == "requests_per_s":
        return [v / w for v in _window_sums([_values(a.req_series, start + span - 1, span + w - 1) for a in aggs],
                                             w, span)]
    if rule.metric == "tokens_per_s":
        return [v / w for v in _window_sums([_values(a.tok_series, start + span - 1, span + w - 1) for a in aggs],
                                             w, span)]
    return _cost_per_hour(llm, keys, aggs, start, span, w)


def _cost_per_hour(llm: RollupBase, keys: list[Key], aggs: list[KeyAgg], start: int, span: int,
                   w: int) -> list[float | None]:
    """USD/hour: each key's tokens in the window priced at its average cost per token (None: none priced)."""
    from .llm.grouping import key_costs

    costs = key_costs(llm)
    scaled, priced = [], False
    for k, a in zip(keys, aggs, strict=True):
        cost = costs.get(k)
        all_tokens = a.input_tokens + a.output_tokens or a.used_tokens
        if not isinstance(cost, float | int) or not all_tokens:  # unpriced, or its price still being asked
            continue
        priced = True
        per_token = cost / all_tokens
        scaled.append([v * per_token for v in _values(a.tok_series, start + span - 1, span + w - 1)])
    if not priced:
        return [None] * span
    return [v / w * 3600.0 for v in _window_sums(scaled, w, span)]


def _values(series: Series, end: int, length: int) -> list[float]:
    """`length` per-second values ending at `end`; seconds past the series' window read 0."""
    kept = min(length, series.window)
    return [0.0] * (length - kept) + series.values(end, kept)


def _window_sums(lists: list[list[float]], w: int, span: int) -> list[float]:
    """Sliding sums of width `w` over the element-wise sum of `lists` (each span + w - 1 long)."""
    if not lists:
        return [0.0] * span
    total = [math.fsum(col) for col in zip(*lists, strict=True)]
    out, acc = [], math.fsum(total[:w - 1])
    for n in range(span):
        acc += total[n + w - 1]
        out.append(max(acc, 0.0))
        acc -= total[n]
    return out


def _window_quantile(aggs: list[KeyAgg], lo: int, hi: int, q: float) -> float | None:
    """Quantile `q` of latency samples in seconds lo..hi over `aggs` (None without samples)."""
    merged = DDSketch()
    for a in aggs:
        recent = a.recent_latency
        if recent:
            for s, sk in recent.items():
                if lo <= s <= hi:
                    merged.merge(sk)
    return quantile(merged, q)
