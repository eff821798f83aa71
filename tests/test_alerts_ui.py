"""On screen: a firing alert in the status bar (alarm colour), its notification and bell; the budget gauge."""

from __future__ import annotations

from dataclasses import replace

from rich.cells import cell_len
from rich.color import Color
from rich.style import Style

from tundra_tui.model.alerts import AlertBook, parse_alerts
from tundra_tui.model.budget import BudgetBook, BudgetRule
from tundra_tui.model.snapshot import BudgetPart
from tundra_tui.model.watch import Watch
from tundra_tui.ui.alerting import NAME_CELLS, label
from tundra_tui.ui.budget_gauge import gauge, gauge_level
from tundra_tui.ui.widgets.pane import Pane
from tundra_tui.ui.widgets.statusbar import StatusBar

from .ui_fixtures import make_app, pane_lines, replay_session, toasts


async def test_firing_alert_shows_in_status_bar_and_notifies() -> None:
    session = replay_session()
    rules = [{"name": "busy", "metric": "requests_per_s", "above": 0.001, "window_s": 600, "bell": True},
             {"name": "never", "metric": "error_rate", "above": 2.0, "window_s": 60}]
    session.engine.watch = Watch(AlertBook(parse_alerts(rules, 600), session.engine.llm))
    app = make_app(session)
    rang: list[bool] = []
    app.bell = lambda: rang.append(True)  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            app.tick()
            await app.workers.wait_for_complete()
            await pilot.pause()
            bar = app.query_one(StatusBar)
            text = bar.render()
            assert "▲ busy" in str(text) and "never" not in str(text)
            alarm = bar.c("alarm")
            styled = [Style.parse(str(sp.style)) for sp in text.spans if str(text)[sp.start:sp.end].startswith("▲")]
            assert styled and styled[0].color is not None
            assert styled[0].color.get_truecolor() == Color.parse(alarm).get_truecolor()
            assert any(t.startswith("alert busy firing") for t in toasts(app))
            assert rang == [True]
            app.tick()  # a later frame with the same firing: no second notification
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert sum(t.startswith("alert busy") for t in toasts(app)) == 1 and rang == [True]
    finally:
        session.stop()


def test_budget_gauge_levels_and_unknown_spend() -> None:
    colours = {"ok": "green", "warn": "yellow", "alarm": "red", "stale": "grey50"}
    part = BudgetPart(10.0, "hour", 2.0, 7.0, 7.9, None, ())
    assert gauge_level(part) == "ok"
    assert gauge_level(replace(part, projected_usd=8.0)) == "warn"  # 80% of the limit, projected
    assert gauge_level(replace(part, projected_usd=10.0)) == "alarm"
    line = gauge(replace(part, projected_usd=8.0), 60, colours)
    assert line.plain.startswith("budget $2.00/$10.0/h → $8.00 ▕") and line.cell_len <= 60
    assert str(line.style) == "yellow"
    nothing_priced = BudgetPart(10.0, "day", None, None, None, None, ("m",))
    unknown = gauge(nothing_priced, 60, colours)
    assert "?" in unknown.plain and "$0" not in unknown.plain and gauge_level(nothing_priced) == "stale"
    partial = gauge(replace(part, unpriced=("m",)), 60, colours)
    assert "$2.00+?" in partial.plain


async def test_budget_gauge_in_the_tokens_pane() -> None:
    session = replay_session()
    session.engine.watch = Watch(budget=BudgetBook(BudgetRule(0.0001, "day")))
    app = make_app(session)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            app.tick()
            await app.workers.wait_for_complete()
            await pilot.pause()
            lines = [line for line in pane_lines(app.query_one("#pane-2", Pane)) if line.strip()]
            budget_line = lines[-1].strip()
            assert budget_line.startswith("budget "), lines
            b = session.dashboard().budget
            assert b is not None and b.spent_usd is not None and b.spent_usd > b.limit_usd
            assert gauge_level(b) == "alarm"
    finally:
        session.stop()


def test_an_alert_label_is_cut_in_cells() -> None:
    """A group named by a tag in CJK takes two cells a character: cut to NAME_CELLS cells, with its ellipsis."""
    cut = label("errors", "モデル" * 20)
    assert cell_len(cut) <= NAME_CELLS and cut.startswith("errors モデル") and cut.endswith("…")
    assert label("errors", "gpt-4o") == "errors gpt-4o"
