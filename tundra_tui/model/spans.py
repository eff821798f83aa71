"""LLM spans from the trace port, rolled up per model: a separate source, never added into DogStatsD counts.

The trace port's decoder thread adds decoded payloads; screens and `--json` read a frozen
`SpanSummary`. Prompts and completions are redacted here, before anything keeps them, and
then cut to `text_limit` bytes (redacting first, so a cut never leaves half an address showing).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from ddsketch import DDSketch

from ..traces import Decoded, LLMSpan, clean_name, cut_bytes
from .numbers import number, quantile
from .redact import Redactor

TEXT_LIMIT = 2048  # bytes kept per prompt or completion
RECENT = 500  # spans kept for the list and the waterfalls
RECENT_JSON = 100  # the newest of them in the dashboard document
SEEN = 100_000  # spans remembered for dedupe (the copies a tracer sends twice arrive close together)
MODELS = 1000  # (model, provider) rows kept; spans of any further pair fold into OTHER (names come from the wire)
OTHER = ("(other models)", "")


@dataclass
class _ModelAgg:
    spans: int = 0
    errors: int = 0
    input_tokens: float = 0.0
    output_tokens: float = 0.0
    latency_ms: DDSketch = field(default_factory=DDSketch)


@dataclass(frozen=True, slots=True)
class SpanModelRow:
    """One (model, provider) as seen in spans."""

    model: str
    provider: str
    spans: int
    errors: int
    input_tokens: float
    output_tokens: float
    p95_ms: float | None

    def as_json(self) -> dict[str, Any]:
        """The `spans.models[]` entry."""
        return {"model": self.model, "provider": self.provider, "spans": self.spans, "errors": self.errors,
                "input_tokens": number(self.input_tokens), "output_tokens": number(self.output_tokens),
                "p95_ms": self.p95_ms}


@dataclass(frozen=True, slots=True)
class SpanSummary:
    """What the trace port has shown so far: counters, per-model rows, the recent spans (newest first)."""

    received: int = 0
    llm: int = 0
    dropped: int = 0
    forward_errors: int = 0
    models: tuple[SpanModelRow, ...] = ()
    recent: tuple[LLMSpan, ...] = ()
    last_error: str = ""
    record_dropped: int = 0  # spans the `.spans` sidecar could not keep (its queue full, or it had stopped)
    record_in_flight: int = 0  # spans a stuck sidecar write given up on holds: in the file only if it returns

    def trace(self, trace_id: str) -> tuple[LLMSpan, ...]:
        """The recent spans of one trace, oldest first."""
        return tuple(sorted((s for s in self.recent if s.trace_id == trace_id), key=lambda s: s.start_ns))

    def by_trace(self) -> list[tuple[int, LLMSpan]]:
        """The recent spans with their depths, the traces newest first (by their newest span), each in tree order."""
        traces: dict[str, list[LLMSpan]] = {}
        for s in self.recent:
            traces.setdefault(s.trace_id, []).append(s)
        return [x for spans in traces.values() for x in tree_order(spans)]

    def as_json(self) -> dict[str, Any]:
        """The dashboard's `spans` section."""
        return {"received": self.received, "llm": self.llm, "dropped": self.dropped,
                "forward_errors": self.forward_errors, "record_dropped": self.record_dropped,
                "record_in_flight": self.record_in_flight,
                "models": [m.as_json() for m in self.models],
                "recent": [_span_json(s) for s in self.recent[:RECENT_JSON]]}


def tree_order(spans: Iterable[LLMSpan]) -> list[tuple[int, LLMSpan]]:
    """Every span once with its depth: depth first, a parent before its children, siblings by start; a span whose
    parent is not among them starts a tree, as does one caught in a parent cycle. Iterative, so a hostile parent
    chain cannot blow the stack."""
    ordered = sorted(spans, key=lambda s: s.start_ns)
    ids = {s.span_id for s in ordered if s.span_id}
    children: dict[str, list[int]] = {}
    for i, s in enumerate(ordered):
        children.setdefault(s.parent_id if s.parent_id in ids and s.parent_id != s.span_id else "", []).append(i)
    out: list[tuple[int, LLMSpan]] = []
    seen = [False] * len(ordered)
    for root in children.get("", []) + list(range(len(ordered))):  # then any a cycle kept from the roots
        stack = [(0, root)]
        while stack:
            depth, i = stack.pop()
            if seen[i]:
                continue
            seen[i] = True
            out.append((depth, ordered[i]))
            if ordered[i].span_id:
                stack.extend((depth + 1, c) for c in reversed(children.get(ordered[i].span_id, [])))
    return out


