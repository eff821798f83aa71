"""`tundra record` serves the trace port like `top`: its LLM spans go to FILE.spans beside the .dog.
In-process: the command runs on this thread, the app's uploads come from another; Ctrl-C ends it."""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import stat
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ddtrace.internal._encoding import MsgpackEncoderV04

from tundra_tui.capture import read_capture
from tundra_tui.capture.spanfile import read_spanfile, sidecar_path
from tundra_tui.commands import main
from tundra_tui.commands.common import STOP_SIGNALS
from tundra_tui.services import spanfeed

from .test_spans_cli import EVP
from .test_traces import encoded, shadow_trace
from .waits import TIMEOUT


class Stderr(io.StringIO):
    """sys.stderr for a command run in-process: another thread can wait for a line it printed."""

    def __init__(self) -> None:
        super().__init__()
        self.grew = threading.Condition()

    def write(self, s: str) -> int:
        with self.grew:
            n = super().write(s)
            self.grew.notify_all()
        return n

    def wait_for(self, pattern: str) -> re.Match[str]:
        with self.grew:
            found = self.grew.wait_for(lambda: re.search(pattern, self.getvalue()), TIMEOUT)
        assert found, f"no {pattern!r} in:\n{self.getvalue()}"
        return found


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Stderr]]:
    """Catch stderr, from the test body on (pytest sets its own after the fixtures); put back the signal
    handlers `record` installs for Ctrl-C."""
    saved = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def catch() -> Stderr:
        err = Stderr()
        monkeypatch.setattr("sys.stderr", err)
        return err

    yield catch
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def post(url: str, body: bytes, ctype: str) -> int:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        return int(resp.status)


def test_record_serves_the_trace_port_and_keeps_a_spans_sidecar(tmp_path: Path,
                                                                 stderr: Callable[[], Stderr]) -> None:
    err = stderr()
    capture = tmp_path / "run.dog"
    trace = shadow_trace()
    answers: list[int] = []

    def app() -> None:  # what an instrumented app does: uploads to the trace port, then the user hits Ctrl-C
        try:
            port = err.wait_for(r"recording udp://\S+ to \S+ \(traces on http://127\.0\.0\.1:(\d+)\)").group(1)
            answers.append(post(f"http://127.0.0.1:{port}/evp_proxy/v2/api/v2/llmobs", EVP, "application/json"))
            answers.append(post(f"http://127.0.0.1:{port}/v0.4/traces", encoded(MsgpackEncoderV04, trace),
                                "application/msgpack"))
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=app)
    sender.start()
    code = main(["record", str(capture), "--listen", "udp://127.0.0.1:0", "--traces", "http://127.0.0.1:0",
                 "--duration", str(TIMEOUT)])
    sender.join(TIMEOUT)
    assert code == 0, err.getvalue()
    assert answers == [202, 200]  # tundra's minimal Agent answered the app
    assert re.search(r"spans 2\n", err.getvalue()), err.getvalue()  # the final progress line counts them
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


def test_record_without_a_trace_port(tmp_path: Path, stderr: Callable[[], Stderr]) -> None:
    err = stderr()
    capture = tmp_path / "plain.dog"
    ctrl_c = threading.Thread(target=lambda: (err.wait_for(r"recording \S+ to \S+; Ctrl-C"),
                                              os.kill(os.getpid(), signal.SIGINT)))
    ctrl_c.start()
    code = main(["record", str(capture), "--listen", "udp://127.0.0.1:0", "--no-traces", "--duration", str(TIMEOUT)])
    ctrl_c.join(TIMEOUT)
    assert code == 0, err.getvalue()
    assert "traces on" not in err.getvalue() and " spans " not in err.getvalue()
    assert capture.exists() and not sidecar_path(capture).exists()


def test_record_trace_port_errors_are_one_line_and_touch_no_file(tmp_path: Path,
                                                                  stderr: Callable[[], Stderr]) -> None:
    err = stderr()
    capture = tmp_path / "x.dog"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cases = ((["--traces", f"http://127.0.0.1:{port}"], f"cannot listen for traces on http://127.0.0.1:{port}"),
                 (["--traces-forward", "ftp://agent"], "bad --traces-forward URL"),
                 (["--no-traces", "--traces-forward", "http://127.0.0.1:1"], "--no-traces cannot go with"))
        for flags, says in cases:
            before = len(err.getvalue())
            assert main(["record", str(capture), "--listen", "udp://127.0.0.1:0", *flags]) == 2
            line = err.getvalue()[before:]
            assert line.count("\n") == 1 and says in line, line
    assert list(tmp_path.iterdir()) == []
    sidecar_path(capture).write_bytes(b"spans of an earlier run")  # a sidecar is refused like the capture
    assert main(["record", str(capture), "--listen", "udp://127.0.0.1:0", "--traces", "http://127.0.0.1:0"]) == 2
    assert "x.dog.spans exists" in err.getvalue().splitlines()[-1]
    assert sidecar_path(capture).read_bytes() == b"spans of an earlier run" and not capture.exists()


def test_record_says_when_the_default_trace_port_is_taken(tmp_path: Path, stderr: Callable[[], Stderr],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    err = stderr()
    with socket.socket() as holder:  # someone (an Agent) holds the default trace port
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = f"http://127.0.0.1:{holder.getsockname()[1]}"
        monkeypatch.setattr("tundra_tui.commands.common.DEFAULT_TRACES", taken)
        ctrl_c = threading.Thread(target=lambda: (err.wait_for(r"no \S+\.spans"), os.kill(os.getpid(), signal.SIGINT)))
        ctrl_c.start()
        code = main(["record", str(tmp_path / "t.dog"), "--listen", "udp://127.0.0.1:0", "--duration", str(TIMEOUT)])
        ctrl_c.join(TIMEOUT)
    assert code == 0, err.getvalue()
    assert f"traces off: {taken.removeprefix('http://')} in use; no {tmp_path / 't.dog'}.spans" in err.getvalue()
    assert not sidecar_path(tmp_path / "t.dog").exists()


def test_record_says_how_many_spans_the_sidecar_could_not_keep(tmp_path: Path, stderr: Callable[[], Stderr],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The sidecar's queue overflowing (made to hold nothing here) drops spans: record's final line counts them,
    beside the capture's own drops."""
    monkeypatch.setattr(spanfeed, "SIDECAR_QUEUE", 0)
    err = stderr()
    capture = tmp_path / "run.dog"

    def app() -> None:
        try:
            port = err.wait_for(r"\(traces on http://127\.0\.0\.1:(\d+)\)").group(1)
            post(f"http://127.0.0.1:{port}/evp_proxy/v2/api/v2/llmobs", EVP, "application/json")
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=app)
    sender.start()
    code = main(["record", str(capture), "--listen", "udp://127.0.0.1:0", "--traces", "http://127.0.0.1:0",
                 "--duration", str(TIMEOUT)])
    sender.join(TIMEOUT)
    assert code == 0, err.getvalue()
    assert re.search(r"drops 0  recorded 0  spans 1  span drops 1\n", err.getvalue()), err.getvalue()
    assert read_spanfile(sidecar_path(capture)) == ([], False)  # what it says was lost is not there
