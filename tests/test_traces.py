"""Trace-port decoding on real bytes: ddtrace's own encoders, EVP JSON (gzipped), shadow tags, hostile input."""

from __future__ import annotations

import gzip
import json
import zlib

import msgpack
import pytest
from ddtrace._trace.span import Span
from ddtrace.internal._encoding import MsgpackEncoderV04, MsgpackEncoderV05
from hypothesis import given, settings
from hypothesis import strategies as st

from tundra_tui.model.spans import SpanBook
from tundra_tui.traces import LLMSpan, decode, wire
from tundra_tui.traces.wire import gunzip


def shadow_trace() -> list[Span]:
    """An openai-integration-style APM trace: a web span and, under it, a span with shadow tags only."""
    web = Span(name="flask.request", service="chatbot", resource="POST /ask")
    call = Span(name="openai.request", service="chatbot", resource="createChatCompletion",
                trace_id=web.trace_id, parent_id=web.span_id)
    call.set_tag("_dd.llmobs.model_name", "gpt-4o-mini")
    call.set_tag("_dd.llmobs.model_provider", "openai")
    call.set_tag("_dd.llmobs.span_kind", "llm")
    call.set_metric("_dd.llmobs.input_tokens", 10)
    call.set_metric("_dd.llmobs.output_tokens", 4)
    call.error = 1
    call.set_tag("error.type", "openai.RateLimitError")
    call.set_tag("error.message", "slow down\x1b[2J")
    # what the tracer puts on a chunk's first span: the high half of the 128-bit id
    web.set_tag("_dd.p.tid", f"{web.trace_id >> 64:016x}")
    call.finish()
    web.finish()
    return [web, call]


def encoded(encoder_cls: type, trace: list[Span]) -> bytes:
    enc = encoder_cls(1 << 20, 1 << 20)
    enc.put(trace)
    [(payload, n)] = enc.encode()
    assert n == 1 and payload
    return bytes(payload)


def check_shadow(decoded_spans: tuple[LLMSpan, ...], trace: list[Span], origin_path: str) -> None:
    web, call = trace
    [rec] = decoded_spans  # the web span is not an LLM span
    assert rec.origin == "shadow"
    assert (rec.model, rec.provider, rec.kind) == ("gpt-4o-mini", "openai", "llm")
    assert (rec.input_tokens, rec.output_tokens) == (10, 4)
    assert rec.trace_id == f"{web.trace_id:032x}", origin_path  # 128 bits, rebuilt from _dd.p.tid
    assert rec.span_id == str(call.span_id) and rec.parent_id == str(web.span_id)
    assert rec.status == "error" and rec.error_type == "openai.RateLimitError"
    assert rec.error_message == "slow down\\x1b[2J"  # shown, not obeyed, before any renderer sees it
    assert rec.duration_ns == call.duration_ns and rec.start_ns == call.start_ns


def test_v05_payload_from_ddtraces_own_encoder() -> None:
    trace = shadow_trace()
    body = encoded(MsgpackEncoderV05, trace)
    assert isinstance(msgpack.unpackb(body, strict_map_key=False)[0], list)  # really the string-table format
    result = decode("/v0.5/traces", body, "application/msgpack")
    assert result.received == 2 and result.bad == 0
    check_shadow(result.spans, trace, "v0.5")


def test_shadow_tags_only_on_v04() -> None:
    trace = shadow_trace()
    result = decode("/v0.4/traces", encoded(MsgpackEncoderV04, trace), "application/msgpack")
    assert result.received == 2
    check_shadow(result.spans, trace, "v0.4")


EVP_EVENT = {
    "_dd": {"apm_trace_id": "6b09ad8300000000d104eaf4e896529d", "span_id": "11153395417514423979"},
    "span_id": "11153395417514423979", "trace_id": "6b09ad8300000000eab8b8ba69f1de94", "parent_id": "undefined",
    "name": "chat", "start_ns": 1795796355537096938, "duration": 129623, "status": "error",
    "meta": {"span": {"kind": "llm"}, "model_name": "gpt-4o", "model_provider": "openai",
             "input": {"messages": [{"role": "system", "content": "be brief"},
                                    {"role": "user", "content": "I am ann@corp.example.org"}]},
             "output": {"messages": [{"role": "assistant", "content": "hello\u202eevil"}]},
             "error": {"type": "builtins.ValueError", "message": "boom", "stack": "..."}},
    "metrics": {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15},
    "tags": ["ml_app:shop", "service:svc", "env:"],
}


def test_evp_json_gzipped_list_and_single_object() -> None:
    as_list = gzip.compress(json.dumps([{"_dd.stage": "raw", "event_type": "span", "spans": [EVP_EVENT]}]).encode())
    as_object = json.dumps({"_dd.stage": "raw", "event_type": "span", "spans": [EVP_EVENT]}).encode()
    a = decode("/evp_proxy/v2/api/v2/llmobs", as_list, "application/json", "gzip")
    b = decode("/evp_proxy/v4/api/v2/llmobs", as_object, "application/json")
    assert a.spans == b.spans and a.received == 1 and a.bad == 0
    [rec] = a.spans
    assert rec.trace_id == "6b09ad8300000000d104eaf4e896529d"  # the APM id: the v0.4 copy dedupes with this one
    assert rec.parent_id == "" and rec.ml_app == "shop" and rec.service == "svc"
    assert rec.input == "system: be brief\nuser: I am ann@corp.example.org"
    assert rec.output == "assistant: hello\\u202eevil"  # the bidi override is shown, not obeyed
    assert (rec.status, rec.error_type, rec.input_tokens) == ("error", "builtins.ValueError", 12)
    book = SpanBook()
    book.add(a)
    book.add(b)
    summary = book.summary()
    assert summary.llm == 1 and summary.received == 2  # deduplicated on (trace_id, span_id)
    assert summary.recent[0].input == "system: be brief\nuser: I am [redacted:email]"
    [row] = summary.as_json()["models"]
    assert row == {"model": "gpt-4o", "provider": "openai", "spans": 1, "errors": 1, "input_tokens": 12,
                   "output_tokens": 3, "p95_ms": row["p95_ms"]}
    assert abs(row["p95_ms"] - 0.129623) < 0.01


