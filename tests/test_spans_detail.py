"""The detail screen's spans rollup, as the typed frame carries it: per model, from the trace port,
never added into the DogStatsD counts."""

from __future__ import annotations

import json

from tundra_tui.model.redact import Redactor
from tundra_tui.model.spans import SpanBook, SpanModelRow
from tundra_tui.services.spanfeed import SpanFeed
from tundra_tui.session import Session
from tundra_tui.sources import Tap, parse_url
from tundra_tui.traces import decode

from .test_spans_cli import _engine


def _event(span_id: int, model: str, provider: str, ms: int, error: bool = False) -> dict[str, object]:
    return {"span_id": str(span_id), "trace_id": "ab" * 16, "parent_id": "undefined", "name": "call",
            "start_ns": 1_700_000_000_000_000_000 + span_id, "duration": ms * 1_000_000,
            "status": "error" if error else "ok",
            "meta": {"span": {"kind": "llm"}, "model_name": model, "model_provider": provider,
                     **({"error": {"type": "RateLimitError", "message": "slow down"}} if error else {})},
            "metrics": {"input_tokens": 10 * span_id, "output_tokens": span_id}}


def test_the_frame_carries_each_keys_spans_rollup_apart_from_the_counts() -> None:
    book = SpanBook(Redactor())
    events = [_event(i, "gpt-4o", "openai", 10 * i, error=i == 7) for i in range(1, 21)]  # 10 ms .. 200 ms
    events += [_event(21, "gpt-4o-mini", "openai", 50), _event(22, "claude-3-5-haiku", "anthropic", 80)]
    book.add(decode("/evp_proxy/v2/api/v2/llmobs", json.dumps({"spans": events}).encode()))
    session = Session(Tap([parse_url("udp://127.0.0.1:0")]), _engine(), spans=SpanFeed(book))
    by_model = session.frame("model", detail=("model", "gpt-4o", 300))
    assert by_model.detail is not None
    [row] = by_model.detail.spans
    assert isinstance(row, SpanModelRow)
    assert (row.model, row.provider, row.spans, row.errors, row.input_tokens, row.output_tokens) == (
        "gpt-4o", "openai", 20, 1, 2100, 210)
    assert row.p95_ms is not None and 188 <= row.p95_ms <= 202  # the 19th of 20 (190 ms), within DDSketch's 1%
    by_provider = session.frame("provider", detail=("provider", "openai", 300)).detail
    assert by_provider is not None and {r.model for r in by_provider.spans} == {"gpt-4o", "gpt-4o-mini"}
    by_agent = session.frame("agent", detail=("agent", "gpt-4o", 300)).detail
    assert by_agent is not None and by_agent.spans == ()  # spans name no agent
    dash = by_model.dashboard
    assert dash.totals.requests == 0 and dash.models == ()  # a separate source: no DogStatsD request from spans
    assert dash.spans.llm == 22
