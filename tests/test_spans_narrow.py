"""The spans list (`x`) and the trace waterfall (Enter) as a person reads them at 60x20, 80x24 and 200x50: every
line within the screen, never wrapped, what matters kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.widgets import Static

from tundra_tui.model.spans import SpanBook, tree_order
from tundra_tui.services.spanfeed import SpanFeed
from tundra_tui.traces import LLMSpan, decode
from tundra_tui.ui.screens.spans import WaterfallScreen, _fall_widths, ids_line, rollup_table

from .test_ui_spans import TRACE, _event, _open_spans
from .ui_fixtures import live_session, make_app, pane_lines

BASE = 1_795_796_355_000_000_000
MODEL = "claude-sonnet-4-5-20250929"


def _deep_session(sock: Path):
    """One trace: an agent over retrieval, two LLM calls (one failing) and a tool, with long names and a model
    too long for a narrow screen."""
    book = SpanBook()
    events = [
        _event("1", "undefined", "customer-support-orchestrator", "agent", BASE, 2_400_000_000),
        _event("2", "1", "fetch-knowledge-base-context", "retrieval", BASE + 10_000_000, 180_000_000),
        _event("3", "1", "draft-answer", "llm", BASE + 200_000_000, 1_500_000_000, model_name=MODEL,
               model_provider="anthropic"),
        _event("4", "1", "polish", "llm", BASE + 1_750_000_000, 400_000_000, model_name="gpt-4o-mini",
               model_provider="openai", error={"type": "TimeoutError", "message": "slow"}),
        _event("5", "1", "send-reply", "tool", BASE + 2_200_000_000, 9_000_000),
    ]
    book.add(decode("/evp_proxy/v2/api/v2/llmobs", json.dumps({"spans": events}).encode()))
    session = live_session(sock, feed=False)
    session.spans = SpanFeed(book)
    return session


NAMES = ["customer-support-orchestrator", "fetch-knowledge-base-context", "draft-answer", "polish", "send-reply"]
TOOK = ["2.4s", "180ms", "1.5s", "400ms", "9.00ms"]


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (200, 50)])
async def test_the_waterfall_fits_the_screen_one_line_a_span(tmp_path: Path, size: tuple[int, int]) -> None:
    """Each span one line within the waterfall's width, as tundra drew it (never cut or wrapped by the widget):
    its name whole or cut with an ellipsis, its duration whole, its bar narrower the narrower the screen."""
    session = _deep_session(tmp_path / "f.sock")
    app = make_app(session)
    try:
        async with app.run_test(size=size) as pilot:
            await _waterfall_open()(pilot)
            fall = app.screen.query_one("#waterfall", Static)
            ours = str(fall.render()).split("\n")
            assert len(ours) == len(NAMES)
            width = fall.content_size.width
            assert all(cell_len(line) <= width for line in ours), (width, ours)
            drawn = [line.rstrip() for line in pane_lines(fall)]
            assert drawn[: len(ours)] == [line.rstrip() for line in ours]  # nothing cut or wrapped by the widget
            for line, name, took in zip(ours, NAMES, TOOK, strict=True):
                label = line.split("█")[0].strip()
                assert label == name or (label.endswith("…") and name.startswith(label[:-1])), (label, line)
                assert f" {took} " in line, line
            bar = max(line.count("█") for line in ours)
            assert {60: bar <= 10, 80: bar == 10, 200: bar > 100}[size[0]], ours
            model = ours[2].split(" llm ")[1].strip()
            assert model == MODEL if size[0] == 200 else MODEL.startswith(model.removesuffix("…")), ours
    finally:
        session.stop()


def test_the_waterfall_widths_give_way_in_order() -> None:
    """The bar keeps BAR_MIN while the model, then the kind give cells back; then the bar shrinks, then the
    name is cut, then the model goes whole; the parts always fill the room while it holds their least."""
    assert _fall_widths(120, 18, 9, 22) == (18, 120 - 49, 9, 22)
    assert _fall_widths(47, 18, 9, 22) == (18, 10, 9, 10)  # the model cut first
    assert _fall_widths(40, 18, 9, 22) == (18, 10, 4, 8)  # then the kind
    assert _fall_widths(36, 18, 9, 22) == (18, 6, 4, 8)  # then the bar
    assert _fall_widths(30, 18, 9, 22) == (12, 6, 4, 8)  # then the name
    assert _fall_widths(20, 18, 9, 22) == (8, 8, 4, 0)  # then the model, whole
    for room in range(27, 140):
        label, bar, kind, model = _fall_widths(room, 18, 9, 22)
        assert label + bar + kind + model == room and bar >= 6 and (model == 0 or model >= 8)


def _waterfall_open():
    """run_before: x, a frame of the spans list, Enter on its newest span's row, the waterfall fitted."""

    async def run(pilot) -> None:
        await _open_spans(pilot.app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(pilot.app.screen, WaterfallScreen)

    return run


@pytest.mark.parametrize(("size", "theme"), [((60, 20), None), ((80, 24), "tundra-light")])
def test_waterfall_snapshot(snap_compare, tmp_path: Path, size: tuple[int, int], theme: str | None) -> None:
    session = _deep_session(tmp_path / "snap.sock")
    try:
        assert snap_compare(make_app(session, theme=theme), terminal_size=size, run_before=_waterfall_open())
    finally:
        session.stop()


def _span(trace: str, span: str, parent: str, start: int) -> LLMSpan:
    return LLMSpan(trace, span, parent, f"s{span}", "llm", "app", "", "", "", start, 10, "ok", "", "", None, None,
                   "", "", "evp")


def test_the_list_is_trace_by_trace_each_root_above_its_children() -> None:
    """Spans as they arrive (a trace's children before its root, traces interleaved): listed trace by trace, the
    newest first, each in tree order (siblings by start); orphans and a parent cycle kept, each span once."""
    book = SpanBook()
    arrived = [_span("A", "2", "1", 20), _span("B", "9", "", 5), _span("A", "3", "1", 30), _span("A", "4", "2", 25),
               _span("A", "1", "", 10), _span("C", "7", "8", 1), _span("C", "8", "7", 2), _span("C", "", "", 3),
               _span("C", "", "", 4), _span("C", "6", "missing", 0)]
    book.add_spans(arrived)
    listed = [(d, s.trace_id, s.span_id) for d, s in book.summary().by_trace()]
    assert listed == [(0, "C", "6"), (0, "C", ""), (0, "C", ""), (0, "C", "7"), (1, "C", "8"),  # C: newest
                      (0, "A", "1"), (1, "A", "2"), (2, "A", "4"), (1, "A", "3"), (0, "B", "9")]
    assert sorted(s.key for _, s in tree_order(arrived)) == sorted(s.key for s in arrived)


@pytest.mark.parametrize(("size", "theme"), [pytest.param((60, 20), None, id="size0-None"),  # light: see the
                                             pytest.param((200, 50), None, id="size2-None")])  # waterfall's
def test_spans_list_snapshot(snap_compare, tmp_path: Path, size: tuple[int, int], theme: str | None) -> None:
    session = _deep_session(tmp_path / "list.sock")

    async def run(pilot) -> None:
        await _open_spans(pilot.app, pilot)

    try:
        assert snap_compare(make_app(session, theme=theme), terminal_size=size, run_before=run)
    finally:
        session.stop()


@pytest.mark.parametrize("width", [60, 80, 200])
def test_the_rollup_keeps_its_figures_beside_the_names(width: int) -> None:
    """The per-model rollup's name column is as wide as its longest name, not the screen: at 200 columns the
    figures sit beside the names; narrower, everything fits, each figure whole."""
    book = SpanBook()
    events = [_event("1", "undefined", "a", "llm", BASE, 900_000_000, model_name=MODEL, model_provider="anthropic"),
              _event("2", "undefined", "b", "llm", BASE + 1, 300_000_000, model_name="gpt-4o",
                     model_provider="openai", error={"type": "TimeoutError", "message": "slow"})]
    book.add(decode("/evp_proxy/v2/api/v2/llmobs", json.dumps({"spans": events}).encode()))
    lines = rollup_table(book.summary(), width).plain.splitlines()
    longest = len(f"anthropic/{MODEL}")
    assert len(lines) == 3 and all(cell_len(line) <= width for line in lines)
    if width == 200:
        assert lines[0].startswith("model" + " " * (longest - 5) + " spans errors ")  # right after the names
        assert all(cell_len(line) == longest + len(" spans errors tokens in tokens out   p95") for line in lines)
        assert lines[2].split()[:5] == ["openai/gpt-4o", "1", "1", "30", "5"]  # p95: a sketch's, near 300ms


LONG_SPAN = "7749817443545472390"  # a ddtrace span id: 19 digits


def test_the_ids_line_drops_its_words_before_it_cuts_an_id() -> None:
    span = LLMSpan(TRACE, LONG_SPAN, "", "s", "llm", "app", "", "", "", BASE, 10, "ok", "", "", None, None, "", "",
                   "evp")
    assert ids_line(span, 80) == f"trace {TRACE} span {LONG_SPAN}"
    assert ids_line(span, 57) == f"{TRACE} span {LONG_SPAN}"  # the border names the trace already
    assert ids_line(span, 56) == f"{TRACE} {LONG_SPAN}"  # 60 columns, less border and padding
    assert ids_line(span, 40) == f"{TRACE} {LONG_SPAN[:6]}…"  # only then cut, and saying so
    assert ids_line(span) == f"trace {TRACE} span {LONG_SPAN}"


@pytest.mark.parametrize("size", [(60, 20)])  # the narrowest screen; ids_line's widths are tested above
async def test_the_span_detail_keeps_its_ids_on_one_line(tmp_path: Path, size: tuple[int, int]) -> None:
    """The waterfall's detail: the trace and span ids on one line at every width, both whole at 60 columns; the
    span's facts beside its name where they fit."""
    book = SpanBook()
    event = _event(LONG_SPAN, "undefined", "answer", "llm", BASE, 900_000_000, model_name="gpt-4o",
                   model_provider="openai-compatible-gateway")
    book.add(decode("/evp_proxy/v2/api/v2/llmobs", json.dumps({"spans": [event]}).encode()))
    session = live_session(tmp_path / "d.sock", feed=False)
    session.spans = SpanFeed(book)
    app = make_app(session)
    try:
        async with app.run_test(size=size) as pilot:
            await _waterfall_open()(pilot)
            detail = app.screen.query_one("#span-detail", Static)
            drawn = [line.rstrip() for line in pane_lines(detail)]
            line = next(x for x in drawn if TRACE in x)
            assert line.endswith(LONG_SPAN) and cell_len(line) <= detail.content_size.width, drawn
            assert line.startswith(f"trace {TRACE} span ") == (size[0] >= 80), line  # words only where they fit
            facts = "answer  llm · openai-compatible-gateway/gpt-4o · 900ms · ok"  # 59 cells
            # the name beside its facts, or above them where they do not fit: never a fact alone on a line
            assert (drawn[0] == facts) if size[0] >= 80 else drawn[:2] == facts.split("  "), drawn
    finally:
        session.stop()
