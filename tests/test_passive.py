"""The passive tap on real packet sockets: a plain UDP socket stands in for the Agent and holds the port."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datadog.dogstatsd import DogStatsd

from tests.conftest import ROOT, run_cli
from tests.waits import Output
from tundra_tui.model.engine import Engine, Mode
from tundra_tui.sources import SourceError, Tap, parse_url
from tundra_tui.sources.passive import Decoder

NO_RAW = ["setpriv", "--bounding-set=-net_raw,-net_admin", "--inh-caps=-net_raw,-net_admin"]


def agent_socket(host: str = "127.0.0.1") -> socket.socket:
    """The stand-in Agent: bound, with room for everything, read by the test at the end."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((host, 0))
    return s


def agent_got(s: socket.socket) -> list[bytes]:
    s.setblocking(False)
    got = []
    while True:
        try:
            got.append(s.recv(65536))
        except BlockingIOError:
            return got


def drain(tap: Tap, engine: Engine, want_lines: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while engine.lines < want_lines and time.monotonic() < deadline:
        engine.feed(tap.read(0.05))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_passive_sees_every_datagram_and_the_agent_keeps_them(host: str) -> None:
    agent = agent_socket(host)
    port = agent.getsockname()[1]
    addr = f"[{host}]" if ":" in host else host
    tap = Tap([parse_url(f"udp://{addr}:{port}")])  # the default: a held port is watched, not fought over
    tap.start()
    try:
        assert tap.mode == "passive"
        client = DogStatsd(host=host, port=port, disable_telemetry=True, disable_buffering=True,
                           origin_detection_enabled=False)
        for i in range(300):
            client.increment("llm.request.complete", 1, tags=["model:gpt-4o"])
            client.distribution("llm.request.duration", 100 + i, tags=["model:gpt-4o"])
        client.close_socket()
        engine = Engine(Mode.STATS)
        drain(tap, engine, 600)
        # nothing more than once: loopback's outgoing copy of each packet is never counted
        engine.feed(tap.read(0.1))
        status = tap.status()
    finally:
        tap.stop()
    got = agent_got(agent)
    agent.close()
    assert engine.lines == 600 and engine.packets == 600
    assert len(got) == 600  # the Agent's socket lost nothing to the tap
    rows = {(r.name, r.type): r.to_json() for r in engine.stats("x").contexts}
    assert rows[("llm.request.complete", "c")]["value"] == 300
    assert rows[("llm.request.duration", "d")]["value"] == sum(100 + i for i in range(300))
    assert status.mode == "passive" and status.kernel_drops == 0 and status.bad_packets == 0
    assert status.holders[0]["port"] == port and status.holders[0]["pid"] == os.getpid()


def test_holder_process_is_named_from_proc() -> None:
    code = ("import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',0));"
            "print(s.getsockname()[1], flush=True); sys.stdin.read()")
    with subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True) as agent:
        assert agent.stdout is not None
        port = int(agent.stdout.readline())
        comm = Path(f"/proc/{agent.pid}/comm").read_text().strip()
        tap = Tap([parse_url(f"udp://127.0.0.1:{port}")])
        tap.start()
        line = tap.listeners[0].holder_line
        tap.stop()
        agent.kill()
    assert line == f"port {port} is held by {comm} (pid {agent.pid})"


def test_forced_passive_on_unix_socket_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="only a UDP port"):
        Tap([parse_url(f"unix://{tmp_path}/x.sock")], passive=True).start()


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv")
def test_without_cap_net_raw_a_held_port_names_both_ways_out() -> None:
    agent = agent_socket()
    port = agent.getsockname()[1]
    try:
        res = subprocess.run([*NO_RAW, sys.executable, "-m", "tundra_tui", "stats", "--listen",
                              f"udp://127.0.0.1:{port}", "--duration", "5"], capture_output=True, text=True,
                             timeout=30, cwd=ROOT)
    finally:
        agent.close()
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert "sudo" in lines[0] and "setcap cap_net_raw+ep" in lines[0]
    assert "statsd_forward_host: 127.0.0.1" in lines[0] and "statsd_forward_port: 8127" in lines[0]
    assert "DD_STATSD_FORWARD_HOST" in lines[0] and "--listen udp://127.0.0.1:8127" in lines[0]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")
