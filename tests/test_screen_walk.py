"""What a new user reads at 80x24 and 60x20 is true: panes whose rows are cut say how many are hidden,
tables say how many columns they left out, the key bar drops whole keys (`?` lists them all), names in
Throughput are whole while its sparklines can give way, and each span shown is named."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tundra_tui.ui.app import TundraApp
from tundra_tui.ui.screens.help import MARKS, HelpScreen
from tundra_tui.ui.widgets.keybar import KeyBar, fit_keys
from tundra_tui.ui.widgets.pane import Pane
from tundra_tui.ui.widgets.throughput import SPARK_MIN

from .ui_fixtures import make_app, module_tap, pane_lines
from .waits import settle

MORE = re.compile(r"\+(\d+) more$")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    """One tap for these screens: they only read it (keys change the app, never the session)."""
    yield from module_tap(tmp_path_factory, "walk")


async def _drawn(app: TundraApp, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
    app.tick()
    await app.workers.wait_for_complete()
    await pilot.pause()
    await settle(lambda: app.query_one("#pane-4", Pane)._part is not None, "the first frame drawn")


def _hidden(pane: Pane) -> int:
    found = MORE.search(str(pane.border_title))
    return int(found.group(1)) if found else 0


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_every_pane_with_cut_rows_says_how_many_are_hidden(live, size: tuple[int, int]) -> None:
    app = make_app(live)
    async with app.run_test(size=size) as pilot:
        await _drawn(app, pilot)
        frame = live.frame("model", "requests")
        rows = len(frame.grouping.rows)
        errors = app.query_one("#pane-4", Pane)
        drawn = [line for line in pane_lines(errors)[1:] if any(line.startswith(r.key[:6]) for r in
                                                                    frame.grouping.rows)]
        assert 0 < len(drawn) < rows  # the sample's 5 models do not fit the Errors pane at this size
        assert _hidden(errors) == rows - len(drawn), (errors.border_title, drawn)
        for n in range(1, 7):
            pane = app.query_one(f"#pane-{n}", Pane)
            assert _hidden(pane) == len(pane._keys) - pane._in_view, (n, pane.border_title)
            assert pane._in_view <= pane.content_size.height
        await pilot.press("3")  # maximised: charts of every row, nothing hidden
        await settle(lambda: app.query_one("#pane-3", Pane).border_title == "3 Throughput", "the chart form's title")


async def test_tokens_header_says_how_many_columns_are_left_out_at_60x20(live) -> None:
    app = make_app(live)
    async with app.run_test(size=(60, 20)) as pilot:
        await _drawn(app, pilot)
        tokens = pane_lines(app.query_one("#pane-2", Pane))
        header = tokens[0].split()
        shown = [h for h in ("in", "out", "$", "$/min") if h in header]
        assert len(shown) < 4  # too narrow for all four figures whole
        assert f"+{4 - len(shown)}" in header, tokens[0]


async def test_key_bar_drops_whole_keys_and_help_lists_them_all(live) -> None:
    app = make_app(live)
    async with app.run_test(size=(60, 20)) as pilot:
        await _drawn(app, pilot)
        bar = app.query_one(KeyBar)
        text = bar.render().plain
        every = {f"{k} {label}" for k, label, _a, _p in bar.items()}
        shown = [item for item in text.split("  ") if item]
        assert shown and all(item in every for item in shown), shown  # whole items, never "r Recor"
        assert "? Help" in shown and len(shown) < len(every)  # narrow: some dropped, never the help
        assert len(text) <= bar.content_size.width
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        listed = {desc for _k, desc in app.screen.rows}
        dropped = [item.split(" ", 1)[1] for item in every - set(shown)]
        for label in dropped:  # every key the bar left out is in `?`
            assert any(label.lower() in d.lower() or d.lower().startswith(label.lower()[:4]) for d in listed), label


@given(st.lists(st.tuples(st.text("abc?/", min_size=1, max_size=3), st.text("Abc", min_size=1, max_size=8),
                          st.integers(0, 10)), max_size=10), st.integers(0, 100))
def test_fit_keys_keeps_whole_items_in_order_by_priority(items: list[tuple[str, str, int]], width: int) -> None:
    kept = fit_keys(items, width)
    assert sum(len(k) + 1 + len(label) for k, label in kept) + 2 * max(len(kept) - 1, 0) <= width
    pairs = [(k, label) for k, label, _ in items]
    it = iter(pairs)
    assert all(k in it for k in kept)  # in order, whole
    dropped = [p for (k, label, p) in items if (k, label) not in kept]
    if kept and dropped:
        assert max(dropped) <= max(p for k, label, p in items if (k, label) in kept)


async def test_throughput_names_whole_while_the_sparkline_can_give_way(live) -> None:
    app = make_app(live)
    async with app.run_test(size=(80, 24)) as pilot:
        await _drawn(app, pilot)
        pane = app.query_one("#pane-3", Pane)
        lines = pane_lines(pane)
        keys = [r.key for r in live.frame("model", "requests").grouping.rows]
        rows = lines[3:3 + pane._in_view]
        assert rows and all(any(line.startswith(k + " ") for k in keys) for line in rows), rows  # not "llama-3…"
        longest = max(len(line.split()[0]) for line in rows)
        sparkline = len(rows[0]) - longest - 1 - len(rows[0].split()[-1]) - 1
        assert sparkline >= SPARK_MIN - 1


async def test_headers_name_each_span(live) -> None:
    app = make_app(live)
    async with app.run_test(size=(80, 24)) as pilot:
        await _drawn(app, pilot)
        dash = live.frame("model", "requests").dashboard
        head = pane_lines(app.query_one("#pane-3", Pane))[0]
        assert f"last {dash.window_s // 60}m" in head and f"{dash.rate_window_s}s avg" in head
        for n in (4, 5):  # counts and percentiles: since start
            assert str(app.query_one(f"#pane-{n}", Pane).border_subtitle).endswith("since start")
        tokens = "\n".join(pane_lines(app.query_one("#pane-2", Pane)))
        assert "since " in tokens  # what the totals cover
    explained = " ".join(f"{mark} {what}" for mark, what in MARKS)
    for mark in ("+3 more", "+2 cols", "since start", "10s avg", "last 10m", "✖ ▲ ✔", "┄", "share", "in  out"):
        assert mark in explained, mark


@pytest.mark.parametrize("system", ["truecolor", "256", "16"])
def test_key_bar_is_readable_in_every_bundled_theme(system: str) -> None:
    """The key bar's keys and labels on its ground, WCAG AA (4.5:1) like the rest of the text."""
    from .test_theme_contrast import SYSTEMS, THEMES, _rgb, _variables, contrast

    short = []
    for name, theme in sorted(THEMES.items()):
        v = _variables(name)
        ground = v.get("footer-background", "transparent")
        ground = v["background"] if ground == "transparent" else ground
        for fg in ("footer-key-foreground", "footer-description-foreground"):
            ratio = contrast(_rgb(v[fg], SYSTEMS[system], "fg", theme.dark), _rgb(ground, SYSTEMS[system], "bg",
                                                                                  theme.dark))
            if ratio < 4.5:
                short.append(f"{name}: {fg} {v[fg]} on {ground}: {ratio:.2f}")
    assert short == []


