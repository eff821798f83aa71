"""`tundra record` serves the trace port like `top`: its LLM spans go to FILE.spans beside the .dog.
In-process (conftest.run_cli): the command runs on this thread, the app's uploads come from the driver's; then
Ctrl-C ends it."""

from __future__ import annotations

import re
import socket
import stat
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from ddtrace.internal._encoding import MsgpackEncoderV04

from tundra_tui.capture import read_capture
from tundra_tui.capture.spanfile import read_spanfile, sidecar_path
from tundra_tui.services import spanfeed

from .conftest import run_cli
from .test_spans_cli import EVP
from .test_traces import encoded, shadow_trace
from .waits import TIMEOUT


def post(url: str, body: bytes, ctype: str) -> int:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        return int(resp.status)


def record_with_traces(capture: Path, app: Callable[[int], object]) -> str:
    """`tundra record CAPTURE --traces http://127.0.0.1:0` while `app(trace_port)` uploads, then Ctrl-C; its
    stderr (it exited 0)."""
    res = run_cli("record", str(capture), "--listen", "udp://127.0.0.1:0", "--traces", "http://127.0.0.1:0",
                  driver=lambda err: app(int(err.wait_output(r"\(traces on http://127\.0\.0\.1:(\d+)\)").group(1))))
    assert res.returncode == 0, res.stderr
    return res.stderr


def test_record_serves_the_trace_port_and_keeps_a_spans_sidecar(tmp_path: Path) -> None:
    capture = tmp_path / "run.dog"
    trace = shadow_trace()
    answers: list[int] = []

    def app(port: int) -> None:  # what an instrumented app does: uploads to the trace port
        answers.append(post(f"http://127.0.0.1:{port}/evp_proxy/v2/api/v2/llmobs", EVP, "application/json"))
        answers.append(post(f"http://127.0.0.1:{port}/v0.4/traces", encoded(MsgpackEncoderV04, trace),
                            "application/msgpack"))

    err = record_with_traces(capture, app)
    assert re.search(r"recording udp://\S+ to \S+ \(traces on http://127\.0\.0\.1:\d+\)", err), err
    assert answers == [202, 200]  # tundra's minimal Agent answered the app
    assert re.search(r"spans 2\n", err), err  # the final progress line counts them
    assert read_capture(capture) == []  # the .dog holds datagrams only, in the Agent's format
    side = sidecar_path(capture)
    assert stat.S_IMODE(side.stat().st_mode) == 0o600
    lines, truncated = read_spanfile(side)
    assert not truncated
    kept = {span["origin"]: span for _, span in lines}
    assert set(kept) == {"evp", "shadow"}
    assert kept["evp"]["input"] == "user: I am [redacted:email]"  # redacted before it was written
    assert kept["shadow"]["model"] == "gpt-4o-mini" and kept["shadow"]["trace_id"] == f"{trace[0].trace_id:032x}"
    assert b"carl@example.net" not in side.read_bytes()


def test_record_without_a_trace_port(tmp_path: Path) -> None:
    capture = tmp_path / "plain.dog"
    res = run_cli("record", str(capture), "--listen", "udp://127.0.0.1:0", "--no-traces",
                  driver=lambda err: err.wait_output(r"recording \S+ to \S+; Ctrl-C"))
    assert res.returncode == 0, res.stderr
    assert "traces on" not in res.stderr and " spans " not in res.stderr
    assert capture.exists() and not sidecar_path(capture).exists()


def test_record_trace_port_errors_are_one_line_and_touch_no_file(tmp_path: Path) -> None:
    capture = tmp_path / "x.dog"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cases = ((["--traces", f"http://127.0.0.1:{port}"], f"cannot listen for traces on http://127.0.0.1:{port}"),
                 (["--traces-forward", "ftp://agent"], "bad --traces-forward URL"),
                 (["--no-traces", "--traces-forward", "http://127.0.0.1:1"], "--no-traces cannot go with"))
        for flags, says in cases:
            res = run_cli("record", str(capture), "--listen", "udp://127.0.0.1:0", *flags)
            assert res.returncode == 2 and res.stderr.count("\n") == 1 and says in res.stderr, res.stderr
    assert list(tmp_path.iterdir()) == []
    sidecar_path(capture).write_bytes(b"spans of an earlier run")  # a sidecar is refused like the capture
    res = run_cli("record", str(capture), "--listen", "udp://127.0.0.1:0", "--traces", "http://127.0.0.1:0")
    assert res.returncode == 2 and "x.dog.spans exists" in res.stderr.splitlines()[-1]
    assert sidecar_path(capture).read_bytes() == b"spans of an earlier run" and not capture.exists()


def test_record_says_when_the_default_trace_port_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as holder:  # someone (an Agent) holds the default trace port
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = f"http://127.0.0.1:{holder.getsockname()[1]}"
        monkeypatch.setattr("tundra_tui.commands.common.DEFAULT_TRACES", taken)
        res = run_cli("record", str(tmp_path / "t.dog"), "--listen", "udp://127.0.0.1:0",
                      driver=lambda err: err.wait_output(r"no \S+\.spans"))
    assert res.returncode == 0, res.stderr
    assert f"traces off: {taken.removeprefix('http://')} in use; no {tmp_path / 't.dog'}.spans" in res.stderr
    assert not sidecar_path(tmp_path / "t.dog").exists()


def test_record_says_how_many_spans_the_sidecar_could_not_keep(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The sidecar's queue overflowing (made to hold nothing here) drops spans: record's final line counts them,
    beside the capture's own drops."""
    monkeypatch.setattr(spanfeed, "SIDECAR_QUEUE", 0)
    capture = tmp_path / "run.dog"
    err = record_with_traces(capture, lambda port: post(f"http://127.0.0.1:{port}/evp_proxy/v2/api/v2/llmobs", EVP,
                                                         "application/json"))
    assert re.search(r"drops 0  recorded 0  spans 1  span drops 1\n", err), err
    assert read_spanfile(sidecar_path(capture)) == ([], False)  # what it says was lost is not there
