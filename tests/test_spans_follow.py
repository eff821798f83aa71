"""The spans list (`x`) as new spans arrive, as htop and k9s do it: a cursor on the first row follows the newest
span, the view kept at the top; a cursor the user moved stays on its span."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from tundra_tui.model.spans import SpanBook
from tundra_tui.services.spanfeed import SpanFeed
from tundra_tui.traces import LLMSpan

from .test_ui_spans import _open_spans
from .ui_fixtures import live_session, make_app, refreshed
from .waits import settle

BASE = 1_795_796_355_000_000_000


def _trace(n: int) -> list[LLMSpan]:
    """Trace `t{n}`: a root and two children, started n seconds after BASE (so a larger n is newer)."""
    t, start = f"t{n}", BASE + n * 1_000_000_000
    return [LLMSpan(t, f"{t}-{i}", "" if i == 0 else f"{t}-0", f"step{i}", "llm", "app", "", "", "", start + i, 10,
                    "ok", "", "", None, None, "", "", "evp") for i in range(3)]


def _span_at(table: DataTable, row: int) -> str:
    """The trace and span ids of the listed row (its key: trace:span:index)."""
    key = table.coordinate_to_cell_key((row, 0)).row_key.value
    assert key is not None
    return key.rsplit(":", 1)[0]


def _in_view(table: DataTable) -> range:
    """The rows the table shows now."""
    top = round(table.scroll_y)
    return range(top, top + table.scrollable_content_region.height)


async def test_the_first_row_follows_the_newest_span_and_a_moved_cursor_keeps_its_span(tmp_path: Path) -> None:
    book = SpanBook()
    book.add_spans(_trace(0))
    session = live_session(tmp_path / "s.sock", feed=False)
    session.spans = SpanFeed(book)
    app = make_app(session)
    try:
        async with app.run_test(size=(60, 20)) as pilot:
            await _open_spans(app, pilot)
            table = app.screen.query_one(DataTable)
            assert table.cursor_row == 0 and _span_at(table, 0) == "t0:t0-0"
            for n in range(1, 8):  # more traces than the screen has rows for
                book.add_spans(_trace(n))
                await refreshed(app, pilot)
                assert table.row_count == 3 * (n + 1)
                assert table.cursor_row == 0 and _span_at(table, 0) == f"t{n}:t{n}-0", n  # on the newest
                assert table.scroll_y == 0 and 0 in _in_view(table), n  # the view kept at the top
            await pilot.press("down", "down", "down", "down")
            await pilot.pause()
            chosen = _span_at(table, 4)
            assert table.cursor_row == 4 and chosen == "t6:t6-1"
            for n in range(8, 12):
                book.add_spans(_trace(n))
                await refreshed(app, pilot)
                assert _span_at(table, table.cursor_row) == chosen, n  # the selection stays on its span
                assert table.cursor_row == 4 + 3 * (n - 7), n
                # DataTable scrolls to its cursor after the next refresh, not with the move
                await settle(lambda: table.cursor_row in _in_view(table), f"the cursor scrolled into view ({n})")
    finally:
        session.stop()
