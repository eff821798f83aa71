"""Input on the dashboard: every pane's rows select (click, arrows, j/k, wheel) and open in detail with Enter
(the key drawn on the selected line, following the grouping; Profiles open a profile); a click on the replay
timeline seeks there."""

from __future__ import annotations

import pytest
from textual import events

from tundra_tui.ui.screens.detail import DetailScreen
from tundra_tui.ui.widgets.pane import Pane
from tundra_tui.ui.widgets.timeline import Timeline

from .ui_fixtures import make_app, pane_lines, refreshed, replay_session


def reversed_lines(pane: Pane) -> list[int]:
    """Lines drawn with the selection's reverse style."""
    return [y for y in range(pane.size.height)
            if any(seg.style is not None and seg.style.reverse for seg in pane.render_line(y))]


def wheel(app, pane: Pane, down: bool) -> None:  # type: ignore[no-untyped-def]
    """A mouse wheel notch over the pane, as the terminal driver posts it to the app."""
    x, y = pane.region.x + 3, pane.region.y + 2
    cls = events.MouseScrollDown if down else events.MouseScrollUp
    app.post_message(cls(None, x, y, 0, 1 if down else -1, 0, False, False, False, screen_x=x, screen_y=y))


async def test_rows_select_and_open_in_every_pane(played, subtests: pytest.Subtests) -> None:
    """One screen, the panes in turn (each a subtest named by its pane): what a pane's keys do must not
    depend on a fresh screen, and one boot serves all five."""
    app = make_app(played)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("g")  # by provider: Profiles still open profiles
        await refreshed(app, pilot)
        for n in (1, 2, 3, 4, 5):
            with subtests.test(pane=n):
                await _select_and_open(app, pilot, n)


async def _select_and_open(app, pilot, n: int) -> None:  # type: ignore[no-untyped-def]
    """Click pane n's first row, step with j/k/down, open the row in detail and come back."""
    pane = app.query_one(f"#pane-{n}", Pane)
    assert pane.ROW_TOP is not None
    await pilot.click(f"#pane-{n}", offset=(4, 1 + pane.ROW_TOP))  # border, then the first row
    assert pane.has_focus and pane.selected == 0
    assert reversed_lines(pane) == [pane.ROW_TOP]
    await pilot.press("j")
    assert pane.selected == 1 and reversed_lines(pane) == [pane.ROW_TOP + 1]
    await pilot.press("k", "down")
    assert pane.selected == 1
    group, key = pane.selected_key() or ("", "")
    assert group == ("profile" if n == 1 else "provider")
    assert key in pane_lines(pane)[pane.ROW_TOP + 1]  # the key opened is the one drawn on the line
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, DetailScreen) and (app.screen.group, app.screen.key) == (group, key)
    await refreshed(app, pilot)
    assert app.screen.row is not None and app.screen.row.key == key  # its grouping's frame, whatever `g` says
    await pilot.press("escape")
    await pilot.pause()
    assert not isinstance(app.screen, DetailScreen) and app.group == "provider"
    await refreshed(app, pilot)
    assert pane.selected_key() == (group, key)  # the selection stays on its key


async def test_wheel_moves_the_selection_and_scrolls_the_list(played) -> None:
    app = make_app(played)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(app, pilot)
        pane = app.query_one("#pane-5", Pane)  # Latency: more models than lines at 80x24
        rows = played.frame("model", "requests").grouping.rows
        room = pane.content_size.height - 1
        assert len(rows) > room
        await pilot.click("#pane-5", offset=(4, 2))
        for _ in range(len(rows) + 2):  # past the last row: it stops there
            wheel(app, pane, down=True)
            await pilot.pause()
        assert pane.selected == len(rows) - 1 and pane.top == len(rows) - room  # scrolled to the end
        assert rows[-1].key[:8] in pane_lines(pane)[room]
        assert reversed_lines(pane) == [room]
        for _ in range(len(rows)):
            wheel(app, pane, down=False)
            await pilot.pause()
        assert pane.selected == 0 and pane.top == 0
        assert rows[0].key[:8] in pane_lines(pane)[1]


async def test_click_on_the_timeline_seeks_there() -> None:
    played = replay_session(speed=1.0)
    try:
        rp, ctl = played.replay, played.replay_control
        assert rp is not None and ctl is not None
        rp.set_paused(True)
        ctl.jump("end")
        assert ctl.settle(30) and rp.indexed  # the whole capture indexed: the bar spans all of it
        app = make_app(played)
        async with app.run_test(size=(100, 30)) as pilot:
            await refreshed(app, pilot)
            bar = app.query_one(Timeline)
            start, end, width = bar._bar or (0.0, 0.0, 0)
            assert width >= 10
            for col in (width // 4, 2, width - 3, width // 2):
                await pilot.click("#timeline", offset=(1 + 1 + col, 0))  # padding, the bar's left mark, column
                assert ctl.settle(10)
                at = rp.position_ns / 1e9
                assert start + col / width * (end - start) <= at <= start + (col + 1) / width * (end - start)
                await refreshed(app, pilot)
                assert str(bar.render()).index("●") == 1 + col  # the head is drawn where the click was
                frame = played.frame()
                assert frame.dashboard.as_of == pytest.approx(at, abs=1)  # the panes follow the head
    finally:
        played.stop()


async def test_events_select_and_open_the_key_they_are_tagged_with(played) -> None:
    from .ui_fixtures import toasts

    app = make_app(played)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await refreshed(app, pilot)
        pane = app.query_one("#pane-6", Pane)
        events = played.frame().dashboard.events
        room = pane.content_size.height
        assert len(events) > room  # the view shows the newest, at the bottom
        assert pane.selected == len(events) - 1 and pane.top == len(events) - room
        await pilot.click("#pane-6", offset=(4, 1 + room - 1))  # the newest event's line
        assert pane.has_focus and reversed_lines(pane) == [room - 1]
        await pilot.press("k")
        newest_but_one = events[-2]
        model = next(t.split(":", 1)[1] for t in newest_but_one.tags if t.startswith("model:"))
        assert pane.selected_key() == ("model", model)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen) and (app.screen.group, app.screen.key) == ("model", model)
        await pilot.press("escape")
        await pilot.press("g", "g", "g")  # by profile: request events carry no profile tag
        await refreshed(app, pilot)
        assert app.group == "profile"
        pane.focus()
        await pilot.pause()
        assert pane.selected_key() == ("profile", "")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, DetailScreen)
        shown = events[pane.selected]
        assert any(shown.text[:30] in note for note in toasts(app))  # the event, whole, in a notification


async def test_drawing_a_pane_changes_no_selection(played) -> None:
    """view() picks the rows and moves the selection; render_part() only draws them: given a selection view
    never made (past the rows, scrolled off), drawing leaves it, the keys and the rows in view as they were."""
    app = make_app(played)
    async with app.run_test(size=(80, 24)) as pilot:
        await refreshed(app, pilot)
        for n in (1, 2, 3, 4, 5, 6):
            pane = app.query_one(f"#pane-{n}", Pane)
            assert pane._part is not None
            rows = pane.view(pane._part)
            pane.selected, pane.top, pane._chosen = 99, 7, ("nowhere", "none")
            before = (pane.selected, pane.top, pane._chosen, list(pane._keys), pane._in_view)
            pane.render_part(pane._part, rows)
            assert (pane.selected, pane.top, pane._chosen, pane._keys, pane._in_view) == before, n
