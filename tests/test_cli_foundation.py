"""`tundra record` and `tundra stats` as a user runs them, plus the one-line error contract."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datadog.dogstatsd import DogStatsd

from tundra_tui.capture import CaptureReader

from .conftest import ROOT, run_cli


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tundra_tui", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_listening(proc: subprocess.Popen[str], port: int, timeout: float = 20) -> None:
    """Wait until the child has bound the port (our own bind then fails)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return
        finally:
            probe.close()
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("child never listened")


def client(port: int) -> DogStatsd:
    return DogStatsd(host="127.0.0.1", port=port, disable_telemetry=True, origin_detection_enabled=False)


def test_record_then_stats(tmp_path: Path) -> None:
    port = free_udp_port()
    out = tmp_path / "session.dog"
    proc = start_cli("record", str(out), "--listen", f"udp://127.0.0.1:{port}")
    wait_listening(proc, port)
    c = client(port)
    for i in range(300):
        c.increment("llm.tokens.input", 10, tags=["model:gpt-4o", "provider:openai"], sample_rate=1)
        if i % 2 == 0:
            c.distribution("lat", i)
    c.event("hello", "world")
    c.close_socket()
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "datagrams 451" in err and "lines 451" in err and "Traceback" not in err
    r = CaptureReader(out)
    assert len(list(r)) == 451 and not r.truncated
    res = run_cli("stats", str(out), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert set(doc) == {"source", "packets", "lines", "errors", "events", "service_checks", "contexts"}
    assert doc["packets"] == 451 and doc["lines"] == 451 and doc["events"] == 1
    ctx = {c["name"]: c for c in doc["contexts"]}
    assert ctx["llm.tokens.input"] == {"name": "llm.tokens.input", "type": "c",
                                       "tags": ["model:gpt-4o", "provider:openai"], "samples": 300,
                                       "count": 300.0, "value": 3000.0}
    assert ctx["lat"]["value"] == sum(range(0, 300, 2)) and ctx["lat"]["samples"] == 150
    human = run_cli("stats", str(out), "--top", "1")
    assert human.returncode == 0 and "llm.tokens.input" in human.stdout and "lat " not in human.stdout


def test_stats_listen_counts_what_was_sent() -> None:
    port = free_udp_port()
    proc = start_cli("stats", "--listen", f"udp://127.0.0.1:{port}", "--duration", "3", "--json")
    wait_listening(proc, port)
    c = client(port)
    for _ in range(500):
        c.increment("x", 2, sample_rate=0.5)
    c.close_socket()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"bad line\ny:1|c\n_e{1,1}:a", ("127.0.0.1", port))
    s.close()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    doc = json.loads(out)
    x = next(c for c in doc["contexts"] if c["name"] == "x")
    assert doc["lines"] == x["samples"] + 3 and doc["errors"] == {"metric": 1, "event": 1, "service_check": 0}
    # The client sends sampled counts only when its own dice say so; every one that arrived counts 1/rate.
    assert x["count"] == x["samples"] * 2 and x["value"] == x["samples"] * 4


def test_killed_recorder_file_still_replays(tmp_path: Path) -> None:
    port = free_udp_port()
    out = tmp_path / "killed.dog"
    proc = start_cli("record", str(out), "--listen", f"udp://127.0.0.1:{port}")
    wait_listening(proc, port)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(200):
        s.sendto(b"m:%d|c" % i, ("127.0.0.1", port))
    time.sleep(2.5)  # more than one flush interval
    proc.kill()
    proc.communicate(timeout=10)
    s.close()
    warnings: list[str] = []
    msgs = list(CaptureReader(out, warnings.append))
    assert [m.payload for m in msgs] == [b"m:%d|c" % i for i in range(200)]
    res = run_cli("stats", str(out), "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["lines"] == 200
    assert res.stderr.count("warning:") == 1


@pytest.mark.parametrize("args", [
    ["stats", "/nonexistent/file.dog"],
    ["stats", "/etc/hostname"],
    ["stats", "/"],
    ["stats"],
    ["stats", "--listen", "udp://127.0.0.1:0"],
    ["stats", "--listen", "tcp://127.0.0.1:8125", "--duration", "1"],
    ["stats", "--listen", "udp://127.0.0.1:99999", "--duration", "1"],
    ["record", "x.dog", "--listen", "udp://nohost"],
    ["record", "x.dog", "--duration", "-1"],
    ["stats", "--listen", "udp://203.0.113.9:8125", "--duration", "1"],
    ["replay"],
    ["top", "--json"],
    ["nonsense"],
])
def test_errors_are_one_line_exit_2(args: list[str], tmp_path: Path) -> None:
    res = run_cli(*args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert res.stdout == ""


def test_busy_port_error_suggests_listen_and_forward() -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    try:
        res = run_cli("record", os.devnull + ".dog", "--listen", f"udp://127.0.0.1:{port}", "--duration", "1")
    finally:
        holder.close()
    assert res.returncode == 2
    assert "busy" in res.stderr and "--listen" in res.stderr and "--forward" in res.stderr
