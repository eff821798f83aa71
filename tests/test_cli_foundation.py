"""`tundra record` and `tundra stats` as a user runs them (Ctrl-C and a kill: a real process), plus the one-line
error contract."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from datadog.dogstatsd import DogStatsd

from tundra_tui.capture import CaptureReader

from .conftest import run_cli
from .waits import Tundra, wait_records


def client(port: int) -> DogStatsd:
    return DogStatsd(host="127.0.0.1", port=port, disable_telemetry=True, origin_detection_enabled=False)


def test_record_then_stats(tmp_path: Path) -> None:
    out = tmp_path / "session.dog"
    with Tundra("record", str(out), "--listen", "udp://127.0.0.1:0") as rec:
        c = client(rec.port())
        for i in range(300):
            c.increment("llm.tokens.input", 10, tags=["model:gpt-4o", "provider:openai"], sample_rate=1)
            if i % 2 == 0:
                c.distribution("lat", i)
        c.event("hello", "world")
        c.close_socket()
        wait_records(out, 451)  # the flushed blocks hold all (no progress line: stderr is not a terminal)
        done = rec.interrupt()
    err = done.stderr
    assert done.returncode == 0, err
    assert "datagrams 451" in err and "lines 451" in err and "Traceback" not in err
    r = CaptureReader(out)
    assert len(list(r)) == 451 and not r.truncated
    res = run_cli("stats", str(out), "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert set(doc) == {"source", "packets", "lines", "errors", "bad_values", "events", "service_checks", "contexts"}
    assert doc["packets"] == 451 and doc["lines"] == 451 and doc["events"] == 1
    ctx = {c["name"]: c for c in doc["contexts"]}
    assert ctx["llm.tokens.input"] == {"name": "llm.tokens.input", "type": "c",
                                       "tags": ["model:gpt-4o", "provider:openai"], "samples": 300,
                                       "count": 300.0, "value": 3000.0}
    assert ctx["lat"]["value"] == sum(range(0, 300, 2)) and ctx["lat"]["samples"] == 150
    human = run_cli("stats", str(out), "--top", "1")
    assert human.returncode == 0 and "llm.tokens.input" in human.stdout and "lat " not in human.stdout


def test_stats_listen_counts_what_was_sent() -> None:
    with Tundra("stats", "--listen", "udp://127.0.0.1:0", "--duration", "60", "--json") as stats:
        port = stats.port()
        c = client(port)
        for _ in range(500):
            c.increment("x", 2, sample_rate=0.5)
        c.close_socket()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(b"bad line\ny:1|c\n_e{1,1}:a", ("127.0.0.1", port))
        s.close()
        done = stats.interrupt()  # Ctrl-C ends --duration early and still counts what was queued
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    x = next(c for c in doc["contexts"] if c["name"] == "x")
    assert doc["lines"] == x["samples"] + 3 and doc["errors"] == {"metric": 1, "event": 1, "service_check": 0}
    # The client sends sampled counts only when its own dice say so; every one that arrived counts 1/rate.
    assert x["count"] == x["samples"] * 2 and x["value"] == x["samples"] * 4


def test_killed_recorder_file_still_replays(tmp_path: Path) -> None:
    out = tmp_path / "killed.dog"
    with Tundra("record", str(out), "--listen", "udp://127.0.0.1:0") as rec:
        port = rec.port()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(200):
            s.sendto(b"m:%d|c" % i, ("127.0.0.1", port))
        s.close()
        wait_records(out, 200)  # a flushed block holds them all: a kill now loses nothing
        rec.kill()
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
    res = run_cli(*args, cwd=tmp_path)  # a file the command might wrongly create lands in tmp_path
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert res.stdout == "" and os.listdir(tmp_path) == []


def test_busy_port_error_suggests_listen_and_forward_and_touches_no_file(tmp_path: Path) -> None:
    keep = tmp_path / "keep.dog"
    keep.write_bytes(os.urandom(40_000))
    before = keep.read_bytes()
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    try:
        # with --forward the port must be bound (watching it passively would forward nothing new)
        res = run_cli("record", str(keep), "--overwrite", "--listen", f"udp://127.0.0.1:{port}", "--duration", "1",
                      "--forward", "udp://127.0.0.1:9")
    finally:
        holder.close()
    assert res.returncode == 2
    assert "busy" in res.stderr and "--listen" in res.stderr and "--forward" in res.stderr
    assert keep.read_bytes() == before and os.listdir(tmp_path) == ["keep.dog"]  # no temporary file left either
