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


SEGMENTS = (2, 8, 4, 6)  # requests per second in each 30-s stretch; each request is 3 datagrams


def changing_rates(path: Path) -> list[tuple[int, bytes]]:
    """Two minutes whose request rate steps every 30 s (a checkpoint each), as (ts_ns, datagram)."""
    tags = "model:gpt-4o,provider:openai,agent_name:spec-agent,task_type:code,profile:openai-prod"
    out = []
    for sec in range(30 * len(SEGMENTS)):
        n = SEGMENTS[sec // 30]
        for i in range(n):
            ts = (T0 + sec) * 10**9 + i * (10**9 // n)
            out += [(ts, f"llm.request.complete:1|c|#{tags},success:true".encode()),
                    (ts, f"llm.tokens.input:100|c|#{tags}".encode()), (ts, f"llm.tokens.output:40|c|#{tags}".encode())]
    w = CaptureWriter(path)
    for ts, data in out:
        w.write(data, ts)
    w.close()
    return out


def test_rates_stay_true_across_seeks(tmp_path: Path) -> None:
    """After every seek (forward, back, to a checkpoint, to the start, to the end) each rate on screen is the
    rate of the capture's last `rate_window_s` before the head: never a burst of the datagrams re-fed."""
    from tundra_tui.model import Engine
    from tundra_tui.model.engine import Mode

    from .paused_replay import checkpoints_built, paused_at_end

    cap = tmp_path / "steps.dog"
    packets = changing_rates(cap)
    with paused_at_end(cap, tmp_path, Engine(Mode.DASHBOARD)) as (session, _rp, ctl):
        checkpoints_built()
        rw = session.engine.rate_window
        for offset_s in (100, 15, 61, 30, 89, 0, 3, 119, 45, 45):
            ctl.seek((T0 + offset_s) * 10**9 + 999_999_999)  # the end of that second: all of it played
            assert ctl.settle(10)
            frame = session.frame("model")
            now_s = T0 + offset_s
            seen = [p for p in packets if now_s - rw < p[0] // 10**9 <= now_s]
            span = min(rw, offset_s + 1)  # early on a rate divides by the seconds seen so far
            dash = frame.dashboard
            assert dash.tap.datagrams_per_s == pytest.approx(len(seen) / span), offset_s
            assert dash.totals.requests_per_s == pytest.approx(len(seen) / 3 / span), offset_s
            assert dash.totals.tokens_per_s == pytest.approx(len(seen) / 3 * 140 / span), offset_s
            (row,) = frame.grouping.rows
            assert row.req_rate == pytest.approx(dash.totals.requests_per_s)
            assert dash.totals.requests_per_s <= max(SEGMENTS)  # sane: never above the capture's busiest second
