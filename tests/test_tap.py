"""The live tap on real UDP and unix sockets, fed by the real `datadog` DogStatsd client."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from datadog.dogstatsd import DogStatsd

from tundra_tui.model import Engine
from tundra_tui.model.engine import Mode
from tundra_tui.sources import SourceError, Tap, parse_url
from tundra_tui.sources.receiver import RECV_BUFFER

from .waits import wait_until


def drain(tap: Tap, engine: Engine, want_lines: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while engine.lines < want_lines and time.monotonic() < deadline:
        engine.feed(tap.read(0.05))


def send_traffic(client: DogStatsd, n: int) -> None:
    for i in range(n):
        client.increment("llm.request.complete", 1, tags=["model:gpt-4o", "success:true"])
        client.distribution("llm.request.duration", 100 + i, tags=["model:gpt-4o"])
        client.gauge("queue.depth", i)
    client.event("deploy", "v1 line1\nline2", alert_type="success", tags=["env:test"])
    client.service_check("at_daemon.llm.provider", DogStatsd.CRITICAL, tags=["provider:openai"], message="down")
    client.flush()


@pytest.mark.parametrize("buffered", [False, True])
def test_udp_counts_exactly(buffered: bool) -> None:
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.start()
    try:
        addr = tap.listeners[0].address
        assert addr.port and addr.port != 0
        client = DogStatsd(host="127.0.0.1", port=addr.port, disable_telemetry=True, disable_buffering=not buffered,
                           origin_detection_enabled=False)
        send_traffic(client, 200)
        client.close_socket()
        engine = Engine(Mode.STATS)
        drain(tap, engine, 602)
    finally:
        tap.stop()
    assert engine.lines == 602
    assert engine.parser.error_total == 0
    rows = {(r.name, r.type): r.to_json() for r in engine.stats("x").contexts}
    assert rows[("llm.request.complete", "c")]["value"] == 200
    assert rows[("llm.request.duration", "d")]["samples"] == 200
    assert rows[("llm.request.duration", "d")]["value"] == sum(100 + i for i in range(200))
    assert rows[("queue.depth", "g")]["value"] == 199
    assert engine.events == 1 and engine.service_checks == 1
    ev = engine.llm.events[-1]
    assert ev.text == "v1 line1\nline2" and ev.alert_type == "success"
    if buffered:
        assert engine.packets < 602  # several lines per datagram
    else:
        assert engine.packets == 602


def test_unix_datagram_socket(tmp_path: Path) -> None:
    path = tmp_path / "dsd.socket"
    tap = Tap([parse_url(f"unix://{path}")])
    tap.start()
    try:
        # blocking sends: a unix datagram queue is short, and the client drops on EAGAIN otherwise
        client = DogStatsd(socket_path=str(path), disable_telemetry=True, origin_detection_enabled=False,
                           socket_timeout=5)
        send_traffic(client, 50)
        client.close_socket()
        engine = Engine(Mode.DASHBOARD)
        drain(tap, engine, 152)
    finally:
        tap.stop()
    assert engine.lines == 152
    assert not path.exists()  # cleaned up


def test_stale_unix_socket_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "dsd.socket"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(path))
    stale.close()  # file stays, nobody listens
    tap = Tap([parse_url(f"unix://{path}")])
    tap.start()
    try:
        sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sender.sendto(b"fresh:1|c", str(path))  # reaches the tap: the stale file was replaced by its socket
        sender.close()
        got = wait_until(lambda: tap.read(0.05), "the datagram sent to the replaced socket")
    finally:
        tap.stop()
    assert [data for _, data in got] == [b"fresh:1|c"]
    assert not path.exists()


def test_a_live_unix_socket_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "dsd.socket"
    owner = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    owner.bind(str(path))  # someone (an Agent) listens here
    try:
        with pytest.raises(SourceError, match="another process is listening"):
            Tap([parse_url(f"unix://{path}")]).start()
        assert path.exists()  # left alone
    finally:
        owner.close()


def test_busy_port_is_a_clear_error() -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    try:
        with pytest.raises(SourceError, match=r"busy.*--listen"):
            Tap([parse_url(f"udp://127.0.0.1:{port}")], passive=False).start()
    finally:
        holder.close()


def test_rcvbuf_reported_and_truncation_counted(tmp_path: Path) -> None:
    path = tmp_path / "big.socket"
    tap = Tap([parse_url(f"unix://{path}")])
    tap.start()
    try:
        assert tap.status().rcvbuf[0] >= 212992  # at least the kernel default was granted
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        s.sendto(b"big:1|c|#" + b"x" * (RECV_BUFFER + 100), str(path))
        s.sendto(b"ok:1|c", str(path))
        s.close()
        got: list = []
        deadline = time.monotonic() + 5
        while len(got) < 2 and time.monotonic() < deadline:
            got += tap.read(0.05)
        status = tap.status()
    finally:
        tap.stop()
    assert status.truncated == 1
    assert len(got[0][1]) == RECV_BUFFER and got[1][1] == b"ok:1|c"


def test_kernel_drops_read_from_proc() -> None:
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.start()
    try:
        drops = tap.kernel_drops()
    finally:
        tap.stop()
    if Path("/proc/net/udp").exists():
        assert drops == 0
    else:
        assert drops is None


def test_forward_passes_datagrams_unchanged() -> None:
    agent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    agent.bind(("127.0.0.1", 0))
    agent.settimeout(5)
    tap = Tap([parse_url("udp://127.0.0.1:0")], forward=parse_url(f"udp://127.0.0.1:{agent.getsockname()[1]}"))
    tap.start()
    try:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent = [b"a:1|c", b"b:2|g\r\nc:3|d\n", b"\xff\x00garbage"]
        for d in sent:
            sender.sendto(d, ("127.0.0.1", tap.listeners[0].address.port))
        engine = Engine(Mode.DASHBOARD)
        drain(tap, engine, 3)  # forwarding happens as the session drains the tap
        received = [agent.recv(65536) for _ in sent]
        sender.close()
    finally:
        tap.stop()
        agent.close()
    assert received == sent


def test_forward_to_a_sink_that_never_reads(tmp_path: Path) -> None:
    sink_path = tmp_path / "agent.socket"
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sink.bind(str(sink_path))  # bound, never read
    tap = Tap([parse_url("udp://127.0.0.1:0")], forward=parse_url(f"unix://{sink_path}"))
    tap.start()
    try:
        port = tap.listeners[0].address.port
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        n = 3000
        start = time.monotonic()
        for i in range(n):
            sender.sendto(b"m:%d|c" % i, ("127.0.0.1", port))
        engine = Engine(Mode.DASHBOARD)
        drain(tap, engine, n)
        elapsed = time.monotonic() - start
        sender.close()
        st = tap.status()  # the receiver counts a batch's forwarding before it ships the batch
    finally:
        tap.stop()
        sink.close()
    assert engine.lines == n  # the tap saw everything
    assert st.forward_dropped > 0  # the stuck agent's share is counted...
    assert st.forward_sent + st.forward_dropped == n  # ...and nothing vanished unaccounted
    assert elapsed < 30


def test_forward_to_absent_agent_counts_drops() -> None:
    tap = Tap([parse_url("udp://127.0.0.1:0")], forward=parse_url("unix:///nonexistent/agent.socket"))
    tap.start()
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(10):
            s.sendto(b"m:1|c", ("127.0.0.1", tap.listeners[0].address.port))
        s.close()
        engine = Engine(Mode.DASHBOARD)
        drain(tap, engine, 10)
        dropped = tap.status().forward_dropped
    finally:
        tap.stop()
    assert engine.lines == 10 and dropped == 10


def test_full_disk_stops_recording_not_the_tap(tmp_path: Path) -> None:
    from tundra_tui.session import Session

    full = tmp_path / "full.dog"
    full.symlink_to("/dev/full")  # every write: ENOSPC
    session = Session(Tap([parse_url("udp://127.0.0.1:0")]), Engine(Mode.DASHBOARD), record=full)
    session.start()
    try:
        port = session.source.listeners[0].address.port
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(100):
            s.sendto(b"m:1|c", ("127.0.0.1", port))
        status = wait_until(lambda: (st := session.status()).record_error and st, "the recording to fail")
        for _ in range(20):
            s.sendto(b"after:1|c", ("127.0.0.1", port))
        s.close()
        wait_until(lambda: session.dashboard().tap.lines == 120, "all 120 lines counted")
    finally:
        session.stop()
    assert status.record_error is not None and "disk full" in status.record_error
    assert session.dashboard().tap.lines == 120  # the tap kept counting after the recording died
