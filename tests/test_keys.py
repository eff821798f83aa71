"""`[keys]` remaps bindings by id through Textual's keymap; `?` lists the keys in force."""

from __future__ import annotations

from pathlib import Path

import pytest

from tundra_tui.config import ConfigError, load_config
from tundra_tui.ui.app import TundraApp
from tundra_tui.ui.screens.help import HelpScreen

from .conftest import run_cli
from .ui_fixtures import FROZEN


async def test_remapped_key_runs_its_action_and_help_shows_it(played, tmp_path: Path) -> None:
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text('[keys]\ngroup = "G"\nsort = "o,ctrl+o"\n')
    cfg = load_config(cfg_file)
    app = TundraApp(played, cfg, refresh=10.0, clock=lambda: FROZEN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("g")  # its old key does nothing now
        assert app.group == "model"
        await pilot.press("G")
        assert app.group == "provider"
        await pilot.press("s")
        assert app.sort == "requests"
        await pilot.press("o")
        after_o = app.sort
        await pilot.press("ctrl+o")
        assert after_o != "requests" and app.sort != after_o
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = dict((desc, keys) for keys, desc in app.screen.rows)
        group_keys = next(k for d, k in rows.items() if "group" in d.lower())
        sort_keys = next(k for d, k in rows.items() if "sort" in d.lower())
        assert group_keys == "G" and sort_keys.split() == ["o", "ctrl+o"], rows
        assert any(k == "q" for k in rows.values())  # bindings left alone keep their keys


def test_unknown_binding_id_is_one_clear_line(tmp_path: Path) -> None:
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text('[keys]\ngroupp = "G"\n')
    out = run_cli("replay", "--once", "--json", env={"TUNDRA_CONFIG": str(cfg_file)})
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "unknown binding id 'keys.groupp'" in out.stderr


@pytest.mark.parametrize("table", ['[keys]\ngroup = ""', "[keys]\ngroup = 1", 'keys = "g"'])
def test_bad_keys_table_is_refused(tmp_path: Path, table: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(table)
    with pytest.raises(ConfigError, match="keys"):
        load_config(path)


async def test_pane_and_detail_bindings_remap_too(played, tmp_path: Path) -> None:
    """Row selection and the detail screen's keys are bindings with ids like the rest: `[keys]` moves them,
    and `?` (on the detail screen too) shows the keys in force."""
    from tundra_tui.ui.screens.detail import DetailScreen
    from tundra_tui.ui.widgets.pane import Pane

    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text('[keys]\nrow-down = "n"\nrow-open = "o"\n"detail.zoom-in" = "i"\n"detail.back" = "b"\n')
    app = TundraApp(played, load_config(cfg_file), refresh=10.0, clock=lambda: FROZEN)
    async with app.run_test(size=(80, 24)) as pilot:
        app.tick()
        await app.workers.wait_for_complete()
        await pilot.press("5")  # Latency, maximised and focused
        pane = app.query_one("#pane-5", Pane)
        await pilot.press("escape", "j")
        assert pane.has_focus and pane.selected == 0  # j no longer moves it
        await pilot.press("n")
        assert pane.selected == 1
        await pilot.press("enter")
        assert not isinstance(app.screen, DetailScreen)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        detail = app.screen
        before = detail.span_s
        await pilot.press("i")
        assert detail.span_s < before
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        rows = {desc: keys for keys, desc in app.screen.rows}
        assert rows["Zoom in"] == "i" and rows["Back"] == "b"
        assert rows["Select the next row"] == "n" and rows["Open the selected row (esc returns)"] == "o"
        await pilot.press("escape")
        await pilot.press("b")
        await pilot.pause()
        assert not isinstance(app.screen, DetailScreen)
