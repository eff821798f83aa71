"""Session on a live tap: the tag filter while traffic flows, and ingest surviving our own bugs."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tundra_tui.model.engine import Engine, Mode
from tundra_tui.session import Session
from tundra_tui.sources import Packet, Tap, parse_url

from .waits import wait_until

TAGS = {"gpt-4o": "model:gpt-4o,provider:openai", "claude": "model:claude-sonnet-4-5,provider:anthropic"}


def send(port: int, model: str, n: int) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(n):
        s.sendto(b"llm.request.complete:1|c|#%s,success:true" % TAGS[model].encode(), ("127.0.0.1", port))
    s.close()


def requests(session: Session) -> float:
    return session.dashboard().totals.requests


@pytest.fixture
def live() -> Iterator[tuple[Session, int]]:
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    session = Session(tap, Engine(Mode.DASHBOARD))
    session.start()
    yield session, tap.listeners[0].address.port or 0
    session.stop()


def test_live_filter_shows_matching_traffic_from_now_on(live: tuple[Session, int]) -> None:
    session, port = live
    send(port, "gpt-4o", 3)
    send(port, "claude", 2)
    wait_until(lambda: requests(session) == 5, "5 requests ingested")

    session.set_filter(frozenset({"model:gpt-4o"}))
    send(port, "gpt-4o", 1)
    send(port, "claude", 4)
    wait_until(lambda: requests(session) == 10, "10 requests ingested")

    rows = session.frame().grouping.rows
    assert [(r.key, r.requests) for r in rows] == [("gpt-4o", 1)]  # live: the filter starts from now
    assert session.status().filter == ("model:gpt-4o",)
    full = {m.model: m.requests for m in session.dashboard().models}
    assert full == {"gpt-4o": 4, "claude-sonnet-4-5": 6}  # the JSON contract stays unfiltered

    session.set_filter(frozenset())
    rows = session.frame().grouping.rows
    assert {r.key: r.requests for r in rows} == {"gpt-4o": 4, "claude-sonnet-4-5": 6}
    assert session.status().filter == ()


class PoisonedEngine(Engine):
    """The real engine with a bug on demand: any batch holding POISON raises, as an unknown bug would."""

    POISON = b"poison:1|c"

    def feed(self, batch: list[Packet]) -> None:
        if any(data == self.POISON for _, data in batch):
            raise RuntimeError("a bug in a batch (DD_API_KEY=sk-abcdefghijklmnop1234)")
        super().feed(batch)


def test_an_internal_error_skips_one_batch_and_the_tap_goes_on(isolated_dirs: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_API_KEY", "sk-abcdefghijklmnop1234")
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    session = Session(tap, PoisonedEngine(Mode.DASHBOARD))
    session.start()
    try:
        port = tap.listeners[0].address.port or 0
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for n in (1, 2):  # one poisoned batch at a time
            s.sendto(PoisonedEngine.POISON, ("127.0.0.1", port))
            wait_until(lambda n=n: session.status().internal_errors == n, f"poisoned batch {n} to fail")
        send(port, "gpt-4o", 3)
        wait_until(lambda: requests(session) == 3, "the batches after it ingested")
        s.close()
        status = session.status()
    finally:
        session.stop()
    assert status.internal_errors == 2
    reports = list(isolated_dirs.rglob("crash-*.txt"))
    assert len(reports) == 1 and reports[0] == session.internal_error_report  # one report, not one per batch
    text = reports[0].read_text()
    assert "command: ingest" in text and "RuntimeError: a bug in a batch" in text
    assert "sk-abcdefghijklmnop1234" not in text  # scrubbed
    assert reports[0].stat().st_mode & 0o077 == 0


def test_a_second_stop_returns_once_the_recording_has_its_trailer(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The screen's hang-up starts a watchdog per SIGHUP (the kernel's, the dead terminal's): two stops at once.
    The one that found the recorder taken returned at once, and its `os._exit` cut the capture short."""
    import threading

    from tundra_tui.capture import CaptureReader
    from tundra_tui.sources.recorder import Recorder

    closing, release = threading.Event(), threading.Event()
    real_close = Recorder.close

    def slow_close(self: Recorder) -> None:  # the first stop is writing the trailer...
        closing.set()
        release.wait(30)
        real_close(self)

    monkeypatch.setattr(Recorder, "close", slow_close)
    out = tmp_path / "r.dog"
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    session = Session(tap, Engine(Mode.DASHBOARD), record=out)
    session.start()
    send(tap.addresses[0].port or 0, "gpt-4o", 50)
    first = threading.Thread(target=session.stop)
    first.start()
    assert closing.wait(30)
    second = threading.Thread(target=session.stop)
    second.start()
    second.join(0.2)
    assert second.is_alive()  # ...so the second stop waits for it
    release.set()
    second.join(30)
    assert not second.is_alive()
    reader = CaptureReader(out)
    assert len(list(reader)) == 50 and not reader.truncated  # by the time the second returns: the whole capture
    first.join(30)
