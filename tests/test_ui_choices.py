"""Pilot tests for what the user picks in the monitor: the theme picker (marked, remembered without touching
the config), `r` never reusing a name, keys queued behind `q`, and start-up warnings shown inside the UI."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from textual.widgets import OptionList

from tundra_tui.commands.common import starting_theme
from tundra_tui.config import Config, data_dir, load_config, state_path
from tundra_tui.ui.app import TundraApp
from tundra_tui.ui.screens.themes import CURRENT_MARK, ThemePicker

from .ui_fixtures import FROZEN, live_session, make_app, refreshed, toasts

SIZE = (80, 24)


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


async def test_picker_marks_current_theme_and_remembers_the_pick(shared, isolated_dirs: Path) -> None:
    cfg_file = isolated_dirs / "config" / "tundra" / "config.toml"
    cfg_file.parent.mkdir(parents=True)
    original = '# my colours, keep this comment\ntheme = "tundra-light"   # light terminal\n'
    cfg_file.write_text(original)
    cfg = load_config()
    assert starting_theme(None, cfg) == "tundra-light"
    app = TundraApp(shared, cfg, theme=starting_theme(None, cfg), refresh=10.0, clock=lambda: FROZEN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        assert isinstance(app.screen, ThemePicker)
        picker = app.screen.query_one(OptionList)
        labels = [str(picker.get_option_at_index(i).prompt) for i in range(picker.option_count)]
        marked = [label for label in labels if label.startswith(CURRENT_MARK)]
        assert marked == [CURRENT_MARK + "tundra-light"]
        assert picker.highlighted == labels.index(CURRENT_MARK + "tundra-light")
        assert "nord" in [label.strip() for label in labels]  # Textual's built-ins are offered
        picker.highlighted = labels.index("  nord")
        await pilot.press("enter")
        assert app.theme == "nord" and not isinstance(app.screen, ThemePicker)
    assert cfg_file.read_text() == original  # the user's file, comments and all, is left alone
    assert state_path().is_file() and oct(state_path().stat().st_mode & 0o777) == "0o600"
    assert starting_theme(None, load_config()) == "nord"  # the next start uses the pick
    assert starting_theme("dracula", load_config()) == "dracula"  # the flag still wins
    cfg_file.write_text('theme = "tundra-ansi"\n')
    assert starting_theme(None, load_config()) == "tundra-ansi"  # a config edited since the pick wins


async def test_escape_keeps_the_theme(shared) -> None:
    app = make_app(shared)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t", "down", "down", "escape")
        assert app.theme == "tundra-dark" and not state_path().exists()


async def test_keys_after_q_start_nothing(shared) -> None:
    app = make_app(shared)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q", "t", "r", "question_mark")
        assert shared.recorder is None and not isinstance(app.screen, ThemePicker)
    assert app.return_code == 0


async def test_record_key_picks_a_fresh_name(live) -> None:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    taken = [data_dir() / f"tundra-{stamp}.dog", data_dir() / f"tundra-{stamp}-2.dog"]
    for path in taken:
        path.write_bytes(b"precious")
    app = make_app(live)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        assert live.recorder is not None
        path = live.recorder.path
        await pilot.press("r")
    assert path not in taken and path.is_file()
    assert all(p.read_bytes() == b"precious" for p in taken)


async def test_exposure_warning_is_shown_inside_the_ui(shared) -> None:
    warning = "warning: listening on udp://0.0.0.0:40404, which is reachable from other hosts"
    app = TundraApp(shared, Config(), refresh=10.0, clock=lambda: FROZEN, notices=[warning])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert toasts(app) == [warning]


def test_unknown_theme_in_state_is_ignored(isolated_dirs: Path) -> None:
    state_path().parent.mkdir(parents=True, exist_ok=True)
    state_path().write_text('{"theme": "gone-theme", "over": null}')
    assert starting_theme(None, Config()) == "tundra-dark"
    state_path().write_text("not json")
    assert starting_theme(None, Config()) == "tundra-dark"
    assert str(state_path()).startswith(os.environ["XDG_STATE_HOME"])


async def test_status_bar_shows_the_chosen_port_not_zero() -> None:
    from tundra_tui.model import Engine
    from tundra_tui.model.engine import Mode
    from tundra_tui.session import Session
    from tundra_tui.sources import Tap, parse_url
    from tundra_tui.ui.widgets.statusbar import StatusBar

    session = Session(Tap([parse_url("udp://127.0.0.1:0")]), Engine(Mode.DASHBOARD))
    session.start()
    try:
        port = session.source.addresses[0].port  # type: ignore[attr-defined]
        app = make_app(session)
        async with app.run_test(size=(120, 24)) as pilot:
            await refreshed(app, pilot)  # a frame drawn: one pause alone may come before it (seen under load)
            line = app.query_one(StatusBar).render_line(0).text
    finally:
        session.stop()
    assert port and f"127.0.0.1:{port}" in line and "127.0.0.1:0 " not in line, line
