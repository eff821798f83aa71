"""Drill-down: select a pane's row (click, arrows, j/k), Enter opens its detail screen, Esc returns."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static

from tundra_tui.ui.screens.detail import DetailScreen
from tundra_tui.ui.widgets.pane import Pane

from .ui_fixtures import make_app, pane_lines, replay_session


async def refreshed(app, pilot) -> None:  # type: ignore[no-untyped-def]
    app.tick()
    await app.workers.wait_for_complete()
    await pilot.pause()


def reversed_lines(pane: Pane) -> list[int]:
    """Lines drawn with the selection's reverse style."""
    return [y for y in range(pane.size.height)
            if any(seg.style is not None and seg.style.reverse for seg in pane.render_line(y))]


async def test_select_enter_and_escape() -> None:
    session = replay_session()
    app = make_app(session)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await refreshed(app, pilot)
            pane = app.query_one("#pane-2", Pane)
            assert pane.ROW_TOP is not None
            rows = app.session.frame(app.group, app.sort).grouping.rows
            assert len(rows) >= 3
            assert reversed_lines(pane) == []  # no selection drawn before the pane has focus
            await pilot.click("#pane-2", offset=(4, 1 + pane.ROW_TOP + 1))  # border, header, then row 1
            assert pane.has_focus and pane.selected == 1
            assert reversed_lines(pane) == [pane.ROW_TOP + 1]
            await pilot.press("j", "down")
            assert pane.selected == 3 or pane.selected == len(rows) - 1
            await pilot.press("k", "up", "up")
            assert pane.selected == 0
            await pilot.press("down")
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, DetailScreen)
            assert (app.screen.group, app.screen.key) == ("model", rows[1].key)
            await refreshed(app, pilot)
            console = Console(width=100, record=True, file=io.StringIO())
            console.print(app.screen.query_one("#detail-body", Static).content)
            body = console.export_text()
            assert app.screen.row is not None and app.screen.row.key == rows[1].key
            assert "requests" in body and "p50 / p95 / p99" in body
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, DetailScreen)
            assert [line for line in pane_lines(pane) if line.strip()]
    finally:
        session.stop()


async def test_detail_follows_the_grouping() -> None:
    session = replay_session()
    app = make_app(session)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("g")  # by provider
            await refreshed(app, pilot)
            pane = app.query_one("#pane-5", Pane)
            pane.focus()
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, DetailScreen) and app.screen.group == "provider"
            first = app.session.frame("provider", app.sort).grouping.rows[0].key
            assert app.screen.key == first
    finally:
        session.stop()


async def test_zoom_steps_the_span_capped_by_window_s() -> None:
    session = replay_session()
    app = make_app(session)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await refreshed(app, pilot)
            app.query_one("#pane-2", Pane).focus()
            await pilot.press("enter")
            await refreshed(app, pilot)
            screen = app.screen
            assert isinstance(screen, DetailScreen) and screen.span_s == 300
            window = app.session.dashboard().window_s
            await pilot.press("z")
            assert screen.span_s == 60
            await pilot.press("z")
            assert screen.span_s == 60  # 1m is the shortest
            await pilot.press("Z", "Z", "Z")
            assert screen.span_s == max(s for s in (60, 300, 900, 3600) if s <= window)  # capped by window_s
            assert screen.row is not None
            chart = screen.charts(screen.row, app.session.dashboard().as_of, 100).plain
            assert "req/s" in chart and "max" in chart and f"span {screen.span_s // 60}m" in chart
    finally:
        session.stop()
