"""What the screen says is true at a glance: figures whole at every size and grouping, current rates,
stale data shown as stale, errors first, sort direction, and a notice when the terminal is too small."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tundra_tui.config import Config
from tundra_tui.model import Engine
from tundra_tui.model.engine import Mode
from tundra_tui.session import Session
from tundra_tui.sources import Address, Tap
from tundra_tui.ui.app import TundraApp
from tundra_tui.ui.fmt import ms, usd
from tundra_tui.ui.widgets.pane import Pane
from tundra_tui.ui.widgets.statusbar import StatusBar
from tundra_tui.ui.widgets.too_small import TooSmall

from .ui_fixtures import END_NS, SAMPLE_PACKETS, make_app, pane_lines, refreshed
from .waits import settle

CLOCK = re.compile(r"\d\d:\d\d:\d\d ")
SIZES = [(80, 24), (60, 20), (200, 50)]
GROUPS = ["model", "provider", "agent", "profile"]


def _fed(clock_ns: int) -> Session:
    """A tap on `dsd.sock` in the current directory, fed the sample, its clock frozen at `clock_ns`."""
    session = Session(Tap([Address("unix", "dsd.sock", None)]), Engine(Mode.DASHBOARD), clock_ns=lambda: clock_ns)
    session.start()
    session.engine.feed([(m.timestamp, m.payload) for m in SAMPLE_PACKETS])
    return session


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory):
    """One tap for the screens that only read it (a test that changes the session starts its own)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp("live"))
        session = _fed(END_NS)
        yield session
        session.stop()


async def _drawn(app: TundraApp, pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
    await refreshed(app, pilot)


@pytest.mark.parametrize("size", SIZES)
async def test_figures_whole_in_every_grouping_and_size(live, size: tuple[int, int]) -> None:
    app = make_app(live)
    async with app.run_test(size=size) as pilot:  # one screen per size, `g` stepping through the groupings
        for i, group in enumerate(GROUPS):
            await _drawn(app, pilot, *["g"] * min(i, 1))
            assert app.group == group
            frame = live.frame(group, app.sort)
            for n in (2, 3, 4, 5):  # the table panes: header and rows never run past the pane
                pane = app.query_one(f"#pane-{n}", Pane)
                table = [line for line in pane._lines if " · " not in line.plain and not CLOCK.match(line.plain)]
                assert len(table) >= 2
                for line in table:  # notes and event text may be cut; a table line never is
                    assert line.cell_len <= pane.content_size.width, (group, n, line.plain)
            for n in (1, 2, 3):  # footers and headers that name spans drop whole items, never cut one
                pane = app.query_one(f"#pane-{n}", Pane)
                notes = [line.plain for line in pane._lines if " · " in line.plain or "available" in line.plain
                         or "last " in line.plain]
                for note in notes:
                    assert len(note) <= pane.content_size.width, (group, n, note)
                    assert not note.rstrip().endswith(("·", "…")), (group, n, note)
            latency = pane_lines(app.query_one("#pane-5", Pane))
            shown = [r for r in frame.grouping.rows if r.p95 is not None][:1]
            for r in shown:  # the most important latency figure is there, whole
                assert any(ms(r.p95) in line for line in latency), (group, ms(r.p95), latency)
            tokens = "\n".join(pane_lines(app.query_one("#pane-2", Pane)))
            t = frame.dashboard.totals
            assert f"{usd(t.cost_usd)}+" in tokens  # 4 of 5 models priced: a partial total, marked
            assert f"{t.cost_priced} priced of {t.cost_models}" in tokens or size[0] < 80
            if group == "agent" and size == (200, 50):
                _rows_are_one_per_key(app, live)


def _rows_are_one_per_key(app: TundraApp, live) -> None:
    """Grouped by agent: one row per agent (task_type folds: spec-agent once), each with tokens and a cost,
    and throughput has a row for each."""
    rows = live.frame("agent", "requests").grouping.rows
    assert len({r.key for r in rows}) == len(rows)
    assert all(r.input_tokens for r in rows) and all(r.cost_usd is not None for r in rows)
    lines = "\n".join(pane_lines(app.query_one("#pane-3", Pane)))
    assert all(r.key in lines for r in rows)


async def test_errors_pane_puts_errors_first_and_sorts_by_count(live) -> None:
    app = make_app(live)
    async with app.run_test(size=(80, 24)) as pilot:
        await _drawn(app, pilot, "s")
        assert app.sort == "errors"
        rows = live.frame("model", "errors").grouping.rows
        assert [r.errors for r in rows] == sorted((r.errors for r in rows), reverse=True)
        errors = app.query_one("#pane-4", Pane)
        assert str(errors.border_subtitle).startswith("by model ↓errors")
        first = pane_lines(errors)[1]  # under the header
        assert rows[0].key[:8] in first
        for _ in range(4):
            await pilot.press("s")
        assert app.sort == "name"  # the key is handled at once; the subtitle comes with the frame a worker builds
        await settle(lambda: str(errors.border_subtitle).startswith("by model ↑name"), "the name-sorted frame",
                     timeout=10)


async def test_silence_reads_zero_and_shows_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    later = END_NS + 30 * 10**9  # half a minute after the last datagram
    session = _fed(later)
    try:
        app = TundraApp(session, Config(), refresh=10.0, clock=lambda: later / 1e9)
        async with app.run_test(size=(80, 24)) as pilot:
            await _drawn(app, pilot)
            dash = session.frame().dashboard
            assert dash.totals.requests_per_s == 0 and dash.totals.tokens_per_s == 0
            assert dash.tap.last_datagram_age_s == pytest.approx(30, abs=1)
            status = app.query_one(StatusBar)
            text = status.render().plain if hasattr(status.render(), "plain") else str(status.render())
            assert "last datagram 30 s ago" in text
            throughput = pane_lines(app.query_one("#pane-3", Pane))
            assert any(line.strip().startswith("req/s") and line.rstrip(" │").endswith("0.0") for line in throughput)
    finally:
        session.stop()


async def test_status_bar_keeps_filter_and_state_at_80_columns(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    session = _fed(END_NS)  # its own: the filter set here must not reach the other screens
    try:
        app = make_app(session)
        async with app.run_test(size=(80, 24)) as pilot:
            session.set_filter(frozenset({"model:claude-sonnet-4-5", "env:development"}))
            await _drawn(app, pilot, "p")
            text = str(app.query_one(StatusBar).render())
            assert "PAUSED" in text or "❚❚" in text
            assert "/env:development model:claude-sonnet-4-5"[:20] in text
    finally:
        session.stop()


async def test_too_small_terminal_says_so(played) -> None:
    app = make_app(played)
    async with app.run_test(size=(40, 12)) as pilot:
        await _drawn(app, pilot)
        notice = app.query_one(TooSmall)
        assert notice.display and str(notice.render()) == "terminal too small: 40x12, need 60x16"
        assert not app.query_one("#panes").display
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.query_one("#panes").display and not notice.display



async def test_tokens_pane_shows_the_rows_that_hold_tokens_first(live) -> None:
    """By profile, tokens sit in the `unknown` row (they carry no profile tag): at 80x24 it is on screen."""
    app = make_app(live)
    async with app.run_test(size=(80, 24)) as pilot:
        await _drawn(app, pilot, "g", "g", "g")
        assert app.group == "profile"
        rows = live.frame("profile", app.sort).grouping.rows
        assert rows[-1].key == "unknown" and rows[-1].input_tokens  # sorted last by requests
        lines = pane_lines(app.query_one("#pane-2", Pane))
        assert lines[1].lstrip(" │").startswith("unknown")
