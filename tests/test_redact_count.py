"""The redaction count is of datagrams, each once: live (UDP, unix socket, passive tap), in a replay of what was
recorded, and after any seek, from the real `datadog` client sending buffered multi-line datagrams."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from datadog.dogstatsd import DogStatsd
from hypothesis import given, settings
from hypothesis import strategies as st

from tundra_tui.capture import CaptureReader, CaptureWriter
from tundra_tui.commands import main
from tundra_tui.model import Engine
from tundra_tui.model.engine import Mode
from tundra_tui.model.redact import Redactor
from tundra_tui.session import Session
from tundra_tui.sources import Tap, parse_url

from .paused_replay import checkpoints_built, paused_at_end
from .waits import wait_until

T0 = 1_700_000_000
# what the redactor's default rules catch, as the client sends them (it rewrites `@` and spaces in tags, so e-mail
# addresses go in event text and check messages); the test's oracle looks for exactly these bytes, never asking
# the engine what it redacted
TAG_SECRETS = ("key:sk-abcdefghijklmnop1234", "client_ip:10.1.2.3", "aws:AKIAABCDEFGHIJKLMNOP")
SECRETS = (b"sk-abcdefghijklmnop1234", b"10.1.2.3", b"AKIAABCDEFGHIJKLMNOP", b"@corp.io")
TAGS = ["model:gpt-4o", "provider:openai", "agent_name:spec-agent", "task_type:code"]
LINES_PER_REQUEST = 25


def send_requests(client: DogStatsd, n: int) -> None:
    """`n` requests of 25 lines, each group flushed as one buffered datagram (or two, where it passes the client's
    max_buffer_len); every third carries a secret in 3 of its lines, every fifth an event or a check, half of
    them with an e-mail address."""
    for i in range(n):
        for k in range(LINES_PER_REQUEST - 1):
            extra = [TAG_SECRETS[i % 9 // 3]] if i % 3 == 0 and k in (3, 11, 19) else []
            client.distribution("llm.request.duration", 100 + k, tags=[*TAGS, f"step:{k}", *extra])
        if i % 5 == 0:
            client.event("deploy", "rolled out by alice@corp.io" if i % 2 else "rolled out", tags=["env:test"])
        elif i % 5 == 1:
            client.service_check("at_daemon.llm.provider", DogStatsd.OK, tags=["provider:openai"],
                                 message="paged bob@corp.io" if i % 2 else "fine")
        else:
            client.increment("llm.request.complete", 1, tags=[*TAGS, "success:true"])
        client.flush()


def holding_secrets(payloads: list[bytes]) -> int:
    """The oracle: datagrams in which a line carries a secret."""
    return sum(any(s in p for s in SECRETS) for p in payloads)


def secret_lines(payloads: list[bytes]) -> int:
    return sum(any(s in line for s in SECRETS) for p in payloads for line in p.split(b"\n"))


def payloads_of(path: Path) -> list[bytes]:
    return [m.payload for m in CaptureReader(path)]


BUFFERED = {"disable_telemetry": True, "disable_buffering": False, "flush_interval": 0, "max_buffer_len": 2048,
            "origin_detection_enabled": False}  # buffering, and no flush thread: each `flush()` ends a datagram


@pytest.fixture(params=["udp", "unix", "passive"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Where the tap listens, and how: on UDP, on a unix socket, or watching a port a stand-in Agent holds."""
    if request.param == "unix":
        yield f"unix://{tmp_path / 'dsd.socket'}", "listen"
    elif request.param == "udp":
        yield "udp://127.0.0.1:0", "listen"
    else:
        agent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        agent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        agent.bind(("127.0.0.1", 0))
        yield f"udp://127.0.0.1:{agent.getsockname()[1]}", "passive"
        agent.close()


def client_for(tap: Tap) -> DogStatsd:
    """The real client, buffering, sending to the started tap. With a socket timeout on UDP too: without one its
    socket does not block, and a datagram that finds the send buffer full is dropped by the client (counted in
    its packets_dropped_writer), never reaching the tap: on a loaded machine the loopback delivers late and the
    buffer fills (live-then-replay[udp] then waited for lines that were never sent)."""
    addr = tap.listeners[0].address
    if addr.scheme == "unix":
        return DogStatsd(socket_path=addr.host, socket_timeout=5, **BUFFERED)
    return DogStatsd(host="127.0.0.1", port=addr.port, socket_timeout=5, **BUFFERED)


