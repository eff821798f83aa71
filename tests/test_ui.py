"""Pilot tests: every key of `tundra top` and `tundra replay`, asserted on app state and messages."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from textual.message import Message

from tundra_tui.capture import CaptureReader
from tundra_tui.model.engine import Mode
from tundra_tui.ui.messages import FrameReady, SettingChanged
from tundra_tui.ui.screens.help import HelpScreen
from tundra_tui.ui.widgets.pane import Pane

from .ui_fixtures import live_session, make_app, pane_lines, replay_session, toasts

SIZE = (80, 24)


class Watch:
    """message_hook collector."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> None:
        self.messages.append(message)

    def settings(self) -> list[tuple[str, object]]:
        return [(m.name, m.value) for m in self.messages if isinstance(m, SettingChanged)]


@pytest.fixture
def live(tmp_path: Path):
    session = live_session(tmp_path / "dsd.sock")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory):
    """One tap for the screens that only read the session (tests that send to it or record start their own)."""
    session = live_session(tmp_path_factory.mktemp("shared") / "dsd.sock")
    yield session
    session.stop()


@pytest.fixture
def replay():
    session = replay_session(speed=1.0)
    yield session
    session.stop()


async def test_quit_and_refresh_messages(shared) -> None:
    app = make_app(shared)
    watch = Watch()
    async with app.run_test(size=SIZE, message_hook=watch) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert any(isinstance(m, FrameReady) and m.frame.status.packets > 0 for m in watch.messages)
        await pilot.press("q")
    assert app.return_code == 0


async def test_help_group_sort_refresh_and_maximise_keys(shared) -> None:
    """One screen, the keys that change what it shows: help, grouping and sort, refresh rate, maximised panes."""
    app = make_app(shared)
    watch = Watch()
    async with app.run_test(size=SIZE, message_hook=watch) as pilot:
        await pilot.press("question_mark")  # help opens and closes
        assert isinstance(app.screen, HelpScreen)
        keys = [k for k, _ in app.screen.rows]
        assert {"q", "?", "/", "g", "s", "r", "t", "+", "-", "1-6"} <= set(keys)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)

        app.refresh_s = 1.0  # refresh rate keys
        await pilot.press("plus")
        assert app.refresh_s == 0.5
        await pilot.press("minus", "minus")
        assert app.refresh_s == 2.0

        for n in range(1, 7):  # number keys maximise panes
            await pilot.press(str(n))
            assert app.maximized == n
            pane = app.query_one(f"#pane-{n}", Pane)
            assert app.screen.maximized is pane and app.maximized_span() == pane.chart_span_s  # its charts' span
        queries: list[tuple[object, ...]] = []  # each tick asks for the maximised pane's span: kept, never queried
        query_one = app.query_one
        app.query_one = lambda *a, **k: queries.append(a) or query_one(*a, **k)  # type: ignore[method-assign]
        app.tick()
        del app.query_one
        assert queries == []
        await pilot.press("6")
        assert app.maximized is None and app.screen.maximized is None and app.maximized_span() is None
        await pilot.press("2", "escape")
        assert app.screen.maximized is None

        seen = []  # group and sort cycle
        for _ in range(4):
            await pilot.press("g")
            seen.append(app.group)
        assert seen == ["provider", "agent", "profile", "model"]
        rows = shared.frame("provider", "requests").grouping.rows
        assert {r.key for r in rows} == {"Local", "OpenAI", "Anthropic"}
        await pilot.press("s")
        assert app.sort == "errors"
        rows = shared.frame(app.group, app.sort).grouping.rows
        assert [r.errors for r in rows] == sorted((r.errors for r in rows), reverse=True)  # by count, not rate
    assert ("group", "provider") in watch.settings() and ("sort", "errors") in watch.settings()


THEMES = ["tundra-dark", "tundra-light", "tundra-ansi", "textual-dark", "nord"]


async def test_every_theme_renders_every_pane(shared) -> None:
    """Started in the first theme, then switched to each other one (as `t` does): every pane has text."""
    app = make_app(shared, theme=THEMES[0])
    async with app.run_test(size=SIZE) as pilot:
        for theme in THEMES:
            app.theme = theme
            app.tick()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.theme == theme
            assert "Traceback" not in app.export_screenshot()
            for n in range(1, 7):
                assert any(line.strip() for line in pane_lines(app.query_one(f"#pane-{n}", Pane))), (theme, n)