def test_fragments_reassembled_or_counted_in_a_private_network() -> None:
    """In a network namespace of its own, lo gets a 1280-byte MTU, so the kernel really fragments."""
    res = subprocess.run(["unshare", "--net", sys.executable, str(ROOT / "tests" / "passive_netns.py")],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    if res.returncode == 77:
        pytest.skip(res.stdout.strip())
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["payloads"] == out["sent"]  # 4000-byte datagrams over IPv4 and IPv6, whole and in order
    assert out["agent"] == len(out["sent"])
    assert out["status"]["fragments_lost"] == 1  # the orphan first fragment
    assert out["status"]["bad_packets"] == 0


def test_decoder_on_crafted_packets() -> None:
    """IPv4 with options, a lying length, fragments out of order, and a fragment table overflow."""
    d = Decoder(8125)
    udp = (8125).to_bytes(2, "big")
    payload = b"m:1|c"
    seg = b"\x00\x01" + udp + (8 + len(payload)).to_bytes(2, "big") + b"\0\0" + payload
    opts = bytes([0x46, 0, 0, 24 + len(seg), 0, 1, 0, 0, 64, 17, 0, 0]) + bytes(8) + b"\x01\x01\x01\x00" + seg
    assert bytes(d.payload(memoryview(opts)) or b"") == payload
    liar = bytearray(opts)
    liar[3] = 255
    assert d.payload(memoryview(bytes(liar))) is None and d.bad == 1
    big = b"x" * 30
    whole = b"\x00\x01" + udp + (8 + len(big)).to_bytes(2, "big") + b"\0\0" + big

    def frag(off: int, more: bool, data: bytes, ident: int = 7) -> memoryview:
        flags = (0x2000 if more else 0) | (off // 8)
        head = [0x45, 0, 0, 20 + len(data), ident >> 8, ident & 255, flags >> 8, flags & 255, 64, 17, 0, 0]
        return memoryview(bytes(head) + bytes([10, 0, 0, 1, 10, 0, 0, 2]) + data)

    assert d.payload(frag(24, False, whole[24:])) is None
    assert d.payload(frag(8, True, whole[8:24])) is None
    assert bytes(d.payload(frag(0, True, whole[:8])) or b"") == big and d.reassembled == 1
    for i in range(Decoder.MAX_SETS + 3):
        d.payload(frag(0, True, whole[:8], ident=i))
    assert d.fragments_lost == 3  # the table is bounded: the oldest sets were given up and counted
    d.expire()
    assert d.fragments_lost == Decoder.MAX_SETS + 3


def test_stats_json_says_which_mode() -> None:
    agent = agent_socket()
    port = agent.getsockname()[1]
    said: list[str] = []
    try:  # Ctrl-C once it says how it listens
        res = run_cli("stats", "--listen", f"udp://127.0.0.1:{port}", "--duration", "60", "--json",
                      driver=lambda out: said.append(out.wait_output(r".*passively.*").group(0)))
    finally:
        agent.close()
    own = run_cli("stats", "--listen", "udp://127.0.0.1:0", "--duration", "60", "--json", driver=Output.port)
    assert res.returncode == 0 and own.returncode == 0, (res.stderr, own.stderr)
    line = said[0]
    assert f"port {port} is held by" in line and f"(pid {os.getpid()})" in line
    assert json.loads(res.stdout)["mode"] == "passive" and json.loads(own.stdout)["mode"] == "listen"


def test_passive_and_forward_do_not_mix() -> None:
    res = run_cli("top", "--once", "--passive", "--forward", "udp://127.0.0.1:9")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "--passive" in res.stderr
