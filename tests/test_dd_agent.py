"""Where datagrams are lost: the Agent's socket in /proc/net/udp, its expvar counters, and `dd_agent` in the JSON."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from datadog.dogstatsd import DogStatsd

from tundra_tui.services.expvar import MAX_BODY, ExpvarPoller, parse_expvar
from tundra_tui.sources import procnet

from .waits import Tundra, wait_until

# the shape of the Agent's /debug/vars, with its real map and field names (and the noise around them)
VARS = {"cmdline": ["agent", "run"], "memstats": {"Alloc": 123, "BySize": [{"Size": 0}] * 3},
        "dogstatsd-udp": {"Bytes": 9120, "PacketReadingErrors": 2, "Packets": 800},
        "dogstatsd-uds": {"Bytes": 0, "OriginDetectionErrors": 0, "PacketReadingErrors": 0, "Packets": 0},
        "dogstatsd": {"EventPackets": 1, "EventParseErrors": 0, "MetricPackets": 790, "MetricParseErrors": 3,
                      "ServiceCheckPackets": 0, "ServiceCheckParseErrors": 0, "UnterminatedMetricErrors": 0}}


def dropping_socket(n: int) -> tuple[socket.socket, int]:
    """A socket that really drops: the smallest SO_RCVBUF, nobody reading, `n` datagrams sent to it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel rounds up to its minimum
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        sender.sendto(b"x:%d|c" % i, ("127.0.0.1", port))
    sender.close()
    return s, port


def read_all(s: socket.socket) -> int:
    s.setblocking(False)
    n = 0
    while True:
        try:
            s.recv(65536)
            n += 1
        except BlockingIOError:
            return n


def test_proc_net_udp_counts_a_real_dropping_socket() -> None:
    s, port = dropping_socket(500)
    try:
        rows = procnet.udp_sockets(port)
        assert len(rows) == 1
        row = rows[0]
        assert row.host == "127.0.0.1" and row.inode == os.fstat(s.fileno()).st_ino
        assert row.drops > 0 and row.rx_queue_bytes > 0
        watch = procnet.SocketWatch(port).read()
        assert watch is not None and watch["pid"] == os.getpid() and watch["drops"] == row.drops
        queued = read_all(s)
        assert queued + row.drops == 500  # every datagram was either queued or counted as dropped
        assert procnet.udp_sockets(port)[0].rx_queue_bytes == 0
    finally:
        s.close()
    assert procnet.udp_sockets(port) == [] and procnet.SocketWatch(port).read() is None


def test_proc_net_udp6_addresses() -> None:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::1", 0))
    try:
        rows = procnet.udp_sockets(s.getsockname()[1])
    finally:
        s.close()
    assert [r.host for r in rows] == ["::1"]


@contextmanager
def expvar_server(routes: dict[str, Any]) -> Iterator[str]:
    """A local aiohttp stand-in for the Agent's expvar endpoint; yields its base URL."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        app = web.Application()
        for path, answer in routes.items():
            app.router.add_get(path, answer)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        box["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        box["stop"] = asyncio.Event()
        box["loop"] = asyncio.get_running_loop()
        ready.set()
        await box["stop"].wait()
        await runner.cleanup()

    t = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    t.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{box['port']}"
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        t.join(10)


async def vars_ok(request: web.Request) -> web.Response:
    return web.json_response(VARS)


async def vars_huge(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    await resp.prepare(request)
    chunk = b" " * (1 << 20)
    for _ in range(MAX_BODY // len(chunk) + 2):
        await resp.write(chunk)
    return resp


async def vars_redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound("/debug/vars")


async def vars_hostile(request: web.Request) -> web.Response:
    body = '{"dogstatsd-udp": {"Packets": 1e999, "Bytes": -5, "PacketReadingErrors": true}, "dogstatsd": []}'
    return web.Response(text=body, content_type="application/json")


def poll_once(url: str) -> ExpvarPoller:
    poller = ExpvarPoller(url, interval_s=60)
    poller.start()
    wait_until(lambda: poller.polls >= 1, "one expvar poll")
    poller.stop()
    return poller


def test_expvar_counters_from_a_stand_in_agent() -> None:
    routes = {"/debug/vars": vars_ok, "/huge": vars_huge, "/moved": vars_redirect, "/hostile": vars_hostile}
    with expvar_server(routes) as base:
        ok = poll_once(f"{base}/debug/vars")
        huge = poll_once(f"{base}/huge")
        moved = poll_once(f"{base}/moved")
        hostile = poll_once(f"{base}/hostile")
    absent = poll_once("http://127.0.0.1:9/debug/vars")
    assert ok.counters == {"udp_packets": 800, "udp_bytes": 9120, "udp_reading_errors": 2, "uds_packets": 0,
                           "uds_reading_errors": 0, "metric_packets": 790, "metric_parse_errors": 3,
                           "event_parse_errors": 0, "service_check_parse_errors": 0}
    assert huge.counters is None and huge.message == "expvar answer too large"
    assert moved.counters is None and moved.message == "expvar answered 302"  # never followed
    assert hostile.counters is not None and set(hostile.counters.values()) == {None}  # no inf, negative or bool
    assert absent.counters is None and absent.message is not None
    assert parse_expvar({"cmdline": []}) is None and parse_expvar([1]) is None


def test_dashboard_json_has_dd_agent_and_passive_mode(tmp_path: Path) -> None:
    """top --once --json next to a stand-in Agent that holds the port, drops, and publishes expvar."""
    agent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    agent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
    agent.bind(("127.0.0.1", 0))
    port = agent.getsockname()[1]
    with expvar_server({"/debug/vars": vars_ok}) as base:
        cfg = tmp_path / "config.toml"
        cfg.write_text(f'[agent]\nexpvar_url = "{base}/debug/vars"\nurl = "http://127.0.0.1:9/info"\n')
        with Tundra("top", "--once", "--json", "--after", "1", "--no-traces", "--listen",
                    f"udp://127.0.0.1:{port}", env={"TUNDRA_CONFIG": str(cfg)}) as child:
            line = child.wait_output(r".*watching .* passively.*").group(0)
            client = DogStatsd(host="127.0.0.1", port=port, disable_telemetry=True, disable_buffering=True,
                               origin_detection_enabled=False)
            for _ in range(400):
                client.increment("llm.request.complete", 1, tags=["model:gpt-4o"])
            client.close_socket()
            res = child.finish()
    queued = read_all(agent)
    agent.close()
    assert res.returncode == 0, res.stderr
    assert f"port {port} is held by" in line and f"(pid {os.getpid()})" in line
    doc = json.loads(res.stdout)
    assert doc["tap"]["mode"] == "passive" and doc["tap"]["lines"] == 400  # the tap saw all of it...
    sock = doc["dd_agent"]["socket"]
    assert sock["port"] == port and sock["pid"] == os.getpid()
    assert sock["drops"] > 0 and sock["drops"] + queued == 400  # ...and knows how much the Agent's socket lost
    assert doc["dd_agent"]["expvar"]["udp_packets"] == 800
    assert doc["dd_agent"]["reachable"] is None  # --once does not probe /info