async def test_pause_keeps_ingesting(live, tmp_path: Path) -> None:
    app = make_app(live)
    watch = Watch()
    async with app.run_test(size=SIZE, message_hook=watch) as pilot:
        await pilot.press("p")
        assert app.display_paused
        before = live.engine.lines
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b"llm.request.complete:1|c|#model:x,provider:y,success:true", str(tmp_path / "dsd.sock"))
        s.close()
        for _ in range(50):
            await pilot.pause(0.02)
            if live.engine.lines > before:
                break
        assert live.engine.lines == before + 1  # ingestion carried on
        await pilot.press("space")
        assert not app.display_paused
    assert ("paused", True) in watch.settings() and ("paused", False) in watch.settings()


async def test_filter_by_tags_replay(tmp_path: Path) -> None:
    session = replay_session(speed=None)
    app = make_app(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("slash")
            await pilot.press(*"model:gpt-4o")
            await pilot.press("enter")
            await pilot.pause()
            assert session.filter == frozenset({"model:gpt-4o"})
            assert session.replay_control is not None and session.replay_control.settle(10)  # rebuilt off the UI
            rows = session.frame().grouping.rows
            assert [r.key for r in rows] == ["gpt-4o"]
            full = session.dashboard()  # the JSON contract stays unfiltered
            gpt = next(m for m in full.models if m.model == "gpt-4o")
            assert rows[0].requests == gpt.requests and len(full.models) > 1
            await pilot.press("slash", "ctrl+u", "b", "a", "d", "enter")
            assert session.filter == frozenset({"model:gpt-4o"})  # rejected, screen still open
            await pilot.press("escape")
    finally:
        session.stop()


async def test_record_key_writes_a_capture(live, tmp_path: Path) -> None:
    app = make_app(live)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        assert live.recorder is not None
        path = live.recorder.path
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        for i in range(5):
            s.sendto(b"m:%d|c" % i, str(tmp_path / "dsd.sock"))
        s.close()
        for _ in range(50):
            await pilot.pause(0.02)
            if live.recorder.records >= 5:
                break
        await pilot.press("r")
        assert live.recorder is None
    assert [m.payload for m in CaptureReader(path)] == [b"m:%d|c" % i for i in range(5)]
    assert path.parent.name == "tundra"  # platformdirs data dir


async def test_bad_lines_on_demand(live, tmp_path: Path) -> None:
    app = make_app(live)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(b"this is not dogstatsd", str(tmp_path / "dsd.sock"))
        s.close()
        for _ in range(50):
            await pilot.pause(0.02)
            if live.dashboard().tap.errors.metric:
                break
        await pilot.press("e")
        await pilot.pause()
        assert any("this is not dogstatsd" in n for n in toasts(app))


async def test_replay_keys(replay) -> None:
    app = make_app(replay)
    rp = replay.replay
    ctl = replay.replay_control
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        assert rp.paused
        start = rp.position_ns
        await pilot.press("full_stop")
        assert ctl.settle(10)  # seeks land on the seek thread
        assert rp.position_ns == start + 10**9
        await pilot.press("comma", "comma")
        assert ctl.settle(10)  # seeks land on the seek thread
        assert rp.position_ns == max(start - 10**9, rp.start_ns)
        await pilot.press("end")
        assert ctl.settle(10)  # seeks land on the seek thread
        assert rp.position_ns == rp.end_ns
        assert replay.dashboard().totals.requests == 1200  # everything up to the end is in
        await pilot.press("left")
        assert ctl.settle(10)  # seeks land on the seek thread
        assert rp.position_ns == rp.end_ns - 10 * 10**9
        await pilot.press("home")
        assert ctl.settle(10)  # seeks land on the seek thread
        assert rp.position_ns == rp.start_ns and replay.engine.packets <= 1
        await pilot.press("right")
        assert ctl.settle(10)  # seeks land on the seek thread
        assert rp.position_ns == rp.start_ns + 10 * 10**9
        await pilot.press("right_square_bracket")
        assert rp.speed == 2.0
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert rp.speed == 0.5
        assert app.check_action("record", ()) is False  # recording is for live sessions


async def test_seek_equals_straight_play(played) -> None:
    """A seek back and forth lands on the same numbers as playing straight to that point."""
    sought = replay_session(speed=1.0)
    try:
        rp = sought.replay
        rp.set_paused(True)
        target = rp.start_ns + 45 * 10**9
        sought.replay_control.seek(rp.end_ns)
        sought.replay_control.seek(rp.start_ns + 5 * 10**9)
        sought.replay_control.seek(target)
        assert sought.replay_control.settle(10)  # only the last of the three counts
        straight = played.replay  # the sample played whole, in play order
        ref = played.engine.__class__(Mode.DASHBOARD)
        ref.feed([p for p in straight.get(0, straight.count) if p[0] <= target])
        got, want = sought.engine.dashboard(target).to_json(), ref.dashboard(target).to_json()
        assert got["totals"] == want["totals"] and got["models"] == want["models"]
    finally:
        sought.stop()


async def test_bad_theme_file_notifies_and_falls_back(shared, isolated_dirs: Path) -> None:
    from tundra_tui.ui.themes import user_dir

    user_dir().mkdir(parents=True, exist_ok=True)
    (user_dir() / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n')
    (user_dir() / "mine.toml").write_text('name = "mine"\nprimary = "#ff00ff"\n')
    app = make_app(shared, theme="broken")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        notes = " ".join(toasts(app))
        assert "broken.toml" in notes and "not a colour" in notes
        assert app.theme == "tundra-dark"  # the fallback
        assert "mine" in app.available_themes  # user themes load beside the bundled ones
        assert app.theme_variables["ok"]  # domain colours exist even in a theme that did not set them


def test_themes_command_lists_themes() -> None:
    from .conftest import run_cli

    res = run_cli("themes")
    assert res.returncode == 0
    names = [line[2:].split()[0] for line in res.stdout.splitlines()]
    assert {"tundra-dark", "tundra-light", "tundra-ansi"} <= set(names)


async def test_fleet_key_shows_host_beside_fleet(tmp_path: Path) -> None:
    from tundra_tui.services.fleet import FleetPoller, FleetSettings
    from tundra_tui.ui.screens.fleet import FleetScreen

    from .datadog_stub import API_KEY, APP_KEY, DatadogStub

    with DatadogStub() as stub:
        session = live_session(tmp_path / "f.sock")
        session.fleet = FleetPoller(FleetSettings(api_key=API_KEY, app_key=APP_KEY, url=stub.url))
        session.fleet.poll_once()
        app = make_app(session)
        try:
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.press("f")
                await pilot.pause()
                assert isinstance(app.screen, FleetScreen)
                app.tick()
                await app.workers.wait_for_complete()
                await pilot.pause()
                text = app.export_screenshot()
                assert "fleet: ok" in text.replace("&#160;", " ")
                assert "gpt-4o" in text and API_KEY[:8] not in text and API_KEY[-4:] in text  # last 4 only
                await pilot.press("escape")
                assert not isinstance(app.screen, FleetScreen)
        finally:
            session.stop()


async def test_crash_writes_a_scrubbed_report(live, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    secret = "dd-api-key-0123456789abcdef"
    monkeypatch.setenv("DD_API_KEY", secret)
    app = make_app(live)

    def boom() -> None:
        key = secret  # a local holding the key: Textual's own handler would print it
        raise RuntimeError(f"boom with {key} for alice@corp.io")

    with pytest.raises(RuntimeError):
        async with app.run_test(size=SIZE) as pilot:
            app.call_later(boom)
            await pilot.pause()
            await pilot.pause()
    report = app.crash_report
    assert report is not None and report.exists()
    text = report.read_text()
    assert "RuntimeError" in text and secret not in text and "alice@corp.io" not in text
    assert oct(report.stat().st_mode & 0o777) == "0o600"
    shown = capfd.readouterr()
    said = shown.out + shown.err
    assert "tundra hit an internal error (RuntimeError)" in said  # one line on exit, not Textual's traceback
    assert secret not in said and "Traceback" not in said


async def test_empty_panes_read_cleanly(replay) -> None:
    app = make_app(replay)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "home")
        app.tick()
        await app.workers.wait_for_complete()
        await pilot.pause()
        profiles = [line for line in pane_lines(app.query_one("#pane-1", Pane)) if line.strip()]
        tokens = [line for line in pane_lines(app.query_one("#pane-2", Pane)) if line.strip()]
        assert profiles[0].strip() == "no profile data yet"
        assert tokens[-2].split()[-2:] == ["-", "-"]  # nothing to price yet: "-", never $0
        assert "no data yet" in tokens[-1]


def test_the_screen_reads_typed_parts_only() -> None:
    """Widgets, screens and the app get typed parts (or ask the session or the replay controller): none of
    them reaches into the engine, its parser or redactor, or the Replay source."""
    from .conftest import ROOT

    for path in [*sorted((ROOT / "tundra_tui" / "ui").rglob("*.py")), ROOT / "tundra_tui" / "commands" / "report.py"]:
        text = path.read_text()
        for internal in (".engine", ".parser", ".redactor", "sources", "Replay(", "session.replay."):
            assert internal not in text, f"{path.name} uses {internal}"
