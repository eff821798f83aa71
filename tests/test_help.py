"""`?` labels every key (`,` included) and explains every mark and abbreviation the screen draws."""

from __future__ import annotations

import inspect

from tundra_tui.ui.screens import help as help_screen
from tundra_tui.ui.screens.help import MARKS, HelpScreen
from tundra_tui.ui.widgets import profiles, statusbar, throughput, timeline

from .ui_fixtures import make_app


async def test_every_key_row_has_a_label_in_a_replay(played) -> None:
    app = make_app(played)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        keys = [k for k, _ in app.screen.rows]
        assert all(k.strip() for k in keys), keys
        assert {",", ".", "[", "]", "p space"} <= set(keys)


def test_marks_drawn_by_widgets_are_explained() -> None:
    explained = " ".join(f"{mark} {what}" for mark, what in MARKS)
    drawn = {
        timeline: ["●", "━", "─", "╍", "!", "▶"],
        profiles: ["▶", "bootstrap"],
        statusbar: ["dg/s", "err", "drop", "passive", "agent drop", "redacted", "REC", "PAUSED"],
        throughput: ["req/s", "tok/s"],
    }
    for module, marks in drawn.items():
        source = inspect.getsource(module)
        for mark in marks:
            assert mark in source, (module.__name__, mark)  # still drawn: keep this list honest
            assert mark in explained, mark
    for abbreviation in ("$/min", "n/a", "p95", "unknown", "(other)"):
        assert abbreviation in explained
    assert help_screen.__doc__