def _span_json(s: LLMSpan) -> dict[str, Any]:
    return {"trace_id": s.trace_id, "span_id": s.span_id, "parent_id": s.parent_id or None, "name": s.name,
            "kind": s.kind, "model": s.model, "provider": s.provider, "duration_ms": round(s.duration_ns / 1e6, 3),
            "status": s.status, "error_type": s.error_type or None,
            "input_tokens": None if s.input_tokens is None else number(s.input_tokens),
            "output_tokens": None if s.output_tokens is None else number(s.output_tokens),
            "input": s.input, "output": s.output}


class SpanBook:
    """Counts, rollups and a bounded ring of recent spans; safe to feed from one thread and read from others."""

    def __init__(self, redactor: Redactor | None = None, text_limit: int = TEXT_LIMIT, recent: int = RECENT,
                 seen: int = SEEN, models: int = MODELS) -> None:
        self.redactor = redactor or Redactor()
        self.text_limit = text_limit
        self._seen_cap = seen
        self._models_cap = models
        self._lock = threading.Lock()
        self._recent: deque[LLMSpan] = deque(maxlen=recent)
        self._seen: dict[int, None] = {}  # hash of (trace_id, span_id): ~100 bytes a span instead of ~300
        self._models: dict[tuple[str, str], _ModelAgg] = {}
        self.received = self.llm = self.dropped = self.forward_errors = self.duplicates = 0
        self.last_error = ""

    def add(self, decoded: Decoded) -> list[LLMSpan]:
        """Take one decoded payload; return its new spans as kept (redacted, cut)."""
        if decoded.bad:
            self.note_dropped(decoded.bad, decoded.error)
        return self.add_spans(decoded.spans, decoded.received)

    def add_spans(self, spans: Iterable[LLMSpan], received: int = 0) -> list[LLMSpan]:
        """Take spans (from a payload or a recording); duplicates of a kept (trace_id, span_id) are skipped."""
        spans = list(spans)
        with self._lock:
            fresh = [s for s in spans if not s.span_id or hash(s.key) not in self._seen]
        kept = [self._shown(s) for s in fresh]  # redaction runs outside the lock: readers never wait on regexes
        new: list[LLMSpan] = []
        with self._lock:
            self.received += received
            self.duplicates += len(spans) - len(fresh)
            for s in kept:
                if s.span_id:
                    key = hash(s.key)
                    if key in self._seen:  # the same span twice in one payload, or from another thread meanwhile
                        self.duplicates += 1
                        continue
                    self._seen[key] = None
                    if len(self._seen) > self._seen_cap:
                        del self._seen[next(iter(self._seen))]
                new.append(s)
                self.llm += 1
                self._recent.append(s)
                if s.model:
                    agg = self._model_agg((s.model, s.provider))
                    agg.spans += 1
                    agg.errors += s.status == "error"
                    agg.input_tokens += s.input_tokens or 0.0
                    agg.output_tokens += s.output_tokens or 0.0
                    agg.latency_ms.add(s.duration_ns / 1e6)
        return new

    def _model_agg(self, key: tuple[str, str]) -> _ModelAgg:
        agg = self._models.get(key)
        if agg is None:
            if len(self._models) >= self._models_cap:
                key = OTHER
            agg = self._models.setdefault(key, _ModelAgg())
        return agg

    def _shown(self, s: LLMSpan) -> LLMSpan:
        r, limit = self.redactor, self.text_limit
        return replace(s, name=r.text(s.name), error_message=r.text(s.error_message),
                       input=cut_bytes(r.text(s.input), limit), output=cut_bytes(r.text(s.output), limit))

    def note_dropped(self, n: int = 1, sample: str = "") -> None:
        """Count payloads or spans that could not be decoded or kept, keeping a one-line sample of why."""
        with self._lock:
            self.dropped += n
            if sample:
                self.last_error = self.redactor.line(clean_name(sample, 300))

    def note_forward_error(self, sample: str = "") -> None:
        """Count a request the Agent behind did not answer."""
        with self._lock:
            self.forward_errors += 1
            if sample:
                self.last_error = clean_name(sample, 300)

    def reset(self) -> None:
        """Forget everything (a replay seeking backwards rebuilds from its start)."""
        with self._lock:
            self._recent.clear()
            self._seen.clear()
            self._models.clear()
            self.received = self.llm = self.dropped = self.forward_errors = self.duplicates = 0
            self.last_error = ""

    def summary(self) -> SpanSummary:
        """A consistent, frozen copy of the state."""
        with self._lock:
            rows = [SpanModelRow(m, p, a.spans, a.errors, a.input_tokens, a.output_tokens,
                                 _ms(quantile(a.latency_ms, 0.95))) for (m, p), a in self._models.items()]
            recent = tuple(reversed(self._recent))
            counts = (self.received, self.llm, self.dropped, self.forward_errors)
            last = self.last_error
        rows.sort(key=lambda r: (-r.spans, r.model, r.provider))
        return SpanSummary(*counts, models=tuple(rows), recent=recent, last_error=last)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
