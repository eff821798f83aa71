"""The fleet view against a real local HTTP server speaking Datadog's JSON; nothing mocked in the client."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price

from tundra_tui.services.agent import AgentProbe
from tundra_tui.services.fleet import FleetPoller, FleetSettings

from .conftest import run_cli
from .datadog_stub import API_KEY, APP_KEY, DatadogStub
from .waits import wait_until

KEYS = {"DD_API_KEY": API_KEY, "DD_APP_KEY": APP_KEY}


def poller(stub: DatadogStub, api: str = API_KEY, app: str = APP_KEY, **kw) -> FleetPoller:
    return FleetPoller(FleetSettings(api_key=api, app_key=app, url=stub.url, timeout_s=kw.pop("timeout_s", 3), **kw))


def test_totals_per_model_and_hosts() -> None:
    with DatadogStub() as stub:
        p = poller(stub, scope="env:production", window_s=600)
        wait = p.poll_once()
    st = p.state
    assert (st.status, wait) == ("ok", 30.0)
    rows = {m.model: m.to_json() for m in st.models}
    assert rows["gpt-4o"] == {"model": "gpt-4o", "provider": "openai", "requests": 35, "errors": 5,
                              "input_tokens": 35000, "output_tokens": 2500,
                              "cost_usd": pytest.approx(float(calc_price(
                                  Usage(input_tokens=35000, output_tokens=2500), "gpt-4o",
                                  provider_id="openai").total_price))}
    assert rows["claude-sonnet-4-5"]["requests"] == 15 and rows["claude-sonnet-4-5"]["output_tokens"] == 600
    assert st.hosts == 2
    body = stub.requests[0]["body"]["data"]["attributes"]
    assert body["to"] - body["from"] == 600_000
    assert all("{env:production}" in q["query"] for q in body["queries"])
    assert stub.requests[0]["headers"]["DD-API-KEY"] == API_KEY


def test_wrong_keys_are_unauthorized_and_named() -> None:
    with DatadogStub() as stub:
        p = poller(stub, api="wrong-key-1234")
        p.poll_once()
    assert p.state.status == "unauthorized"
    assert "DD_API_KEY" in p.state.message and "DD_APP_KEY" in p.state.message
    assert "wrong-key" not in p.state.message and "1234" not in json.dumps(p.state.to_json())


def test_429_waits_for_the_reset() -> None:
    with DatadogStub(mode="429", reset_s=0.5) as stub:
        p = poller(stub)
        assert p.poll_once() == 0.5  # the wait is the server's X-RateLimit-Reset
        limited = (p.state.status, p.state.message, p.answered.is_set())
    assert limited == ("rate_limited", "rate limited by Datadog; next request in 0.5s", False)
    with DatadogStub(mode="429", reset_s=0.5) as stub:
        p = poller(stub)
        p.start()
        stub.wait_requests(2)
        wait_until(p.answered.is_set, "the answer after the reset")
        p.stop()
        gap = stub.requests[1]["t"] - stub.requests[0]["t"]
    assert p.state.status == "ok"
    assert gap >= 0.5  # nothing was sent before X-RateLimit-Reset passed


@pytest.mark.parametrize(("mode", "status"), [("500", "error"), ("slow", "error"), ("403", "unauthorized")])
def test_failures_and_backoff(mode: str, status: str) -> None:
    with DatadogStub(mode=mode) as stub:
        p = poller(stub, timeout_s=0.2 if mode == "slow" else 3, interval_s=5)
        first = p.poll_once()
        second = p.poll_once()
    assert p.state.status == status
    if status == "error":
        assert (first, second) == (5, 10)  # backoff doubles


def test_no_keys_means_off() -> None:
    p = FleetPoller(FleetSettings())
    p.start()
    assert p.state.to_json()["status"] == "off" and "DD_API_KEY" in p.state.message


def test_top_once_json_has_the_fleet_and_no_key(tmp_path: Path) -> None:
    with DatadogStub(mode="429", reset_s=0.2) as stub:
        # Ctrl-C once the request after the reset is sent (answered ok): --once lets it land before it prints
        res = run_cli("top", "--once", "--after", "60", "--json", "--listen", "udp://127.0.0.1:0",
                      "--datadog-url", stub.url, env=dict(KEYS), driver=lambda _: stub.wait_requests(2))
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    fleet = doc["fleet"]
    assert set(fleet) == {"status", "window_s", "updated", "message", "models", "this_host"}
    assert fleet["this_host"]["host"] == socket.gethostname()  # no DD_HOSTNAME in the tests
    assert fleet["status"] == "ok" and fleet["window_s"] == 900 and fleet["updated"]
    assert {m["model"] for m in fleet["models"]} == {"gpt-4o", "claude-sonnet-4-5"}
    for secret in (API_KEY, APP_KEY, API_KEY[:12], APP_KEY[:12]):
        assert secret not in res.stdout and secret not in res.stderr


def test_keys_never_appear_anywhere(tmp_path: Path, isolated_dirs: Path) -> None:
    """Bad keys, a recording, and every output and written file: no key, whole or in part."""
    cap = tmp_path / "rec.dog"
    with DatadogStub() as stub:
        bad = run_cli("top", "--once", "--after", "60", "--json", "--listen", "udp://127.0.0.1:0",
                      "--datadog-url", stub.url, "--record", str(cap),
                      env={"DD_API_KEY": API_KEY[::-1], "DD_APP_KEY": APP_KEY[::-1]},
                      driver=lambda _: stub.wait_requests(1))
    doc = json.loads(bad.stdout)
    assert doc["fleet"]["status"] == "unauthorized" and "DD_API_KEY" in doc["fleet"]["message"]
    blobs = [bad.stdout, bad.stderr]
    for path in [*tmp_path.rglob("*"), *isolated_dirs.rglob("*")]:
        if path.is_file():
            blobs.append(path.read_bytes().decode("latin-1"))
    for key in (API_KEY[::-1], APP_KEY[::-1]):
        for blob in blobs:
            assert key[:8] not in blob and key[8:16] not in blob


def test_agent_probe() -> None:
    async def probe(url: str):
        import aiohttp

        async with aiohttp.ClientSession() as http:
            return await AgentProbe(url).probe(http)

    with DatadogStub() as stub:
        st = asyncio.run(probe(stub.url + "/info"))
    assert st.reachable and st.version == "7.60.1" and "/v0.4/traces" in st.endpoints
    assert st.summary().startswith("agent 7.60.1")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    down = asyncio.run(probe(f"http://127.0.0.1:{port}/info"))
    assert down.reachable is False and down.summary() == "agent: not reachable"


def test_agent_probe_does_not_take_a_tundra_trace_port_for_the_agent() -> None:
    """A tundra answering /info as a minimal Agent (its own, or another one's on 8126) is no Agent."""
    from tundra_tui.model.spans import SpanBook
    from tundra_tui.services.traceproxy import TraceProxy

    proxy = TraceProxy("http://127.0.0.1:0", SpanBook())
    proxy.start()
    try:
        async def probe():
            import aiohttp

            async with aiohttp.ClientSession() as http:
                return await AgentProbe(proxy.url + "/info").probe(http)

        st = asyncio.run(probe())
    finally:
        proxy.stop()
    assert st.reachable is False and st.summary() == "agent: not reachable"
    assert st.message is not None and st.message.startswith("no Agent: tundra-")


def test_bad_datadog_url_is_one_line() -> None:
    res = run_cli("top", "--once", "--json", "--datadog-url", "ftp://x", "--listen", "udp://127.0.0.1:0")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
