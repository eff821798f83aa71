"""Rates are current: a capture with traffic, then silence longer than the rate window, reads 0 at its end;
the document states the windows it used and how old its last datagram is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tundra_tui.capture import CaptureWriter

from .conftest import run_cli

T0 = 1_700_000_000


def traffic_then_silence(path: Path, busy_s: int = 30, quiet_s: int = 40, heartbeat: bool = True) -> None:
    """`busy_s` seconds of at-daemon requests at 5/s, then `quiet_s` seconds with only a non-LLM heartbeat."""
    w = CaptureWriter(path)
    tags = "model:gpt-4o,provider:openai,agent_name:spec-agent,task_type:code,profile:openai-prod"
    for sec in range(busy_s):
        for i in range(5):
            ts = (T0 + sec) * 10**9 + i * 10**8
            w.write(f"llm.request.complete:1|c|#{tags},success:true".encode(), ts)
            w.write(f"llm.tokens.input:100|c|#{tags}".encode(), ts)
    if heartbeat:
        for sec in range(busy_s, busy_s + quiet_s):
            w.write(b"app.heartbeat:1|g", (T0 + sec) * 10**9)
    w.close()


def once(path: Path, *extra: str) -> dict:
    res = run_cli("replay", str(path), "--once", "--json", *extra)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_traffic_then_silence_reads_zero(tmp_path: Path) -> None:
    cap = tmp_path / "quiet.dog"
    traffic_then_silence(cap)
    doc = once(cap)
    t = doc["totals"]
    assert t["requests"] == 150 and t["input_tokens"] == 15_000  # totals cover the whole capture
    assert t["requests_per_s"] == 0 and t["tokens_per_s"] == 0  # 40 s of silence > the 10-s rate window
    assert doc["rate_window_s"] == 10 and doc["window_s"] == 600


def test_busy_capture_reads_its_current_rate(tmp_path: Path) -> None:
    cap = tmp_path / "busy.dog"
    traffic_then_silence(cap, quiet_s=0)
    doc = once(cap)
    assert doc["totals"]["requests_per_s"] == pytest.approx(5.0)
    assert doc["totals"]["tokens_per_s"] == pytest.approx(500.0)
    assert doc["tap"]["last_datagram_age_s"] == 0
