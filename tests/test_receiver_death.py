"""A receiver process that dies on its own (kill -9, the OOM killer, a crash): the tap sees it at once, starts another
on the same socket (the Agent gets its copy again), and past the restart limit says it is down: status, JSON, the
status bar, `stats` and `record` all tell, and what was lost is counted."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
from pathlib import Path

import pytest
from rich.console import Console

from tundra_tui.commands.report import print_stats
from tundra_tui.commands.stats import live_stats
from tundra_tui.model.engine import Engine, Mode
from tundra_tui.model.receiver_parts import ReceiverHealth
from tundra_tui.session import Session
from tundra_tui.sources import Tap, listener, parse_url
from tundra_tui.ui.widgets.statusbar import StatusBar

from .test_json_doc import check
from .test_passive_ui import styled
from .test_receiver import agent_socket, flood, recv_all
from .ui_fixtures import make_app
from .waits import Tundra, wait_records, wait_until


def send(port: int, tag: str, n: int) -> list[bytes]:
    """n distinct datagrams to the tap (loopback: each is in its socket's queue when sendto returns)."""
    out = [f"dead.receiver:{i}|c|#phase:{tag}".encode() for i in range(n)]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for d in out:
        s.sendto(d, ("127.0.0.1", port))
    s.close()
    return out


def forwarding_session(agent: socket.socket) -> tuple[Session, Tap]:
    tap = Tap([parse_url("udp://127.0.0.1:0")], forward=parse_url(f"udp://127.0.0.1:{agent.getsockname()[1]}"))
    session = Session(tap, Engine(Mode.DASHBOARD))
    session.start(services=False)
    return session, tap


def shipped(session: Session, tap: Tap, agent: socket.socket, n: int) -> int:
    """n datagrams sent to the tap, forwarded to the Agent and counted by the session; the tap's port."""
    port = tap.listeners[0].address.port
    before = send(port, "before", n)
    assert recv_all(agent, n) == before
    wait_until(lambda: session.status().source.datagrams == n, f"the first {n} shipped and counted")
    return port


def kill_receiver(tap: Tap) -> int:
    """SIGKILL the first listener's receiver and wait until it is gone; its pid."""
    proc = tap.listeners[0]._proc
    os.kill(proc.pid, signal.SIGKILL)
    wait_until(lambda: proc.poll() is not None, "the receiver to die")
    return int(proc.pid)


def test_a_killed_receiver_is_restarted_and_the_agent_gets_what_came_meanwhile() -> None:
    agent = agent_socket()
    session, tap = forwarding_session(agent)
    try:
        port = shipped(session, tap, agent, 100)
        dead = kill_receiver(tap)
        meanwhile = send(port, "meanwhile", 100)  # into the socket's queue: the kernel keeps them for the next one
        assert recv_all(agent, 100) == meanwhile  # forwarded by the new receiver, in order
        # the restart is counted once the new receiver said "ready": it may forward a little before that
        st = wait_until(lambda: (s := session.status().source).receiver.restarts and s, "the restart counted")
        assert tap.listeners[0]._proc.pid != dead
        assert st.receiver == ReceiverHealth("killed by SIGKILL", restarts=1, down=0)
        wait_until(lambda: session.status().source.forward_sent == 200, "both receivers' forwards counted")
        tap_json = session.dashboard().to_json()["tap"]
        check(tap_json, "TapPart", "tap")
        assert tap_json["receiver"] == {"last_exit": "killed by SIGKILL", "restarts": 1, "down": 0}
    finally:
        session.stop()
        agent.close()
    status = session.status()
    assert session.engine.packets == 200 and status.dropped == 0 and status.source.exit_dropped == 0


def test_past_the_restart_limit_the_receiver_is_down_and_every_output_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listener, "RESTARTS_PER_MINUTE", 0)
    agent = agent_socket()
    session, tap = forwarding_session(agent)
    try:
        port = shipped(session, tap, agent, 50)
        kill_receiver(tap)
        st = wait_until(lambda: session.status().source.receiver.down and session.status().source, "down")
        assert st.receiver == ReceiverHealth("killed by SIGKILL", restarts=0, down=1)
        lost = send(port, "after", 30)  # nobody reads the socket now: nothing reaches the Agent
        agent.setblocking(False)
        with pytest.raises(BlockingIOError):
            agent.recv(65536)
        tap_json = session.dashboard().to_json()["tap"]
        check(tap_json, "TapPart", "tap")
        assert tap_json["receiver"] == {"last_exit": "killed by SIGKILL", "restarts": 0, "down": 1}
    finally:
        session.stop()
        agent.close()
    status = session.status()
    assert status.source.forward_sent == 50 and status.source.stop_dropped == len(lost)  # left in the socket
    assert session.engine.packets + status.dropped == 80  # what never came is counted
    doc = json.loads(json.dumps(live_stats(session.stats("live"), status).to_json()))
    check(doc, "Stats", "stats")
    assert (doc["receiver"], doc["dropped"]) == ({"last_exit": "killed by SIGKILL", "restarts": 0, "down": 1}, 30)
    out = io.StringIO()
    print_stats(session.stats("live"), status, Console(file=out, width=200))
    lines = [line for line in out.getvalue().splitlines() if "receiver process" in line]
    assert lines == [f"the receiver process exited (killed by SIGKILL) and was not restarted: nothing more was "
                     f"received or forwarded to udp://127.0.0.1:{agent_port(status.source.forward)}"]


