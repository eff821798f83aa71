"""Trace-port payloads -> LLM-span records. Pure: bytes in, frozen records out, no I/O.

Three ways an LLM span reaches the trace port:
- `/v0.4/traces` (msgpack): ddtrace >= 4.12 puts the LLM Observability event in
  `meta_struct["_llmobs"]`, a msgpack bin holding another map;
- `/v0.4` or `/v0.5/traces` APM spans carrying an integration's shadow tags (`_dd.llmobs.*`);
- `/evp_proxy/v2|v4/api/v2/llmobs` (JSON, maybe gzipped): the LLM Observability events themselves.
Everything from the payload is hostile: types are checked field by field, strings cleaned and capped.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgpack

from .span import TEXT_CAP, LLMSpan, clean_name, clean_text, count_or_none, whole

MAX_INFLATED = 64 * 1024 * 1024  # a gzipped EVP body may not inflate past this (a zip bomb is dropped)
_UNPACK = {"raw": False, "strict_map_key": False, "unicode_errors": "replace"}
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one payload held: its LLM spans, how many spans it carried, and how many could not be read."""

    spans: tuple[LLMSpan, ...] = ()
    received: int = 0
    bad: int = 0  # malformed payload (1) or malformed spans inside a good one
    error: str = ""  # one line about the first problem, for the sample shown with the count


def endpoint(path: str) -> str:
    """Which decoder a request path needs: "v0.4", "v0.5", "evp" or "" (not a span payload)."""
    if path in ("/v0.4/traces", "/v0.3/traces"):
        return "v0.4"
    if path == "/v0.5/traces":
        return "v0.5"
    if path in ("/evp_proxy/v2/api/v2/llmobs", "/evp_proxy/v4/api/v2/llmobs"):
        return "evp"
    return ""


def decode(path: str, body: bytes, content_type: str = "", content_encoding: str = "") -> Decoded:
    """Decode one request body sent to `path`; never raises on bad input."""
    kind = endpoint(path)
    if not kind:
        return Decoded()
    try:
        if content_encoding.strip().lower() == "gzip" or body[:2] == b"\x1f\x8b":
            body = gunzip(body, MAX_INFLATED)
        if kind == "evp":
            return decode_evp(body)
        if "json" in content_type.lower():
            return _apm_traces(json.loads(body), "v0.4")
        return decode_v05(body) if kind == "v0.5" else decode_v04(body)
    except Exception as exc:  # a hostile payload may break the parser anywhere: it is one bad payload
        return Decoded(bad=1, error=clean_name(f"{path}: {type(exc).__name__}: {exc}", 300))


def gunzip(body: bytes, limit: int) -> bytes:
    """Inflate a gzip body, refusing one that would grow past `limit`."""
    inflater = zlib.decompressobj(wbits=31)
    out = inflater.decompress(body, limit)
    if inflater.unconsumed_tail:
        raise ValueError(f"gzip body inflates past {limit} bytes")
    return out


def decode_v04(body: bytes) -> Decoded:
    """`/v0.4/traces`: an array of traces, each an array of span maps."""
    return _apm_traces(msgpack.unpackb(body, **_UNPACK), "v0.4")


def decode_v05(body: bytes) -> Decoded:
    """`/v0.5/traces`: `[string_table, traces]`, each span a 12-element array of string-table indexes and numbers."""
    data = msgpack.unpackb(body, **_UNPACK)
    if not isinstance(data, list) or len(data) != 2 or not isinstance(data[0], list):
        raise ValueError("v0.5 payload is not [strings, traces]")
    table = [s if isinstance(s, str) else "" for s in data[0]]

    def s(i: object) -> str:
        return table[i] if isinstance(i, int) and 0 <= i < len(table) else ""

    traces = []
    for trace in data[1] if isinstance(data[1], list) else ():
        spans: list[object] = []
        for a in trace if isinstance(trace, list) else ():
            if not isinstance(a, list) or len(a) < 12:
                spans.append(None)  # counted as bad below
                continue
            meta = {s(k): s(v) for k, v in a[9].items()} if isinstance(a[9], dict) else {}
            metrics = {s(k): v for k, v in a[10].items()} if isinstance(a[10], dict) else {}
            spans.append({"service": s(a[0]), "name": s(a[1]), "resource": s(a[2]), "trace_id": a[3],
                          "span_id": a[4], "parent_id": a[5], "start": a[6], "duration": a[7], "error": a[8],
                          "meta": meta, "metrics": metrics, "type": s(a[11])})
        traces.append(spans)
    return _apm_traces(traces, "v0.5")