async def test_a_maximised_pane_says_its_charts_cover_all_rows(live) -> None:
    app = make_app(live)
    async with app.run_test(size=(80, 24)) as pilot:
        await _drawn(app, pilot)
        pane = app.query_one("#pane-3", Pane)
        assert str(pane.border_subtitle) == "by model ↓requests"
        await _drawn(app, pilot, "3")
        assert pane.border_subtitle == "all rows together" and pane.border_title == "3 Throughput"
        await _drawn(app, pilot, "s")  # a sort does not bring the grouping's subtitle back over the charts
        assert pane.border_subtitle == "all rows together"
        await _drawn(app, pilot, "escape")
        assert app.maximized is None and not pane.chart_form  # esc restored it, rows and all
        await settle(lambda: str(pane.border_subtitle) == "by model ↓errors", "the rows' subtitle back")


async def test_detail_screen_names_the_span_of_its_figures(live) -> None:
    from tundra_tui.ui.screens.detail import DetailScreen

    app = make_app(live)
    async with app.run_test(size=(80, 24)) as pilot:
        await _drawn(app, pilot)
        pane = app.query_one("#pane-2", Pane)
        pane.focus()
        await pilot.press("enter")
        await settle(lambda: isinstance(app.screen, DetailScreen) and app.screen.part is not None, "the detail")
        await pilot.pause()
        figures = "\n".join(pane_lines(app.screen.query_one("#detail-figures")))
        assert "req/s now" not in figures
        assert "counts, cost, p50-p99: since " in figures and "req/s, tok/s, $/min: last 10s avg" in figures


async def test_an_unfocused_pane_shows_the_sorts_first_rows_after_a_reorder(live) -> None:
    """The selection (first row by requests: llama, n/a) used to drag the Tokens view down to it under
    ↓cost, hiding the costliest models above it."""
    app = make_app(live)
    async with app.run_test(size=(80, 24)) as pilot:
        await _drawn(app, pilot)
        pane = app.query_one("#pane-2", Pane)
        assert not pane.has_focus
        await _drawn(app, pilot, "s", "s")
        assert app.sort == "cost"
        await settle(lambda: str(pane.border_subtitle).startswith("by model ↓cost"), "the cost-sorted frame")
        first = live.frame("model", "cost").grouping.rows[0].key
        assert pane.top == 0 and pane_lines(pane)[1].startswith(first[:6]), pane_lines(pane)


async def test_detail_charts_fit_beside_the_scrollbar_at_80x24(live) -> None:
    """The charts were drawn for the width before the scrollbar came and stayed one column too wide (their
    right edge cut) until the next bucket closed: the 80x24 detail snapshot changed with the timing."""
    from tundra_tui.ui.screens.detail import DetailScreen

    app = make_app(live)
    async with app.run_test(size=(80, 24)) as pilot:
        await _drawn(app, pilot)
        app.query_one("#pane-2", Pane).focus()
        await pilot.press("enter")
        await settle(lambda: isinstance(app.screen, DetailScreen) and app.screen.part is not None, "the detail")
        view = app.screen.query_one("#detail-charts")
        # the charts come with a frame built on a worker thread: as late as the machine is loaded
        await settle(lambda: view.text.plain.count("┐") >= 2, "the charts drawn")
        # then the scrollbar they bring resizes the view: redrawn at once, not a bucket (and a frame) later
        await settle(lambda: all(line.cell_len <= view.size.width for line in view._lines), "charts within the view",
                     timeout=5)
        assert app.screen.query_one("VerticalScroll").show_vertical_scrollbar  # beside a scrollbar