def test_text_is_redacted_before_it_is_cut_to_the_limit() -> None:
    event = dict(EVP_EVENT, meta={"input": {"value": "x" * 2000 + " bob@example.com " + "y" * 5000},
                                  "output": {"value": "é" * 3000}})
    book = SpanBook(text_limit=2048)
    [rec] = book.add(decode("/evp_proxy/v2/api/v2/llmobs", json.dumps({"spans": [event]}).encode()))
    assert "bob@" not in rec.input and "[redac" in rec.input
    assert len(rec.input.encode()) <= 2048 and rec.input.endswith("…")
    assert len(rec.output.encode()) <= 2048 and rec.output.startswith("é")


def test_gzip_bomb_is_refused_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "MAX_INFLATED", 64 * 1024)
    bomb = gzip.compress(b"[" + b" " * (1 << 20) + b"]")
    result = decode("/evp_proxy/v2/api/v2/llmobs", bomb, "application/json", "gzip")
    assert result.bad == 1 and "inflates past 65536 bytes" in result.error
    assert gunzip(gzip.compress(b"[]"), 100) == b"[]"
    with pytest.raises(zlib.error):
        gunzip(zlib.compress(b"x"), 100)  # zlib, not gzip


def test_hostile_shapes_are_counted_never_raised() -> None:
    cases = [
        ("/v0.4/traces", msgpack.packb({"not": "a list"})),
        ("/v0.4/traces", msgpack.packb([[1, "x", None]])),
        ("/v0.4/traces", msgpack.packb([[{"trace_id": "x", "meta_struct": {"_llmobs": b"\xc1"}}]])),
        ("/v0.5/traces", msgpack.packb([["a"], [[[99] * 12]], "extra"])),
        ("/evp_proxy/v2/api/v2/llmobs", b'{"spans": [1, {"meta": {"input": {"messages": [[]]}}}]}'),
        ("/evp_proxy/v2/api/v2/llmobs", b"\x1f\x8bnot gzip"),
    ]
    for path, body in cases:
        result = decode(path, body)
        assert result.bad >= 1, (path, body)
        assert "\n" not in result.error
    assert decode("/v0.7/config", b"anything") == decode("/info", b"")  # not span payloads: nothing to count
    long_name = {"spans": [{"span_id": "1", "name": "n" * 10_000 + "\n", "meta": {"model_name": 5}}]}
    [rec] = decode("/evp_proxy/v2/api/v2/llmobs", json.dumps(long_name).encode()).spans
    assert len(rec.name) == 200 and rec.model == "5"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["/v0.4/traces", "/v0.5/traces", "/evp_proxy/v2/api/v2/llmobs"]))
def test_random_bytes_never_raise(body: bytes, path: str) -> None:
    result = decode(path, body)
    for rec in result.spans:
        assert all(ch >= " " or ch in "\n\t" for ch in rec.input + rec.output + rec.name)


def test_record_round_trips_through_a_sidecar_line() -> None:
    [rec] = decode("/evp_proxy/v2/api/v2/llmobs", json.dumps({"spans": [EVP_EVENT]}).encode()).spans
    assert LLMSpan.from_dict(json.loads(json.dumps(rec.as_dict()))) == rec
    assert LLMSpan.from_dict({"trace_id": 1}) is None and LLMSpan.from_dict([]) is None


def test_kept_spans_and_dedupe_memory_are_bounded() -> None:
    book = SpanBook(recent=5, seen=10)
    events = [dict(EVP_EVENT, span_id=str(i), _dd={}) for i in range(30)]
    book.add(decode("/evp_proxy/v2/api/v2/llmobs", json.dumps({"spans": events}).encode()))
    book.add(decode("/evp_proxy/v2/api/v2/llmobs", json.dumps({"spans": events[-10:]}).encode()))
    summary = book.summary()
    assert summary.llm == 30 and summary.received == 40  # the last ten, remembered, were not counted twice
    assert [s.span_id for s in summary.recent] == ["29", "28", "27", "26", "25"]
    assert len(book._seen) == 10 and book.duplicates == 10


def test_per_model_rows_are_bounded() -> None:
    book = SpanBook(models=3)
    events = [dict(EVP_EVENT, span_id=str(i), _dd={}, meta={"model_name": f"m{i % 5}", "model_provider": "p"})
              for i in range(10)]  # five models, two spans each
    book.add(decode("/evp_proxy/v2/api/v2/llmobs", json.dumps({"spans": events}).encode()))
    rows = {(m.model, m.provider): m.spans for m in book.summary().models}
    assert rows == {("m0", "p"): 2, ("m1", "p"): 2, ("m2", "p"): 2, ("(other models)", ""): 4}