def _apm_traces(data: object, origin: str) -> Decoded:
    if not isinstance(data, list):
        raise ValueError("traces payload is not an array")
    out: list[LLMSpan] = []
    received = bad = 0
    error = ""
    for trace in data:
        spans = trace if isinstance(trace, list) else [None]
        # `_dd.p.tid` (the high 64 bits) rides on the chunk's first span only: the rest of the chunk shares it
        tids = {s.get("trace_id"): _map(s.get("meta")).get("_dd.p.tid") for s in spans
                if isinstance(s, dict) and "_dd.p.tid" in _map(s.get("meta"))}
        for span in spans:
            if not isinstance(span, dict):
                bad += 1
                error = error or f"{origin}: a span that is not a map"
                continue
            received += 1
            try:
                rec = apm_span(span, origin, tids)
            except Exception as exc:  # one odd span must not cost the rest of the payload
                bad += 1
                error = error or clean_name(f"{origin}: {type(exc).__name__}: {exc}", 300)
                continue
            if rec is not None:
                out.append(rec)
    return Decoded(tuple(out), received, bad, error)


def apm_span(span: dict[str, Any], origin: str, tids: dict[Any, Any] | None = None) -> LLMSpan | None:
    """The LLM span an APM span carries (its `_llmobs` struct, else its shadow tags), or None.

    `tids` maps a 64-bit trace id to the `_dd.p.tid` its chunk carries elsewhere.
    """
    meta = _map(span.get("meta"))
    metrics = _map(span.get("metrics"))
    low = span.get("trace_id")
    high = meta.get("_dd.p.tid") or (tids or {}).get(low) if isinstance(low, int) else None
    trace_id = _trace_id(low, high)
    span_id = _decimal(span.get("span_id"))
    parent = _decimal(span.get("parent_id"))
    parent = "" if parent == "0" else parent
    errored = bool(whole(span.get("error")))
    struct = _map(span.get("meta_struct")).get("_llmobs")
    if isinstance(struct, bytes):
        struct = msgpack.unpackb(struct, **_UNPACK)
    if isinstance(struct, dict):
        lm = _map(struct.get("meta"))
        tags = _map(struct.get("tags"))
        parent_id = struct.get("parent_id")
        return _record(
            trace_id, span_id, parent if parent_id is None else _decimal(parent_id),
            struct.get("name") or span.get("name"), lm, _map(struct.get("metrics")),
            ml_app=struct.get("ml_app") or tags.get("ml_app"), service=span.get("service") or tags.get("service"),
            start=span.get("start"), duration=span.get("duration"), errored=errored, origin=origin)
    shadow_kind = meta.get("_dd.llmobs.span_kind")
    if not any(k in meta for k in ("_dd.llmobs.span_kind", "_dd.llmobs.model_name", "_dd.llmobs.model_provider")):
        return None
    lm = {"span": {"kind": shadow_kind or "llm"}, "model_name": meta.get("_dd.llmobs.model_name"),
          "model_provider": meta.get("_dd.llmobs.model_provider")}
    if errored:
        lm["error"] = {"type": meta.get("error.type"), "message": meta.get("error.message")}
    tokens = {"input_tokens": metrics.get("_dd.llmobs.input_tokens"),
              "output_tokens": metrics.get("_dd.llmobs.output_tokens")}
    return _record(trace_id, span_id, parent, span.get("resource") or span.get("name"), lm, tokens,
                   ml_app=meta.get("_dd.llmobs.ml_app") or meta.get("ml_app"), service=span.get("service"),
                   start=span.get("start"), duration=span.get("duration"), errored=errored, origin="shadow")


def decode_evp(body: bytes) -> Decoded:
    """The EVP proxy's LLM Observability JSON: a list of `{"event_type": "span", "spans": [...]}`, or one."""
    data = json.loads(body)
    out: list[LLMSpan] = []
    received = bad = 0
    error = ""
    for item in data if isinstance(data, list) else [data]:
        events = item.get("spans") if isinstance(item, dict) else None
        if not isinstance(events, list):
            bad += 1
            error = error or "evp: an item without a spans list"
            continue
        for ev in events:
            if not isinstance(ev, dict):
                bad += 1
                error = error or "evp: a span event that is not an object"
                continue
            received += 1
            out.append(evp_span(ev))
    return Decoded(tuple(out), received, bad, error)


