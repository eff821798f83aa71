"""What the trace port does with bodies: gzipped ones go on as sent and are still decoded, and the size
bound is the Agent's `max_request_bytes` (25 MiB until the Agent's /info says otherwise)."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import logging
import socket
import urllib.request

import aiohttp
import msgpack
import pytest

from tundra_tui.model.spans import SpanBook
from tundra_tui.services.traceproxy import MAX_REQUEST_BYTES

from .test_traceproxy import StandIn, start_proxy

EVP_PATH = "/evp_proxy/v2/api/v2/llmobs"
GZIPPED = gzip.compress(json.dumps([{"_dd.stage": "raw", "event_type": "span", "spans": [
    {"span_id": "7", "trace_id": "cd" * 16, "parent_id": "undefined", "name": "ask", "status": "ok",
     "meta": {"span": {"kind": "llm"}, "model_name": "gpt-4o", "model_provider": "openai",
              "input": {"value": "from dora@example.com"}}, "metrics": {"input_tokens": 5}}]}]).encode())
GZ_HEADERS = {"Content-Type": "application/json", "Content-Encoding": "gzip",
              "X-Datadog-EVP-Subdomain": "llmobs-intake"}


async def test_a_gzipped_evp_upload_goes_on_gzipped_and_is_decoded() -> None:
    for forwarding in (True, False):
        book = SpanBook()
        async with StandIn() as agent:
            proxy = start_proxy(book, forward=agent.url if forwarding else None)
            try:
                async with aiohttp.ClientSession() as client, client.post(
                        proxy.url + EVP_PATH, data=GZIPPED, headers=GZ_HEADERS) as resp:
                    assert resp.status == 202
                assert await asyncio.to_thread(proxy.drain, 10)
            finally:
                await asyncio.to_thread(proxy.stop)
        if forwarding:  # the Agent got the app's own bytes under the app's own header, not an inflated copy
            [seen] = agent.requests
            assert seen["body"] == GZIPPED and seen["headers"]["Content-Encoding"] == "gzip"
            assert seen["headers"]["X-Datadog-EVP-Subdomain"] == "llmobs-intake"
        summary = book.summary()
        assert (summary.llm, summary.dropped) == (1, 0), (forwarding, summary.last_error)
        assert summary.recent[0].input == "from [redacted:email]"


async def test_the_bound_is_the_agents_max_request_bytes() -> None:
    book = SpanBook()
    body, small = msgpack.packb([[]] * 4000), msgpack.packb([[]] * 2000)  # 4 KiB (over the Agent's 2), 2 KiB
    async with StandIn(max_request_bytes=2048) as agent:
        proxy = start_proxy(book, forward=agent.url)
        try:
            async with aiohttp.ClientSession() as client:
                async with client.post(proxy.url + "/v0.4/traces", data=body) as resp:
                    assert resp.status == 200  # before the Agent said its bound: the default one
                async with client.get(proxy.url + "/info") as resp:
                    assert (await resp.json())["config"]["max_request_bytes"] == 2048
                async with client.post(proxy.url + "/v0.4/traces", data=body) as resp:
                    assert resp.status == 413
                async with client.post(proxy.url + "/v0.4/traces", data=small) as resp:
                    assert resp.status == 200
        finally:
            await asyncio.to_thread(proxy.stop)
    assert [r["path"] for r in agent.requests] == ["/v0.4/traces", "/info", "/v0.4/traces"]  # the 4 KiB one: kept
    assert book.summary().dropped == 1 and "body over 2048 bytes" in book.summary().last_error


async def test_the_minimal_agent_takes_25_mib_and_not_a_byte_more() -> None:
    book = SpanBook()
    proxy = start_proxy(book)
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(proxy.url + "/info") as resp:
                assert (await resp.json())["config"]["max_request_bytes"] == MAX_REQUEST_BYTES == 25 * 1024 * 1024
            for size, status in ((MAX_REQUEST_BYTES, 200), (MAX_REQUEST_BYTES + 1, 413)):
                async with client.post(proxy.url + "/v0.4/traces", data=io.BytesIO(b"\x90" * size)) as resp:
                    assert resp.status == status, size
        assert await asyncio.to_thread(proxy.drain, 30)
    finally:
        await asyncio.to_thread(proxy.stop)
    assert book.summary().dropped == 2  # the 25 MiB one is not traces (counted), the bigger one was refused


def test_an_app_that_hangs_up_costs_nothing_but_its_own_request(caplog: pytest.LogCaptureFixture) -> None:
    book = SpanBook()
    proxy = start_proxy(book)
    head = f"POST {EVP_PATH} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    try:
        with caplog.at_level(logging.DEBUG, logger="aiohttp"):
            # a whole upload, then the app shuts its side before reading the answer
            with socket.create_connection((proxy.host, proxy.port)) as s:
                s.sendall(f"{head}Content-Length: {len(GZIPPED)}\r\n\r\n".encode() + GZIPPED)
                s.shutdown(socket.SHUT_WR)
                s.recv(1024)
            # half an upload, then gone
            with socket.create_connection((proxy.host, proxy.port)) as s:
                s.sendall(f"{head}Content-Length: {len(GZIPPED) + 100}\r\n\r\n".encode() + GZIPPED)
                s.shutdown(socket.SHUT_WR)
                s.recv(1024)
            with urllib.request.urlopen(proxy.url + "/info", timeout=30) as resp:  # the port still serves
                assert json.loads(resp.read())["span_meta_structs"] is True
        assert proxy.drain(10)
    finally:
        proxy.stop()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []  # no traceback on stderr
    summary = book.summary()
    assert (summary.llm, summary.dropped) == (1, 0)  # the whole one decoded, the cut one never queued
