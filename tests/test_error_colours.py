"""Error-rate colours come from documented defaults (warn from 2%, alarm above 10%) that the user's
error_rate alerts override: alarm above the alert's threshold."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.style import Style

from tundra_tui.config import Config, load_config
from tundra_tui.model.alerts import ERROR_ALARM, ERROR_WARN, error_levels, parse_alerts
from tundra_tui.ui.app import TundraApp
from tundra_tui.ui.widgets.pane import Pane

from .ui_fixtures import FROZEN


def test_levels_default_and_from_alerts() -> None:
    assert error_levels(()) == (ERROR_WARN, ERROR_ALARM) == (0.02, 0.10)
    rules = parse_alerts([{"name": "a", "metric": "error_rate", "above": 0.2},
                          {"name": "b", "metric": "error_rate", "above": 0.05, "group_by": "model"},
                          {"name": "c", "metric": "p95_ms", "above": 0.01},
                          {"name": "d", "metric": "error_rate", "below": 0.001}], 600)
    assert error_levels(rules) == (0.02, 0.05)  # the lowest `above` of the error_rate rules
    assert error_levels(parse_alerts([{"name": "a", "metric": "error_rate", "above": 0.01}], 600)) == (0.01, 0.01)


def cell_colour(pane: Pane, key: str) -> object:
    """The colour of the err% figure on the row of `key` (its last cell ending in %)."""
    for y in range(pane.size.height):
        strip = list(pane.render_line(y))
        if key in "".join(seg.text for seg in strip):
            return next(seg.style.color for seg in reversed(strip) if seg.text.strip().endswith("%") and seg.style)
    raise AssertionError(f"{key} not drawn")


@pytest.mark.parametrize(("alerts", "level"), [("", "warn"), ("[[alerts]]\nname = \"errors\"\n"
                                                             "metric = \"error_rate\"\nabove = 0.05\n", "alarm")])
async def test_an_error_rate_alert_moves_the_alarm_colour(played, tmp_path: Path, alerts: str, level: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(alerts)
    cfg = load_config(path) if alerts else Config()
    rows = played.frame().grouping.rows
    row = next(r for r in rows if 0.05 < r.error_rate <= 0.10)  # warn by default, alarm past a 5% alert
    app = TundraApp(played, cfg, refresh=10.0, clock=lambda: FROZEN)
    async with app.run_test(size=(80, 24)) as pilot:
        app.tick()
        await app.workers.wait_for_complete()
        await pilot.pause()
        pane = app.query_one("#pane-4", Pane)
        assert cell_colour(pane, row.key) == Style.parse(pane.c(level)).color
