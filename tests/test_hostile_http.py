"""The Datadog API and the Agent's /info as an attacker would answer: redirects to another origin,
huge bodies, terminal escapes, markup and non-finite numbers. A real local aiohttp server each time."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientSession, ClientTimeout, web

from tundra_tui.model.cost import Pricer
from tundra_tui.services.agent import MAX_INFO, AgentProbe
from tundra_tui.services.bounded_http import MAX_BODY
from tundra_tui.services.fleet import MIN_RETRY_S, FleetPoller, FleetSettings
from tundra_tui.text import clean

from .datadog_stub import API_KEY, APP_KEY

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
EVIL = "\x1b]2;EVIL\x07[/x]\u202e\x1b[2J"


class Server:
    """One aiohttp app on 127.0.0.1, any route answered by `handler`; every request's headers kept."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[dict[str, str]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _any(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(dict(request.headers))
        return await self.handler(request)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._any)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def __enter__(self) -> Server:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def _poller(url: str) -> FleetPoller:
    # every model of these answers priced by config: the genai-prices table (seconds to load) stays unloaded
    prices = {m: {"input_mtok": 1, "output_mtok": 2} for m in ("m1", "m2", clean(EVIL), "unknown")}
    return FleetPoller(FleetSettings(api_key=API_KEY, app_key=APP_KEY, url=url, timeout_s=5, interval_s=5),
                       pricer=Pricer(prices))


def _answer(series: list[tuple[list[Any], list[Any]]]) -> str:
    """A timeseries answer; Python's json writes inf and NaN as `Infinity`/`NaN`, as a hostile server may."""
    return json.dumps({"data": {"type": "timeseries_response", "id": "0", "attributes": {
        "series": [{"group_tags": tags, "query_index": 0, "unit": None} for tags, _ in series],
        "times": [1, 2], "values": [vals for _, vals in series]}}})


def _clean_json(doc: Any) -> None:
    json.dumps(doc, allow_nan=False)  # finite numbers only
    todo = [doc]
    while todo:  # every string, keys included: nothing a terminal would obey
        x = todo.pop()
        if isinstance(x, str):
            assert not _CONTROL.search(x), x
        elif isinstance(x, dict):
            todo += [*x.keys(), *x.values()]
        elif isinstance(x, list):
            todo += x


def test_keys_never_follow_a_redirect_to_another_origin() -> None:
    async def trap(request: web.Request) -> web.Response:
        return web.json_response({})

    with Server(trap) as other:
        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPTemporaryRedirect(other.url + request.path)

        with Server(redirect) as api:
            p = _poller(api.url)
            p.poll_once()
    assert api.seen and api.seen[0]["DD-API-KEY"] == API_KEY  # the configured origin got the request
    assert other.seen == []  # and nothing, least of all a key, went to the other one
    assert p.state.status == "error" and "307" in (p.state.message or "")


def test_a_huge_answer_is_cut_not_held() -> None:
    async def huge(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        chunk = b"[" + b"1," * (1 << 19)
        for _ in range((MAX_BODY // len(chunk)) + 4):  # just past the cap: what was read is all it cost
            await resp.write(chunk)
        return resp

    with Server(huge) as api:
        p = _poller(api.url)
        wait = p.poll_once()
    assert p.state.status == "error" and "AnswerTooLarge" in (p.state.message or "") and wait >= 5


@pytest.mark.parametrize("reset", ["0", "1e-9", "-5", "nan", "inf", "soon", ""])
def test_a_429_never_means_asking_again_at_once(reset: str) -> None:
    async def limited(request: web.Request) -> web.Response:
        return web.json_response({"errors": ["Too many requests"]}, status=429,
                                 headers={"X-RateLimit-Reset": reset} if reset else {})

    with Server(limited) as api:
        p = _poller(api.url)
        waits = [p.poll_once() for _ in range(3)]
    assert all(MIN_RETRY_S <= w <= 600 for w in waits), waits
    assert p.state.status == "rate_limited" and len(api.seen) == 3


def test_the_fleet_poller_survives_hostile_numbers_tags_and_shapes() -> None:
    answers = [
        _answer([(["model:m1", "provider:p", "success:true", "host:h1"], [1e308, 1e308]),
                 (["model:m1", "provider:p", "success:true", "host:h2"], [float("inf"), float("-inf")]),
                 ([f"model:{EVIL}", f"provider:{EVIL}", "success:true", f"host:{EVIL}"], [float("nan"), 2, None]),
                 (["model:m2", "provider:p", "success:true"], [3, -1e300])]),
        _answer([(["model:m2", 7, None, ["nested"]], [3, {"a": 1}, "x"])]),  # shapes the client's types refuse
        json.dumps({"data": {"attributes": {"series": "not a list", "values": {"a": 1}}}}),
        json.dumps({"data": [1, 2, 3]}),
        json.dumps([1, 2]),
        "not json at all",
    ]
    state = {"i": 0}

    async def hostile(request: web.Request) -> web.Response:
        body = answers[min(state["i"], len(answers) - 1)]
        state["i"] += 1
        return web.Response(text=body, content_type="application/json")

    with Server(hostile) as api:
        p = _poller(api.url)
        p.poll_once()
        first = p.state.to_json()
        for _ in answers[1:]:
            p.poll_once()  # none of these may raise: the poller thread would die with the status stuck
    assert first["status"] == "ok"
    _clean_json(first)
    rows = {m["model"]: m for m in first["models"]}
    assert rows["m1"]["requests"] == 0 and rows["m2"]["requests"] == 3  # absurd values left out, not summed
    assert any("\\x1b]2;EVIL\\x07[/x]" in m for m in rows)  # the escape shown, not obeyed
    assert p.state.status in ("ok", "error")


@pytest.mark.parametrize("case", ["escapes", "huge", "redirect", "not_json", "endpoints"])
def test_agent_info_as_an_attacker_answers_it(case: str) -> None:
    async def info(request: web.Request) -> web.StreamResponse:
        if case == "escapes":
            return web.json_response({"version": EVIL, "endpoints": [EVIL, "/v0.4/traces", 7, None]})
        if case == "huge":
            return web.Response(body=b'{"version": "' + b"x" * (MAX_INFO + 10) + b'"}',
                                content_type="application/json")
        if case == "redirect":
            raise web.HTTPFound("http://127.0.0.1:9/info")
        if case == "not_json":
            return web.Response(text="[" * 100_000)
        return web.json_response({"version": "7", "endpoints": [f"/e{i}" for i in range(5000)]})

    async def probe(url: str) -> Any:
        async with ClientSession(timeout=ClientTimeout(total=5), auto_decompress=False) as http:
            return await AgentProbe(url).probe(http)

    with Server(info) as agent:
        state = asyncio.run(probe(agent.url + "/info"))
    summary = state.summary()
    assert not _CONTROL.search(summary) and not _CONTROL.search(state.version or "")
    if case == "escapes":
        assert state.reachable and "\\x1b]2;EVIL\\x07" in (state.version or "")
        assert state.endpoints[1] == "/v0.4/traces" and len(state.endpoints) == 2
    elif case == "endpoints":
        assert state.reachable and len(state.endpoints) <= 64
    else:
        assert state.reachable is False and summary == "agent: not reachable"
