"""`top --demo` sends its simulated traffic only to ports tundra binds itself: a --listen port another process
(the Agent) holds is refused with one line, before anything is sent or any file touched, and so is a trace
port it cannot bind."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.conftest import run_cli

from .test_passive import agent_got, agent_socket


def one_line_refusal(res: subprocess.CompletedProcess[str]) -> str:
    """The refusal's one line: exit 2, no traceback."""
    err = res.stderr
    assert res.returncode == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_held_dogstatsd_port_is_refused_and_gets_no_demo_datagram(tmp_path: Path) -> None:
    agent = agent_socket()
    port = agent.getsockname()[1]
    capture = tmp_path / "kept.dog"
    capture.write_bytes(b"the user's capture")
    try:
        for extra in ([], ["--record", str(capture), "--overwrite"], ["--forward", "udp://127.0.0.1:9"]):
            res = run_cli("top", "--demo", "--listen", f"udp://127.0.0.1:{port}", "--once", "--after", "0.5", *extra)
            err = one_line_refusal(res)
            assert f"port {port} is held by " in err and "--demo" in err and "drop --listen" in err, err
            assert res.stdout == ""
        assert agent_got(agent) == []  # not one simulated datagram reached the stand-in Agent
    finally:
        agent.close()
    assert capture.read_bytes() == b"the user's capture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.dog"]


def test_demo_never_watches_passively() -> None:
    err = one_line_refusal(run_cli("top", "--demo", "--passive", "--once", "--after", "0.1"))
    assert "--demo" in err and "passive" in err


def test_a_held_trace_port_is_refused_and_gets_no_demo_connection() -> None:
    agent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    agent.bind(("127.0.0.1", 0))
    agent.listen(16)
    agent.setblocking(False)
    try:
        url = f"http://127.0.0.1:{agent.getsockname()[1]}"
        err = one_line_refusal(run_cli("top", "--demo", "--traces", url, "--once", "--after", "0.5"))
        assert url in err, err
        try:
            conn, _ = agent.accept()
        except BlockingIOError:
            conn = None
        assert conn is None  # no demo span (nor anything else) was sent to the stand-in Agent's trace port
    finally:
        agent.close()