def agent_port(forward: str | None) -> int:
    assert forward is not None
    return int(forward.rsplit(":", 1)[1])


def test_what_a_killed_receiver_held_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest not reading: the pipe fills and the receiver holds a backlog; killed, what it held is `exit_dropped`,
    and every datagram sent is read or counted."""
    monkeypatch.setattr(listener, "MAX_PENDING_BYTES", 64 << 10)
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.start()
    lst = tap.listeners[0]
    sent = 3000
    try:
        flood(lst.address.port, sent)  # 4.2 MB: past one read, the pipe and what the pipe thread keeps
        # every datagram taken from the socket: the receiver now only waits for the pipe (no batch in its hands)
        wait_until(lambda: lst.counter("received") + (tap.kernel_drops() or 0) == sent, "the socket emptied")
        kill_receiver(tap)
        got = 0

        def drained() -> bool:
            nonlocal got
            got += len(tap.read(0.05))
            st = tap.status()
            return bool(st.receiver.restarts) and got + st.exit_dropped + (st.kernel_drops or 0) == sent

        wait_until(drained, "every datagram read or counted")
        status = tap.status()
    finally:
        tap.stop()
    assert status.exit_dropped > 0 and got > 0 and status.receiver.last_exit == "killed by SIGKILL"


async def test_the_status_bar_shows_a_dead_receiver_in_the_alarm_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listener, "RESTARTS_PER_MINUTE", 0)
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    session = Session(tap, Engine(Mode.DASHBOARD))
    session.start()
    try:
        kill_receiver(tap)
        wait_until(lambda: session.status().source.receiver.down, "the receiver down")
        app = make_app(session)
        async with app.run_test(size=(160, 24)) as pilot:
            bar = app.query_one(StatusBar)
            app.tick()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert styled(bar, "receiver") == ("receiver exited (killed by SIGKILL)", bar.c("alarm"))
            await pilot.press("q")
    finally:
        session.stop()


def receiver_pid(parent: int, not_pid: int | None = None) -> int | None:
    """The pid of `parent`'s receiver process (other than `not_pid`), if it has one now."""
    for task in os.listdir(f"/proc/{parent}/task"):
        try:
            children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
        except OSError:
            continue
        for pid in map(int, children):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"receiver.py" in cmd and pid != not_pid:
                return pid
    return None


def test_record_says_the_receiver_died_and_stops_with_exit_1(tmp_path: Path) -> None:
    """A real `tundra record`: its receiver killed again and again; past the restarts it ends with one line."""
    out = tmp_path / "r.dog"
    with Tundra("record", str(out), "--listen", "udp://127.0.0.1:0", "--no-traces") as child:
        port = child.port()
        send(port, "before", 10)
        wait_records(out, 10)  # in the file: no receiver holds them when it is killed
        pid = None
        for _ in range(listener.RESTARTS_PER_MINUTE + 1):
            pid = wait_until(lambda old=pid: receiver_pid(child.proc.pid, old), "a receiver")  # type: ignore[misc]
            os.kill(pid, signal.SIGKILL)
        result = child.finish()
    assert result.returncode == 1, result.stderr
    *_, progress, line = result.stderr.splitlines()
    assert line == "the receiver process exited (killed by SIGKILL) and was not restarted: nothing more was received"
    assert progress.startswith("datagrams 10 ") and progress.endswith("  receiver exited (killed by SIGKILL)")
