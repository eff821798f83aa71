"""Spans through the commands: `top --once --json` with the trace port, `--record` writing the `.spans`
sidecar, `replay` showing the spans at their times, and the one-line errors."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tundra_tui.capture import CaptureExists
from tundra_tui.capture.spanfile import SpanFileWriter, read_spanfile, sidecar_path
from tundra_tui.commands import main
from tundra_tui.model.spans import SpanBook
from tundra_tui.services.spanfeed import SpanFeed, SpanRecorder
from tundra_tui.services.traceproxy import TraceProxy
from tundra_tui.session import Session
from tundra_tui.sources import Tap, parse_url
from tundra_tui.traces import decode

from .conftest import run_cli
from .test_traceproxy import APP
from .waits import Output, wait_until

SPANS_KEYS = {"received", "llm", "dropped", "forward_errors", "record_dropped", "record_in_flight", "models", "recent"}
RECENT_KEYS = {"trace_id", "span_id", "parent_id", "name", "kind", "model", "provider", "duration_ms", "status",
               "error_type", "input_tokens", "output_tokens", "input", "output"}
EVP = json.dumps({"event_type": "span", "spans": [{
    "span_id": "42", "trace_id": "0123456789abcdef0123456789abcdef", "parent_id": "undefined", "name": "ask",
    "start_ns": 1, "duration": 2_500_000, "status": "ok",
    "meta": {"span": {"kind": "llm"}, "model_name": "gpt-4o", "model_provider": "openai",
             "input": {"messages": [{"role": "user", "content": "I am carl@example.net"}]}},
    "metrics": {"input_tokens": 9, "output_tokens": 2}}]}).encode()


def test_top_once_json_has_the_spans_section() -> None:
    def app(out: Output) -> None:  # an app uploads a span to the trace port; then Ctrl-C
        port = int(out.wait_output(r"traces on http://127\.0\.0\.1:(\d+)").group(1))
        req = urllib.request.Request(f"http://127.0.0.1:{port}/evp_proxy/v2/api/v2/llmobs", data=EVP,
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 202

    res = run_cli("top", "--once", "--json", "--after", "60", "--listen", "udp://127.0.0.1:0",
                  "--traces", "http://127.0.0.1:0", driver=app)
    assert res.returncode == 0, res.stderr
    spans = json.loads(res.stdout)["spans"]
    assert set(spans) == SPANS_KEYS
    assert (spans["received"], spans["llm"], spans["dropped"], spans["forward_errors"]) == (1, 1, 0, 0)
    assert spans["models"] == [{"model": "gpt-4o", "provider": "openai", "spans": 1, "errors": 0,
                                "input_tokens": 9, "output_tokens": 2, "p95_ms": spans["models"][0]["p95_ms"]}]
    [recent] = spans["recent"]
    assert set(recent) == RECENT_KEYS
    assert recent["input"] == "user: I am [redacted:email]" and recent["duration_ms"] == 2.5
    assert "carl@" not in res.stdout


def test_busy_or_bad_trace_port_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["top", "--once", "--listen", "udp://127.0.0.1:0", "--traces", f"http://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot listen for traces on http://127.0.0.1:{port}" in err
    for flags, says in ((["--traces-forward", "ftp://agent"], "bad --traces-forward URL"),
                        (["--traces", "udp://127.0.0.1:1"], "bad --traces URL"),
                        (["--no-traces", "--traces", "http://127.0.0.1:1"], "--no-traces cannot go with")):
        assert main(["top", "--once", "--listen", "udp://127.0.0.1:0", *flags]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err, err


def test_record_keeps_a_spans_sidecar_that_replay_shows_at_its_times(tmp_path: Path) -> None:
    capture = tmp_path / "run.dog"
    proxy = TraceProxy("http://127.0.0.1:0", SpanBook())
    proxy.start()
    session = Session(Tap([parse_url("udp://127.0.0.1:0")]), _engine(), record=capture, spans=SpanFeed(proxy.book,
                                                                                                       proxy))
    session.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DD_")}
        env.update(DD_TRACE_AGENT_URL=proxy.url, DD_SERVICE="shop", DD_INSTRUMENTATION_TELEMETRY_ENABLED="false",
                   DD_REMOTE_CONFIGURATION_ENABLED="false")
        out = subprocess.run([sys.executable, str(APP)], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr[-2000:]
        assert proxy.drain(10)
    finally:
        session.stop()
    side = sidecar_path(capture)
    assert stat.S_IMODE(side.stat().st_mode) == 0o600
    lines, truncated = read_spanfile(side)
    assert not truncated and len(lines) == 4
    assert "jane.doe@example.com" not in side.read_bytes().decode("latin-1")
    # replay --once: every span, counted as live
    res = run_cli("replay", str(capture), "--once", "--json")
    assert res.returncode == 0, res.stderr
    spans = json.loads(res.stdout)["spans"]
    assert spans["llm"] == 4
    assert {(m["model"], m["spans"], m["errors"]) for m in spans["models"]} == {("gpt-4o", 2, 0),
                                                                                 ("claude-3-5-haiku", 1, 1)}
    # paced replay: a span shows once the replay clock reaches the time it was received; a seek back hides it
    feed, problem = SpanFeed.from_sidecar(SpanBook(), capture)
    assert feed is not None and problem is None
    times = sorted(t for t, _ in lines)
    assert feed.summary(times[0] - 1).llm == 0
    assert feed.summary(times[-1]).llm == 4
    assert feed.summary(times[0] - 1).llm == 0 and feed.summary(None).llm == 4


def test_a_cut_sidecar_replays_what_it_holds(tmp_path: Path) -> None:
    w = SpanFileWriter(tmp_path / "x.dog.spans")
    for i in range(3):
        w.write(1000 + i, {"trace_id": "ab", "span_id": str(i), "parent_id": "", "name": "n", "kind": "llm",
                           "ml_app": "", "service": "", "model": "m", "provider": "p", "start_ns": i,
                           "duration_ns": 5, "status": "ok", "error_type": "", "error_message": "",
                           "input_tokens": 1, "output_tokens": None, "input": "", "output": "", "origin": "evp"})
        w.flush()  # one frame each
    w.close()
    raw = (tmp_path / "x.dog.spans").read_bytes()
    (tmp_path / "x.dog.spans").write_bytes(raw[:-5])
    feed, problem = SpanFeed.from_sidecar(SpanBook(), tmp_path / "x.dog")
    assert feed is not None and problem is not None and "mid-frame" in problem
    assert feed.summary(None).llm == 2


def _engine():
    from tundra_tui.commands.common import make_engine
    from tundra_tui.config import load_config
    from tundra_tui.model.engine import Mode

    return make_engine(load_config(), Mode.DASHBOARD)


def test_an_existing_sidecar_is_never_clobbered(tmp_path: Path) -> None:
    capture = tmp_path / "old.dog"
    side = sidecar_path(capture)
    side.write_bytes(b"earlier spans")
    proxy = TraceProxy("http://127.0.0.1:0", SpanBook())
    proxy.start()
    feed = SpanFeed(proxy.book, proxy)
    try:
        with pytest.raises(CaptureExists, match=r"old\.dog\.spans exists"):
            Session(Tap([parse_url("udp://127.0.0.1:0")]), _engine(), record=capture, spans=feed)
        assert side.read_bytes() == b"earlier spans" and not capture.exists()  # no file touched
        session = Session(Tap([parse_url("udp://127.0.0.1:0")]), _engine(), record=capture, spans=feed,
                          record_overwrite=True)
        session.start()
        session.stop()
    finally:
        feed.stop()
    lines, truncated = read_spanfile(side)
    assert lines == [] and not truncated and capture.exists()


def test_a_capture_to_a_device_has_no_sidecar(tmp_path: Path) -> None:
    sink = tmp_path / "sink.dog"
    sink.symlink_to("/dev/null")
    proxy = TraceProxy("http://127.0.0.1:0", SpanBook())
    proxy.start()
    feed = SpanFeed(proxy.book, proxy)
    try:
        session = Session(Tap([parse_url("udp://127.0.0.1:0")]), _engine(), record=sink, spans=feed)
        session.start()
        session.stop()
    finally:
        feed.stop()
    assert not sidecar_path(sink).exists() and not Path("/dev/null.spans").exists()


def test_a_session_that_never_starts_leaves_neither_capture_nor_sidecar(tmp_path: Path) -> None:
    capture = tmp_path / "never.dog"
    proxy = TraceProxy("http://127.0.0.1:0", SpanBook())
    proxy.start()
    feed = SpanFeed(proxy.book, proxy)
    try:
        session = Session(Tap([parse_url(f"unix://{tmp_path}/no/such/dir/sock")], passive=False), _engine(),
                          record=capture, spans=feed)
        assert sidecar_path(capture).exists()  # begun with the capture, refused-if-existing like it
        with pytest.raises(Exception, match="no/such/dir"):
            session.start()
    finally:
        feed.stop()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_full_disk_stops_the_sidecar_with_one_line_and_counts_the_rest() -> None:
    rec = SpanRecorder("/dev/full", overwrite=True)  # every write fails with ENOSPC, as a full disk does
    [span] = decode("/evp_proxy/v2/api/v2/llmobs", EVP).spans
    rec.put([span, span], 1)
    wait_until(lambda: rec.error, "the recorder's error")
    rec.put([span], 2)
    rec.close()
    assert rec.error == "recording spans to /dev/full stopped: disk full"
    assert rec.dropped == 3 and rec.records == 0  # two reached the writer but its flush failed: none is in the file


def test_an_abandoned_sidecar_on_a_fifo_leaves_the_fifo(tmp_path: Path) -> None:
    """A .spans the user pointed at a FIFO is written to, never replaced: a recording abandoned at its start
    leaves the FIFO where it was (abandon removes only files the writer made)."""
    fifo = tmp_path / "s.spans"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so opening it for writing does not block
    try:
        writer = SpanFileWriter(fifo, overwrite=True)
        writer.abandon()
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    finally:
        os.close(reader)
