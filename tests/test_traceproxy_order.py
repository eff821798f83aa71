"""The trace port queues a body before it answers: once an app has its reply, drain() waits for that body
and stop() decodes it, forwarding or not (an answered upload is never lost uncounted)."""

from __future__ import annotations

import gzip
import http.client
import json

import pytest

from tundra_tui.model.spans import SpanBook

from .test_traceproxy import StandIn, start_proxy
from .test_traceproxy_bodies import EVP_PATH, GZ_HEADERS

UPLOADS = 20


def upload(span_id: int) -> bytes:
    """One gzipped LLM Observability upload holding one llm span of its own id."""
    return gzip.compress(json.dumps([{"_dd.stage": "raw", "event_type": "span", "spans": [
        {"span_id": str(span_id), "trace_id": "ab" * 16, "parent_id": "undefined", "name": "ask", "status": "ok",
         "meta": {"span": {"kind": "llm"}, "model_name": "gpt-4o", "model_provider": "openai"},
         "metrics": {"input_tokens": 3}}]}]).encode())


def post(conn: http.client.HTTPConnection, span_id: int) -> None:
    conn.request("POST", EVP_PATH, body=upload(span_id), headers=GZ_HEADERS)
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 202


def test_drain_right_after_a_reply_counts_that_body() -> None:
    book = SpanBook()
    proxy = start_proxy(book)
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=30)
    try:
        for i in range(1, UPLOADS + 1):  # (answered first, queued after, drain() found nothing pending most times)
            post(conn, i)
            assert proxy.drain(10)
            assert book.summary().llm == i
    finally:
        conn.close()
        proxy.stop()


@pytest.mark.parametrize("forwarding", [False, True])
async def test_stop_right_after_a_reply_decodes_that_body(forwarding: bool) -> None:
    import asyncio

    book = SpanBook()
    async with StandIn() as agent:
        proxy = start_proxy(book, forward=agent.url if forwarding else None)

        def app_then_stop() -> None:  # the app's last upload answered, then the recording ends at once
            conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=30)
            try:
                for i in range(1, UPLOADS + 1):
                    post(conn, i)
            finally:
                conn.close()
                proxy.stop()

        await asyncio.to_thread(app_then_stop)
    summary = book.summary()
    assert (summary.llm, summary.dropped) == (UPLOADS, 0)
    if forwarding:
        assert len(agent.requests) == UPLOADS