def evp_span(ev: dict[str, Any]) -> LLMSpan:
    """One EVP span event as a record; its APM trace id when given, so both paths dedupe alike."""
    dd = _map(ev.get("_dd"))
    tags = _tag_map(ev.get("tags"))
    meta = _map(ev.get("meta"))
    errored = ev.get("status") == "error"
    parent = _decimal(ev.get("parent_id"))
    return _record(_trace_id(dd.get("apm_trace_id") or ev.get("trace_id"), None), _decimal(ev.get("span_id")),
                   parent, ev.get("name"), meta, _map(ev.get("metrics")),
                   ml_app=ev.get("ml_app") or tags.get("ml_app"), service=tags.get("service"),
                   start=ev.get("start_ns"), duration=ev.get("duration"), errored=errored, origin="evp")


def _record(trace_id: str, span_id: str, parent_id: str, name: object, meta: dict[str, Any],
            metrics: dict[str, Any], *, ml_app: object, service: object, start: object, duration: object,
            errored: bool, origin: str) -> LLMSpan:
    err = _map(meta.get("error"))
    status = "error" if errored or err else "ok"
    return LLMSpan(
        trace_id=trace_id, span_id=span_id, parent_id="" if parent_id == "undefined" else parent_id,
        name=clean_name(name), kind=clean_name(_map(meta.get("span")).get("kind")), ml_app=clean_name(ml_app),
        service=clean_name(service), model=clean_name(meta.get("model_name")),
        provider=clean_name(meta.get("model_provider")), start_ns=whole(start), duration_ns=whole(duration),
        status=status, error_type=clean_name(err.get("type")), error_message=clean_name(err.get("message"), 1000),
        input_tokens=count_or_none(metrics.get("input_tokens")),
        output_tokens=count_or_none(metrics.get("output_tokens")),
        input=io_text(meta.get("input")), output=io_text(meta.get("output")), origin=origin)


def io_text(value: object, cap: int = TEXT_CAP) -> str:
    """An `input`/`output` block as text: `role: content` per message, the value, or the documents' text."""
    if value is None:
        return ""
    if isinstance(value, dict):
        for key in ("messages", "documents"):
            if isinstance(value.get(key), list):
                return clean_text("\n".join(_bounded((_item_text(m) for m in value[key]), cap)), cap)
        if "value" in value:
            value = value["value"]
    return clean_text(value if isinstance(value, str) else _compact(value, cap), cap)


def _item_text(m: object) -> str:
    if not isinstance(m, dict):
        return m if isinstance(m, str) else _compact(m, TEXT_CAP)
    content = m.get("content", m.get("text"))
    text = content if isinstance(content, str) else _compact(content, TEXT_CAP) if content is not None else ""
    label = m.get("role") or m.get("name")
    return f"{clean_name(label)}: {text}" if isinstance(label, str) and label else text


def _bounded(parts: Iterator[str], cap: int) -> list[str]:
    """Parts until their total reaches `cap` (a payload may hold a million messages)."""
    out, size = [], 0
    for p in parts:
        out.append(p)
        size += len(p) + 1
        if size >= cap:
            break
    return out


def _compact(value: object, cap: int) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), default=str)[:cap]
    except (ValueError, RecursionError):
        return ""


def _map(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _tag_map(tags: object) -> dict[str, str]:
    """EVP tags ["key:value", ...] (or an object) as a map; the first value of a key wins."""
    if isinstance(tags, dict):
        return {k: v for k, v in tags.items() if isinstance(k, str) and isinstance(v, str)}
    out: dict[str, str] = {}
    for t in tags[:1000] if isinstance(tags, list) else ():
        if isinstance(t, str):
            k, _, v = t.partition(":")
            out.setdefault(k, v)
    return out


def _decimal(value: object) -> str:
    """A span id as a decimal string ("" when absent or not an id)."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value) if 0 <= value < 1 << 64 else ""
    if isinstance(value, str) and value.isdigit() and len(value) <= 20:
        return value.lstrip("0") or "0"
    return "undefined" if value == "undefined" else ""


def _trace_id(low: object, high: object) -> str:
    """The 128-bit trace id as 32 hex digits: a 64-bit id plus `_dd.p.tid`, or a hex or decimal string."""
    if isinstance(low, int) and not isinstance(low, bool) and 0 <= low < 1 << 128:
        hi = int(high, 16) if isinstance(high, str) and 0 < len(high) <= 16 and set(high.lower()) <= _HEX else 0
        return f"{(hi << 64 | low) if low < 1 << 64 else low:032x}"
    if isinstance(low, str):
        text = low.lower()
        if 0 < len(text) <= 32 and set(text) <= _HEX:
            return text.zfill(32)
        if text.isdigit() and len(text) <= 39 and int(text) < 1 << 128:
            return f"{int(text):032x}"
    return ""
