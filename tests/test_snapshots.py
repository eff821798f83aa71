"""SVG snapshots (stored in snapshots/) with deterministic data and frozen clocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from .ui_fixtures import live_session, make_app, replay_session


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # a relative socket path in this test's own directory: the status bar reads the same on every run,
    # and runs side by side never share a socket
    monkeypatch.chdir(tmp_path)
    session = live_session(Path("dsd.sock"))
    yield session
    session.stop()


def test_live_demo_80x24(snap_compare, live) -> None:
    assert snap_compare(make_app(live), terminal_size=(80, 24))


def test_wide_layout(snap_compare, live) -> None:
    assert snap_compare(make_app(live), terminal_size=(160, 40))


def test_help_screen(snap_compare, live) -> None:
    assert snap_compare(make_app(live), press=["question_mark"], terminal_size=(80, 24))


def test_replay_timeline(snap_compare) -> None:
    session = replay_session(speed=1.0)
    rp = session.replay
    rp.set_paused(True)
    session.seek(rp.start_ns + 40 * 10**9)
    try:
        assert snap_compare(make_app(session), terminal_size=(80, 24))
    finally:
        session.stop()


def test_ansi_theme(snap_compare, live) -> None:
    assert snap_compare(make_app(live, theme="tundra-ansi"), terminal_size=(80, 24))


def test_light_theme_grouped_by_provider(snap_compare, live) -> None:
    assert snap_compare(make_app(live, theme="tundra-light"), press=["g"], terminal_size=(100, 30))