def test_live_then_replay_count_datagrams_once_each(where: tuple[str, str], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    tap = Tap([parse_url(where[0])])
    cap = tmp_path / "live.dog"
    session = Session(tap, Engine(Mode.DASHBOARD, redactor=Redactor()), record=cap)
    session.start(services=False)
    try:
        assert tap.mode == where[1]
        client = client_for(tap)
        send_requests(client, 30)
        client.close_socket()
        assert client.packets_dropped_writer == 0  # all sent: what the tap misses is the tap's
        wait_until(lambda: session.status().lines == 30 * LINES_PER_REQUEST, "every line ingested")
        live = session.status()
    finally:
        session.stop()
    payloads = payloads_of(cap)
    assert len(payloads) == live.packets < 30 * LINES_PER_REQUEST  # recorded as ingested; many lines a datagram
    want = holding_secrets(payloads)
    assert 0 < want < secret_lines(payloads)  # several secret lines share a datagram: a count of lines differs
    assert live.redacted_datagrams == want

    assert main(["replay", str(cap), "--once", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tap"]["redacted_datagrams"] == want
    assert main(["stats", str(cap)]) == 0  # `stats` judges every context it keeps: the same datagrams here
    assert f"{want:,} datagrams redacted" in capsys.readouterr().out


def test_a_seek_neither_loses_nor_double_counts(tmp_path: Path) -> None:
    """Datagrams the real client sent, spread over 100 s (checkpoints every 30 s): after each seek, forward, back,
    onto a checkpoint, to the start and to the end, the count is that of playing from the start to the head."""
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.start()
    client = client_for(tap)
    got: list[bytes] = []
    try:
        send_requests(client, 40)
        wait_until(lambda: (got.extend(p for _, p in tap.read(0.05)) or
                            sum(p.count(b"\n") + 1 for p in got) >= 40 * LINES_PER_REQUEST), "every line received")
    finally:
        client.close_socket()
        tap.stop()
    # a few datagrams a second, several of them in one second: runs join them, and seeks land between them
    packets = [((T0 + i * 100 // len(got)) * 10**9 + i * 1000, p) for i, p in enumerate(got)]
    cap = tmp_path / "spread.dog"
    w = CaptureWriter(cap)
    for ts, p in packets:
        w.write(p, ts)
    w.close()
    with paused_at_end(cap, tmp_path, Engine(Mode.DASHBOARD, redactor=Redactor())) as (session, _rp, ctl):
        assert session.status().redacted_datagrams == holding_secrets(got)  # played to the end
        checkpoints_built()
        for offset_s in (70, 15, 61, 30, 89, 0, 45, 45, 99, 31):
            target = (T0 + offset_s) * 10**9 + 500_000_000
            ctl.seek(target)
            assert ctl.settle(10)
            assert session.status().redacted_datagrams == holding_secrets([p for ts, p in packets if ts <= target])


@settings(max_examples=60, deadline=None)
@given(datagrams=st.lists(st.lists(st.sampled_from([
    b"llm.request.complete:1|c|#model:gpt-4o,user:alice@corp.io",  # secret, hot path after the first
    b"llm.request.complete:1|c|#model:gpt-4o,user:nobody",
    b"llm.request.duration:12:13|d|#model:gpt-4o,key:sk-abcdefghijklmnop1234",  # secret, multi-value: slow path
    b"llm.request.complete:1e400|c|#model:gpt-4o,user:alice@corp.io",  # secret, but malformed: not counted
    b"_e{6,22}:deploy|by alice@corp.io today",  # secret, an event
    b"_sc|at_daemon.llm.provider|0|m:fine",
    b"broken line with alice@corp.io",  # shown redacted as a bad line, never folded: not counted
    b"",
]), min_size=1, max_size=25), min_size=1, max_size=40), cuts=st.lists(st.integers(0, 40), max_size=4),
    gaps=st.lists(st.integers(0, 3), min_size=40, max_size=40))
def test_any_batching_counts_the_same(datagrams: list[list[bytes]], cuts: list[int], gaps: list[int]) -> None:
    """However the datagrams are cut into batches and seconds, each one holding a redacted metric, event or check
    counts once, in both modes; malformed lines (shown redacted as samples) and clean ones do not."""
    packets, ts = [], T0 * 10**9
    for i, lines in enumerate(datagrams):
        ts += gaps[i] * 400_000_000
        packets.append((ts, b"\n".join(lines)))
    want = sum(any(s in line for s in SECRETS for line in lines if not line.startswith(b"broken") and
                   b"1e400" not in line) for lines in datagrams)
    bounds = sorted({0, len(packets), *(min(c, len(packets)) for c in cuts)})
    for mode in Mode:
        e = Engine(mode, redactor=Redactor())
        for a, b in pairwise(bounds):
            e.feed(packets[a:b])
        assert e.redacted_datagrams == want, mode


def test_datagrams_whose_every_line_is_redacted() -> None:
    """Secrets on every line, several lines a datagram, all in one second (one run): one count per datagram."""
    line = b"llm.request.complete:1|c|#model:gpt-4o,client_ip:10.1.2.3"
    for mode in Mode:
        e = Engine(mode, redactor=Redactor())
        e.feed([(T0 * 10**9 + i, b"\n".join([line] * (i + 2))) for i in range(7)])
        e.feed([(T0 * 10**9 + 10**9 + i, line + b"\n" * (i % 2)) for i in range(4)])  # a trailing newline or not
        assert e.redacted_datagrams == 11 and e.lines == 2 * 7 + 21 + 4, mode


def test_stats_counts_a_redacted_context_a_filter_wanted() -> None:
    """`stats` judges the raw context: one a filter (or a rollup) wanted is redacted for it before it is judged,
    and was then taken for clean."""
    e = Engine(Mode.STATS, redactor=Redactor())
    e.feed([(T0 * 10**9, b"llm.request.complete:1|c|#model:gpt-4o,client_ip:10.1.2.3")])
    e.set_filter(frozenset({"model:gpt-4o"}))
    e.feed([(T0 * 10**9 + 1, b"llm.request.complete:1|c|#model:gpt-4o,client_ip:10.1.2.4")])
    assert e.redacted_datagrams == 2
