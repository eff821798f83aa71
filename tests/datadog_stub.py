"""A real local HTTP server (aiohttp) speaking the Datadog API's JSON, for the fleet tests."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from aiohttp import web

from .waits import wait_until

API_KEY = "0123456789abcdef0123456789abSECRET1"
APP_KEY = "fedcba9876543210fedcba9876543210fedcAPPKY2"


def series_answer(now_ms: int) -> dict[str, Any]:
    """Two hosts, two models; a failing share on gpt-4o."""
    times = [now_ms - 60_000 * i for i in range(3)][::-1]
    series, values = [], []

    def add(idx: int, tags: list[str], vals: list[float | None]) -> None:
        series.append({"group_tags": tags, "query_index": idx, "unit": None})
        values.append(vals)

    add(0, ["model:gpt-4o", "provider:openai", "success:true", "host:web-1"], [10, 20, None])
    add(0, ["model:gpt-4o", "provider:openai", "success:false", "host:web-2"], [1, 2, 2])
    add(0, ["model:claude-sonnet-4-5", "provider:anthropic", "success:true", "host:web-2"], [5, 5, 5])
    add(1, ["model:gpt-4o", "provider:openai"], [10000, 20000, 5000])
    add(1, ["model:claude-sonnet-4-5", "provider:anthropic"], [3000, 0, None])
    add(2, ["model:gpt-4o", "provider:openai"], [1000, 1000, 500])
    add(2, ["model:claude-sonnet-4-5", "provider:anthropic"], [600, None, None])
    return {"data": {"type": "timeseries_response", "id": "0",
                     "attributes": {"series": series, "times": times, "values": values}}}


class DatadogStub:
    """POST /api/v2/query/timeseries and GET /info; `mode` picks the behaviour.

    `slow` answers only when the stub closes (a client times out, nobody sleeps); `wait_requests(n)`
    waits for the n-th request, which from a poller also means its previous answer was folded."""

    def __init__(self, mode: str = "ok", reset_s: float = 2) -> None:
        self.mode = mode
        self.reset_s = reset_s
        self.requests: list[dict[str, Any]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> DatadogStub:
        self._thread.start()
        self._ready.wait(10)
        return self

    def wait_requests(self, n: int, timeout: float = 30) -> None:
        """Wait until `n` timeseries requests have arrived."""
        wait_until(lambda: len(self.requests) >= n, f"request {n} at the Datadog stub", timeout)

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            self._release.set()
            if self._runner is not None:
                await self._runner.cleanup()
        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._release = asyncio.Event()  # `slow` answers once this is set
        app = web.Application()
        app.router.add_post("/api/v2/query/timeseries", self.timeseries)
        app.router.add_get("/info", self.info)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def timeseries(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"t": time.monotonic(), "headers": dict(request.headers), "body": body})
        if request.headers.get("DD-API-KEY") != API_KEY or request.headers.get("DD-APPLICATION-KEY") != APP_KEY:
            return web.json_response({"errors": ["Forbidden"]}, status=403)
        if self.mode == "403":
            return web.json_response({"errors": ["Forbidden"]}, status=403)
        if self.mode == "500":
            return web.json_response({"errors": ["Internal Server Error"]}, status=500)
        if self.mode == "429" and len(self.requests) == 1:
            return web.json_response({"errors": ["Too many requests"]}, status=429, headers={
                "X-RateLimit-Limit": "100", "X-RateLimit-Period": "60", "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(self.reset_s)})
        if self.mode == "slow":
            await self._release.wait()
        attrs = body["data"]["attributes"]
        assert body["data"]["type"] == "timeseries_request" and attrs["to"] > attrs["from"]
        return web.Response(text=json.dumps(series_answer(attrs["to"])), content_type="application/json")

    async def info(self, request: web.Request) -> web.Response:
        return web.json_response({"version": "7.60.1", "endpoints": ["/v0.4/traces", "/v0.7/traces", "/info"],
                                  "config": {"default_env": "none"}})
