"""Drill-down: select a pane's row (click, arrows, j/k), Enter opens its detail screen, Esc returns."""

from __future__ import annotations

import re

from tundra_tui.ui.screens.detail import DetailScreen
from tundra_tui.ui.widgets.lines import LinesView
from tundra_tui.ui.widgets.pane import Pane

from .ui_fixtures import make_app, pane_lines, refreshed


def screen_text(screen: DetailScreen) -> str:
    """The detail screen's three blocks as the user reads them."""
    return "\n".join(screen.query_one(f"#detail-{b}", LinesView).text.plain for b in ("figures", "charts", "more"))


async def open_model_detail(app, pilot) -> DetailScreen:  # type: ignore[no-untyped-def]
    """The Models pane's first row opened in detail, its frame drawn."""
    await refreshed(app, pilot)
    app.query_one("#pane-2", Pane).focus()
    await pilot.press("enter")
    await refreshed(app, pilot)
    screen = app.screen
    assert isinstance(screen, DetailScreen)
    return screen


def reversed_lines(pane: Pane) -> list[int]:
    """Lines drawn with the selection's reverse style."""
    return [y for y in range(pane.size.height)
            if any(seg.style is not None and seg.style.reverse for seg in pane.render_line(y))]


async def test_select_enter_and_escape(played) -> None:
    app = make_app(played)
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
        body = screen_text(app.screen)
        assert app.screen.row is not None and app.screen.row.key == rows[1].key
        assert "requests" in body and "p50 / p95 / p99" in body
        part = app.screen.part
        assert part is not None and (part.group, part.key) == ("model", rows[1].key)
        for name, n in part.error_types:  # a count per error_type, from the key's own errors
            assert f"{name} {n:.0f}" in body
        assert sum(n for _, n in part.error_types) + part.untyped_errors == rows[1].errors
        assert "served by" in body and all(name in body for name, _ in part.profiles)
        assert "spans (trace port, a separate source)" in body
        assert "requests/s" in body and "errors/s" in body and "p95 latency" in body
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DetailScreen)
        assert [line for line in pane_lines(pane) if line.strip()]


async def test_detail_follows_the_grouping(played) -> None:
    app = make_app(played)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("g")  # by provider
        await refreshed(app, pilot)
        pane = app.query_one("#pane-5", Pane)
        pane.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and app.screen.group == "provider"
        first = app.session.frame("provider", app.sort).grouping.rows[0].key
        assert app.screen.key == first


async def test_zoom_steps_the_span_capped_by_window_s(played) -> None:
    app = make_app(played)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_model_detail(app, pilot)
        assert screen.span_s == 300
        window = app.session.dashboard().window_s
        await pilot.press("z")
        assert screen.span_s == 60
        await pilot.press("z")
        assert screen.span_s == 60  # 1m is the shortest
        await pilot.press("Z", "Z", "Z")
        assert screen.span_s == max(s for s in (60, 300, 900, 3600) if s <= window)  # capped by window_s
        await refreshed(app, pilot)
        assert screen.part is not None and screen.part.span_s == screen.span_s
        chart = screen.query_one("#detail-charts", LinesView).text.plain
        assert f"span {screen.span_s // 60}m" in chart
        assert re.search(r"\d\d:\d\d:\d\d" if screen.span_s < 900 else r"(?<![:\d])\d\d:\d\d(?![:\d])", chart)
        await pilot.press("z", "z", "z")
        await refreshed(app, pilot)
        assert screen.span_s == 60 and screen.part is not None and screen.part.bucket_s == 1
        chart = screen.query_one("#detail-charts", LinesView).text.plain
        assert "span 1m" in chart and re.search(r"\d\d:\d\d:\d\d", chart)  # under 15m, HH:MM:SS
        assert re.search(r"\d+/s┤", chart) and re.search(r"\d+(ms|\.\ds|s)┤", chart)  # y-axes with units


async def test_detail_charts_draw_in_the_themes(played) -> None:
    app = make_app(played)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_model_detail(app, pilot)
        assert screen._frame is not None
        drawn = set()
        themes = [t for t in app.available_themes if t.startswith("tundra-")] + ["ansi-dark", "nord"]
        for name in themes:  # the bundled ones, and built-ins with ANSI names and with hex
            app.theme = name
            await pilot.pause()
            screen.show(screen._frame)
            chart = screen.query_one("#detail-charts", LinesView).text
            assert "requests/s" in chart.plain and "/s┤" in chart.plain, name
            drawn.add(tuple(str(s.style) for s in chart.spans))
        assert len(drawn) > 1  # the series take each theme's own colours
