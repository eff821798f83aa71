"""Trace-port figures, each a ratio to a minimal loop measured in the same run.

    uv run python benchmarks/traces.py

decode: v0.4 payloads with LLM Observability structs (the shape ddtrace 4.16 sends), tundra's
  decode + redaction + per-model rollup vs the floor any decoder pays (msgpack.unpackb of the
  payload and of every `_llmobs` struct).
redact: the same decode with the PII redactor's gates (model/redact_gates.py) vs its regexes alone,
  on prompts where one in `PII_EVERY` holds an e-mail address; the kept spans are checked equal.
upload: POSTs per second an app gets through tundra's trace port (minimal-Agent mode, decoding
  on) vs a bare aiohttp server that reads the body and answers the same JSON.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import msgpack
from aiohttp import ClientSession, web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tundra_tui.model.redact import Redactor
from tundra_tui.model.spans import SpanBook
from tundra_tui.services.traceproxy import TraceProxy
from tundra_tui.traces import decode

PII_EVERY = 10


def payload(traces: int, seed: int = 0, pii_every: int = 1) -> bytes:
    """`traces` traces of a workflow and three llm spans each, as ddtrace encodes them for /v0.4/traces;
    every `pii_every`-th trace's prompts hold an e-mail address."""
    out = []
    for t in range(traces):
        tid = (seed << 32) + t + 1
        root = 10_000 + t * 10
        spans = []
        for i, (kind, model) in enumerate((("workflow", ""), ("llm", "gpt-4o"), ("llm", "gpt-4o"),
                                            ("llm", "claude-3-5-haiku"))):
            who = f"ann{t}@example.com" if t % pii_every == 0 else f"ann number {t}"
            meta = {"span": {"kind": kind}, "input": {"messages": [{"role": "user", "content":
                                                                     f"question {t} from {who} " * 8}]},
                    "output": {"messages": [{"role": "assistant", "content": "an answer " * 30}]}}
            if model:
                meta.update(model_name=model, model_provider="openai" if model == "gpt-4o" else "anthropic")
            struct = {"name": f"step{i}", "parent_id": "undefined" if i == 0 else str(root), "ml_app": "shop",
                      "trace_id": f"{tid:032x}", "tags": {"ml_app": "shop", "service": "svc"}, "meta": meta,
                      "metrics": {"input_tokens": 120, "output_tokens": 40}, "_dd": {}}
            spans.append({"trace_id": tid, "span_id": root + i, "parent_id": 0 if i == 0 else root, "service": "svc",
                          "name": f"step{i}", "resource": kind, "start": 1_795_000_000_000_000_000 + t,
                          "duration": 1_000_000 * (i + 1), "error": 0,
                          "meta": {"_dd.p.tid": "6b09ad8000000000"} if i == 0 else {}, "metrics": {},
                          "meta_struct": {"_llmobs": msgpack.packb(struct)}})
        out.append(spans)
    return msgpack.packb(out)


def floor(body: bytes) -> int:
    n = 0
    for trace in msgpack.unpackb(body, strict_map_key=False):
        for span in trace:
            msgpack.unpackb(span["meta_struct"]["_llmobs"])
            n += 1
    return n


def per_second(fn, bodies: list[bytes]) -> float:  # type: ignore[no-untyped-def]
    """Spans per second of fn over every body once (distinct spans: no dedupe shortcut)."""
    start = time.perf_counter()
    for b in bodies:
        fn(b)
    return 200 * len(bodies) / (time.perf_counter() - start)


def bench_decode() -> None:
    bodies = [payload(50, seed) for seed in range(40)]  # 200 spans a payload, 8,000 distinct spans
    base = per_second(floor, bodies)
    book = SpanBook()
    ours = per_second(lambda b: book.add(decode("/v0.4/traces", b, "application/msgpack")), bodies)
    print(f"decode: tundra {ours:,.0f} spans/s, floor {base:,.0f} spans/s, ratio {ours / base:.2f} "
          f"(kept {book.summary().llm:,} distinct)")


def bench_redact() -> None:
    bodies = [payload(50, seed, PII_EVERY) for seed in range(40)]
    rates, kept = [], []
    for gated in (False, True, False, True):  # interleaved: a load change on the machine hits both alike
        book = SpanBook(Redactor(gated=gated))
        rates.append(per_second(lambda b, book=book: book.add(decode("/v0.4/traces", b)), bodies))
        kept.append(book.summary().recent)
    assert kept[0] == kept[1], "gated redaction differs from the regexes alone"
    slow, fast = max(rates[0], rates[2]), max(rates[1], rates[3])
    print(f"redact: decode with gates {fast:,.0f} spans/s, regexes alone {slow:,.0f} spans/s, "
          f"ratio {fast / slow:.2f} (e-mail in 1 prompt of {PII_EVERY})")


async def _post_loop(url: str, body: bytes, seconds: float, workers: int = 8) -> float:
    done = 0
    end = time.perf_counter() + seconds

    async with ClientSession() as client:
        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < end:
                async with client.post(url, data=body, headers={"Content-Type": "application/msgpack"}) as r:
                    await r.read()
                    done += r.status == 200
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return done / (time.perf_counter() - start)


async def _bare_server() -> tuple[web.AppRunner, str]:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"rate_by_service": {}})

    app = web.Application(client_max_size=25 * 1024 * 1024)
    app.router.add_post("/v0.4/traces", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/v0.4/traces"


async def bench_upload() -> None:
    body = payload(5)  # 20 spans: a typical flush
    runner, url = await _bare_server()
    base = await _post_loop(url, body, 3.0)
    await runner.cleanup()
    book = SpanBook()
    proxy = TraceProxy("http://127.0.0.1:0", book)
    proxy.start()
    ours = await _post_loop(proxy.url + "/v0.4/traces", body, 3.0)
    await asyncio.to_thread(proxy.drain, 30)
    proxy.stop()
    print(f"upload: tundra {ours:,.0f} POST/s, bare aiohttp {base:,.0f} POST/s, ratio {ours / base:.2f} "
          f"(decoded {book.summary().received:,} spans, dropped {book.summary().dropped})")


if __name__ == "__main__":
    bench_decode()
    bench_redact()
    asyncio.run(bench_upload())
