"""`[keys]` remaps bindings by id through Textual's keymap; `?` lists the keys in force."""

from __future__ import annotations

from pathlib import Path

import pytest

from tundra_tui.config import ConfigError, load_config
from tundra_tui.ui.app import TundraApp
from tundra_tui.ui.screens.help import HelpScreen

from .conftest import run_cli
from .ui_fixtures import FROZEN, replay_session


async def test_remapped_key_runs_its_action_and_help_shows_it(tmp_path: Path) -> None:
    cfg_file = tmp_path / "config.toml"
    cfg_file.write_text('[keys]\ngroup = "G"\nsort = "o,ctrl+o"\n')
    cfg = load_config(cfg_file)
    session = replay_session()
    app = TundraApp(session, cfg, refresh=10.0, clock=lambda: FROZEN)
    try:
        async with app.run_test(size=(100, 40)) as pilot:
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
    finally:
        session.stop()


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
