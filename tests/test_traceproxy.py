"""The trace port with real parts: a ddtrace LLM Observability app in a subprocess, tundra's proxy,
and a local aiohttp stand-in Agent that records what reaches it."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import socket
import sys
import threading
from pathlib import Path
from typing import Any

import aiohttp
import ddtrace
import msgpack
import pytest
from aiohttp import web
from yarl import URL

from tundra_tui.model.spans import SpanBook
from tundra_tui.services.traceproxy import TraceProxy, TraceProxyError
from tundra_tui.traces import decode

from .waits import settle

APP = Path(__file__).parent / "apps" / "llm_app.py"


class StandIn:
    """A stand-in Agent: advertises agent-mode LLM Observability and keeps every request."""

    def __init__(self, max_request_bytes: int = 26_214_400, port: int = 0) -> None:
        self.max_request_bytes = max_request_bytes  # what its /info says, as the Agent's `config` does
        self.port = port  # 0: a free one
        self.requests: list[dict[str, Any]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append({"method": request.method, "path": request.raw_path, "headers": request.headers.copy(),
                              "body": body})
        if request.path == "/info":
            return web.json_response({"version": "7.99.0", "endpoints": ["/v0.4/traces", "/v0.5/traces",
                                                                         "/evp_proxy/v2/"], "span_meta_structs": True,
                                      "config": {"receiver_port": 8126, "max_request_bytes": self.max_request_bytes}})
        if request.path == "/echo":
            return web.Response(status=207, reason="Multi Echo", body=b"\x00raw\xffbytes",
                                headers={"X-Agent-Says": "hi", "Content-Type": "application/x-odd"})
        if request.path.endswith("/traces"):
            return web.json_response({"rate_by_service": {"service:,env:": 1.0}})
        return web.Response(status=202)

    async def __aenter__(self) -> StandIn:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None, auto_decompress=False)  # bodies as they arrive
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


async def run_app(agent_url: str) -> str:
    """Run the ddtrace app against `agent_url`; its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DD_")}
    env.update(DD_TRACE_AGENT_URL=agent_url, DD_SERVICE="shop", DD_INSTRUMENTATION_TELEMETRY_ENABLED="false",
               DD_REMOTE_CONFIGURATION_ENABLED="false", DD_TRACE_STATS_COMPUTATION_ENABLED="false",
               DD_LLMOBS_AGENTLESS_ENABLED="false")
    proc = await asyncio.create_subprocess_exec(sys.executable, str(APP), env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode()


def start_proxy(book: SpanBook, forward: str | None = None) -> TraceProxy:
    proxy = TraceProxy("http://127.0.0.1:0", book, forward=forward)
    proxy.start()
    return proxy


def check_app_spans(book: SpanBook) -> None:
    """What tundra must show for tests/apps/llm_app.py, exactly."""
    summary = book.summary()
    assert summary.llm == 4 and summary.dropped == 0
    rows = {(m.model, m.provider): m for m in summary.models}
    assert set(rows) == {("gpt-4o", "openai"), ("claude-3-5-haiku", "anthropic")}
    gpt, claude = rows["gpt-4o", "openai"], rows["claude-3-5-haiku", "anthropic"]
    assert (gpt.spans, gpt.errors, gpt.input_tokens, gpt.output_tokens) == (2, 0, 52, 12)
    assert (claude.spans, claude.errors, claude.input_tokens, claude.output_tokens) == (1, 1, 7, 0)
    assert gpt.p95_ms is not None and gpt.p95_ms >= 0
    doc = json.dumps(summary.as_json())
    assert "jane.doe@example.com" not in doc
    classify = next(s for s in summary.recent if s.name == "classify")
    assert classify.input == "user: mail me at [redacted:email] please"
    assert classify.output == "assistant: label: shipping"
    root = next(s for s in summary.recent if s.kind == "workflow")
    assert root.parent_id == "" and root.ml_app == "shop-bot" and root.service == "shop"
    # one trace: every span in it, the llm spans children of the workflow, the 128-bit id rebuilt
    assert {s.trace_id for s in summary.recent} == {root.trace_id}
    assert len(root.trace_id) == 32 and root.trace_id[:16] != "0" * 16
    assert {s.parent_id for s in summary.recent if s.kind == "llm"} == {root.span_id}
    polish = next(s for s in summary.recent if s.name == "polish")
    assert polish.status == "error" and polish.error_type == "builtins.TimeoutError"


async def test_ddtrace_app_through_the_proxy_reaches_the_agent_untouched() -> None:
    book = SpanBook()
    async with StandIn() as agent:
        proxy = start_proxy(book, forward=agent.url)
        try:
            assert "sent" in await run_app(proxy.url)
            assert await asyncio.to_thread(proxy.drain, 10)
        finally:
            await asyncio.to_thread(proxy.stop)
    posts = [r for r in agent.requests if r["path"] == "/v0.4/traces"]
    assert posts, [r["path"] for r in agent.requests]
    spans = []
    for r in posts:
        h = r["headers"]
        assert h["Datadog-Meta-Lang"] == "python"
        assert h["Datadog-Meta-Tracer-Version"] == ddtrace.__version__
        assert h["Datadog-Meta-Lang-Version"] == platform.python_version()
        assert h["Datadog-Meta-Lang-Interpreter"] == platform.python_implementation()
        assert h["Content-Type"] == "application/msgpack"
        assert int(h["X-Datadog-Trace-Count"]) >= 1
        for trace in msgpack.unpackb(r["body"], strict_map_key=False):
            spans.extend(trace)
    structs = [msgpack.unpackb(s["meta_struct"]["_llmobs"]) for s in spans if "_llmobs" in s.get("meta_struct", {})]
    assert sorted(s["name"] for s in structs) == ["answer-customer", "classify", "draft", "polish"]
    # the Agent saw ddtrace's own bytes: tundra decodes them to the same records it kept
    decoded = [d for r in posts for d in decode("/v0.4/traces", r["body"]).spans]
    assert {(d.trace_id, d.span_id) for d in decoded} == {(s.trace_id, s.span_id) for s in book.summary().recent}
    assert book.summary().received == len(spans)
    check_app_spans(book)


async def test_ddtrace_app_with_no_agent_gets_tundras_minimal_agent() -> None:
    book = SpanBook()
    proxy = start_proxy(book)
    try:
        assert "sent" in await run_app(proxy.url)
        assert await asyncio.to_thread(proxy.drain, 10)
    finally:
        await asyncio.to_thread(proxy.stop)
    check_app_spans(book)


async def test_relay_is_byte_for_byte_and_drops_hop_by_hop_headers() -> None:
    book = SpanBook()
    async with StandIn() as agent:
        proxy = start_proxy(book, forward=agent.url)
        try:
            async with aiohttp.ClientSession(auto_decompress=False) as client:
                headers = {"Datadog-Container-ID": "c0ffee", "Datadog-Entity-ID": "in-42", "X-Custom": "1",
                           "Connection": "keep-alive, X-Private", "X-Private": "secret", "Keep-Alive": "timeout=5"}
                url = URL(proxy.url + "/echo?a=1&b=%2F", encoded=True)
                async with client.put(url, data=b"\x01\x02body", headers=headers) as resp:
                    assert resp.status == 207 and resp.reason == "Multi Echo"
                    assert await resp.read() == b"\x00raw\xffbytes"
                    assert resp.headers["X-Agent-Says"] == "hi"
                    assert resp.headers["Content-Type"] == "application/x-odd"
                # /info is what ddtrace decides from: the app must read the Agent's own bytes
                async with client.get(agent.url + "/info") as resp:
                    direct = (resp.status, resp.headers["Content-Type"], await resp.read())
                async with client.get(proxy.url + "/info") as resp:
                    assert (resp.status, resp.headers["Content-Type"], await resp.read()) == direct
        finally:
            await asyncio.to_thread(proxy.stop)
    seen = agent.requests[-3]  # then /info twice
    assert (seen["method"], seen["path"], seen["body"]) == ("PUT", "/echo?a=1&b=%2F", b"\x01\x02body")
    h = seen["headers"]
    assert h["Datadog-Container-ID"] == "c0ffee" and h["Datadog-Entity-ID"] == "in-42" and h["X-Custom"] == "1"
    assert "X-Private" not in h and "Keep-Alive" not in h


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_agent_down_gives_502_counted_and_spans_still_decoded() -> None:
    book = SpanBook()
    proxy = start_proxy(book, forward=f"http://127.0.0.1:{_closed_port()}")
    evp = json.dumps([{"event_type": "span", "spans": [{"span_id": "5", "trace_id": "ab", "name": "x",
                                                        "meta": {"span": {"kind": "llm"}}}]}]).encode()
    try:
        async with aiohttp.ClientSession() as client:
            for _ in range(3):
                async with client.post(proxy.url + "/evp_proxy/v2/api/v2/llmobs", data=evp,
                                       timeout=aiohttp.ClientTimeout(total=10)) as resp:
                    assert resp.status == 502
        assert await asyncio.to_thread(proxy.drain, 5)
    finally:
        await asyncio.to_thread(proxy.stop)
    summary = book.summary()
    assert summary.forward_errors == 3
    assert summary.as_json()["forward_errors"] == 3
    assert summary.llm == 1 and summary.received == 3  # the same span thrice: deduplicated
    assert summary.last_error.startswith("POST /evp_proxy/v2/api/v2/llmobs -> http://127.0.0.1:")


async def test_agent_that_never_answers_gives_502_within_the_timeout() -> None:
    with socket.socket() as mute:  # listening, never accepting: the kernel completes the handshake, no reply ever
        mute.bind(("127.0.0.1", 0))
        mute.listen(8)
        book = SpanBook()
        proxy = TraceProxy("http://127.0.0.1:0", book, forward=f"http://127.0.0.1:{mute.getsockname()[1]}",
                           timeout_s=0.3)
        proxy.start()
        try:
            async with aiohttp.ClientSession() as client, client.post(
                    proxy.url + "/v0.4/traces", data=msgpack.packb([]),
                    timeout=aiohttp.ClientTimeout(total=10)) as resp:
                assert resp.status == 502
        finally:
            await asyncio.to_thread(proxy.stop)
    assert book.summary().forward_errors == 1 and "TimeoutError" in book.summary().last_error


async def test_minimal_agent_answers_and_caps_the_body() -> None:
    book = SpanBook()
    proxy = TraceProxy("http://127.0.0.1:0", book, max_request_bytes=1024)
    proxy.start()
    try:
        async with aiohttp.ClientSession() as client:
            async with client.get(proxy.url + "/info") as resp:
                info = await resp.json()
            assert "/evp_proxy/v2/" in info["endpoints"] and info["span_meta_structs"] is True
            assert {"/v0.4/traces", "/v0.5/traces"} <= set(info["endpoints"])
            async with client.post(proxy.url + "/v0.4/traces", data=msgpack.packb([])) as resp:
                assert await resp.json() == {"rate_by_service": {}}
            async with client.post(proxy.url + "/evp_proxy/v2/api/v2/llmobs", data=b"[]") as resp:
                assert resp.status == 202
            async with client.post(proxy.url + "/v0.4/traces", data=b"x" * 4096) as resp:
                assert resp.status == 413
            async with client.post(proxy.url + "/v0.4/traces", data=b"\xc1 not msgpack") as resp:
                assert resp.status == 200  # the app is never failed by what tundra cannot read
        assert await asyncio.to_thread(proxy.drain, 5)
    finally:
        await asyncio.to_thread(proxy.stop)
    assert book.summary().dropped == 2  # the oversized body and the malformed one


def test_busy_port_is_one_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(TraceProxyError, match=f"cannot listen for traces on http://127.0.0.1:{port}"):
            TraceProxy(f"http://127.0.0.1:{port}", SpanBook()).start()
    with pytest.raises(TraceProxyError, match="expected http://HOST:PORT"):
        TraceProxy("udp://127.0.0.1:1", SpanBook())


def test_a_quit_while_the_port_starts_serving_closes_it() -> None:
    """The screen starts serving from a thread of its own (SpanFeed.serve); a quit then may stop the port at any
    point of that start: stop() once found the serving thread created and not yet started (join raised), or
    closed the socket the starting server was about to take (a start error). Either way the port is closed."""
    for _ in range(8):
        proxy = TraceProxy("http://127.0.0.1:0", SpanBook())
        proxy.start(serve=False)
        failed: list[BaseException] = []

        def serve(p: TraceProxy = proxy, out: list[BaseException] = failed) -> None:
            try:
                p.serve()
            except BaseException as exc:
                out.append(exc)

        starter = threading.Thread(target=serve)
        starter.start()
        proxy.stop()
        starter.join(30)
        assert not failed, failed
        assert proxy._sock is not None and proxy._sock.fileno() == -1


async def test_bound_port_answers_what_waited_once_served() -> None:
    """`start(serve=False)` (the screen, before its first frame) takes the port at once; a client that connects
    then waits in the backlog and is answered when `serve()` runs. A port bound and never served closes."""
    proxy = TraceProxy("http://127.0.0.1:0", SpanBook())
    proxy.start(serve=False)
    with socket.socket() as probe:
        probe.settimeout(30)
        probe.connect(("127.0.0.1", proxy.port))  # no server yet: the kernel holds it in the backlog
        probe.sendall(b"GET /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await asyncio.to_thread(proxy.serve)
        answer = b""
        while chunk := await asyncio.to_thread(probe.recv, 65536):
            answer += chunk
    await asyncio.to_thread(proxy.stop)
    assert answer.startswith(b"HTTP/1.1 200") and b"span_meta_structs" in answer
    idle = TraceProxy("http://127.0.0.1:0", SpanBook())
    idle.start(serve=False)
    idle.stop()
    idle.serve()  # after stop: nothing starts
    with socket.socket() as again:  # the port is free again
        again.bind(("127.0.0.1", idle.port))


async def test_ddtrace_app_with_the_agent_down_gets_502s_finishes_and_is_counted() -> None:
    """While the Agent is down, every request of a real tracer (its /info, its first upload) gets a 502 at once and
    is counted, and what it sent is decoded; the Agent then comes back, and the tracer's retry of the upload
    reaches it. (ddtrace's native exporter retries an upload that got any error five times, 0.1 s doubling:
    with the Agent down for good the app took 3.1 s more, to end the same way; that retry is not configurable.)"""
    book = SpanBook()
    port = _closed_port()
    proxy = start_proxy(book, forward=f"http://127.0.0.1:{port}")
    try:
        app = asyncio.ensure_future(run_app(proxy.url))
        await settle(lambda: app.done() or "/v0.4/traces" in (book.summary().last_error or ""),
                     "the first upload's 502")
        async with StandIn(port=port) as agent:
            assert "sent" in await app  # the app ends by itself (run_app bounds it): no hang
        assert await asyncio.to_thread(proxy.drain, 10)
    finally:
        await asyncio.to_thread(proxy.stop)
    summary = book.summary()
    paths = [r["path"] for r in agent.requests]
    assert "/v0.4/traces" in paths, paths  # the upload's retry was relayed once the Agent was back
    assert summary.forward_errors == proxy.requests - len(paths) >= 2  # /info and the upload: each a 502, counted
    assert summary.as_json()["forward_errors"] == summary.forward_errors
    assert "Connect" in summary.last_error or "refused" in summary.last_error, summary.last_error
    check_app_spans(book)  # what the app sent is decoded and shown, once (the retry's copy is the same spans)
