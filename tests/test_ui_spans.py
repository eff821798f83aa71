"""Pilot tests for the Spans screen (`x`) and the trace waterfall (Enter): hostile text stays text."""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import msgpack
import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable, Static

from tundra_tui.commands.report import progress_line
from tundra_tui.model.spans import SpanBook
from tundra_tui.services.spanfeed import SpanFeed, SpanRecorder
from tundra_tui.services.traceproxy import TraceProxy
from tundra_tui.traces import LLMSpan, decode
from tundra_tui.ui.screens.spans import COLUMNS, SpansScreen, WaterfallScreen, waterfall
from tundra_tui.ui.widgets.statusbar import StatusBar

from .ui_fixtures import live_session, make_app, pane_lines, refreshed
from .waits import wait_until

TRACE = "6b09ad8300000000d104eaf4e896529d"


def _event(span_id: str, parent: str, name: str, kind: str, start: int, duration: int, **meta: object) -> dict:
    return {"span_id": span_id, "trace_id": TRACE, "parent_id": parent, "name": name, "start_ns": start,
            "duration": duration, "status": "error" if "error" in meta else "ok",
            "meta": {"span": {"kind": kind}, **meta}, "metrics": {"input_tokens": 30, "output_tokens": 5},
            "tags": ["ml_app:[bold red]support[/]", "service:bot"]}


def _spans_session(sock: Path):
    book = SpanBook()
    base = 1_795_796_355_000_000_000
    events = [
        _event("1", "undefined", "answer", "workflow", base, 900_000_000),
        _event("2", "1", "classify", "llm", base + 100_000_000, 300_000_000, model_name="gpt-4o",
               model_provider="openai", input={"messages": [{"role": "user", "content": "I'm ann@example.org"}]},
               output={"messages": [{"role": "assistant", "content": "[link=http://evil]click[/link]"}]}),
        _event("3", "1", "polish", "llm", base + 500_000_000, 350_000_000, model_name="claude-3-5-haiku",
               model_provider="anthropic", error={"type": "TimeoutError", "message": "slow"}),
    ]
    book.add(decode("/evp_proxy/v2/api/v2/llmobs", json.dumps({"spans": events}).encode()))
    session = live_session(sock, feed=False)  # the spans screens read the trace port's book, not the sample
    session.spans = SpanFeed(book)
    return session


async def _open_spans(app, pilot) -> None:
    """x, then a frame of the spans screen drawn with the book's rows."""
    await pilot.press("x")
    await pilot.pause()
    await refreshed(app, pilot)


async def test_x_lists_spans_and_enter_opens_the_waterfall(tmp_path: Path) -> None:
    session = _spans_session(tmp_path / "s.sock")
    app = make_app(session)
    try:
        async with app.run_test(size=(150, 36)) as pilot:  # wide enough for every column
            await pilot.press("x")
            await pilot.pause()
            assert isinstance(app.screen, SpansScreen)
            await refreshed(app, pilot)
            table = app.screen.query_one(DataTable)
            assert table.row_count == 3
            rows = [[table.get_cell_at((r, c)) for c in range(8)] for r in range(3)]
            assert [r[2].plain for r in rows] == ["workflow", "  llm", "  llm"]  # the root, then its children
            assert [r[3].plain for r in rows] == ["-", "openai/gpt-4o", "anthropic/claude-3-5-haiku"]  # by start
            first, last = rows[0], rows[2]
            assert all(isinstance(c, Text) for c in first)
            assert first[1].plain == "[bold red]support[/]"  # shown as text, never read as markup
            assert last[6].plain == "error" and last[7].plain == "TimeoutError" and last[4].plain == "30/5"
            models = app.screen.query_one("#spans-models", Static).render()
            assert "openai/gpt-4o" in str(models) or "gpt-4o" in app.export_screenshot()
            await pilot.press("down")  # classify, under answer
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, WaterfallScreen)
            fall = str(app.screen.query_one("#waterfall", Static).render())
            lines = [ln for ln in fall.splitlines() if ln.strip()]
            assert [ln.split()[0] for ln in lines] == ["answer", "classify", "polish"]  # tree order, by parent
            assert lines[1].startswith("  classify")  # indented under the workflow
            detail = str(app.screen.query_one("#span-detail", Static).render())
            assert "user: I'm [redacted:email]" in detail and "ann@example.org" not in detail
            assert "[link=http://evil]click[/link]" in detail  # the completion, verbatim as text
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, SpansScreen)
            await pilot.press("x")
            await pilot.pause()
            assert not isinstance(app.screen, (SpansScreen, WaterfallScreen))
    finally:
        session.stop()


async def test_spans_screen_with_no_trace_port_says_so(tmp_path: Path) -> None:
    session = live_session(tmp_path / "e.sock", feed=False)
    app = make_app(session)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await _open_spans(app, pilot)
            assert app.screen.query_one(DataTable).row_count == 0
            assert "received 0" in str(app.screen.query_one("#spans-counters", Static).render())
    finally:
        session.stop()


async def test_status_bar_counts_the_agents_failures(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on: the Agent is down
        s.bind(("127.0.0.1", 0))
        down = s.getsockname()[1]
    proxy = TraceProxy("http://127.0.0.1:0", SpanBook(), forward=f"http://127.0.0.1:{down}")
    proxy.start()
    session = live_session(tmp_path / "d.sock", feed=False)
    session.spans = SpanFeed(proxy.book, proxy)
    for _ in range(2):
        req = urllib.request.Request(proxy.url + "/v0.4/traces", data=msgpack.packb([]), method="POST")
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(req, timeout=30)
        # the error holds the answer, and the answer the connection's socket: closed here, or else by whichever
        # garbage collection found the cycle pytest's ExceptionInfo makes, as an unclosed-socket ResourceWarning
        # that failed the test running then (test_spans_the_sidecar_could_not_keep_are_shown, a test_fleet one)
        with bad.value as answer:
            assert answer.code == 502
    app = make_app(session)
    try:
        async with app.run_test(size=(160, 30)) as pilot:
            await refreshed(app, pilot)
            bar = str(app.query_one(StatusBar).render())
            assert "spans 0 agent err 2" in bar, bar
            await _open_spans(app, pilot)
            assert "agent errors 2" in str(app.screen.query_one("#spans-counters", Static).render())
    finally:
        session.stop()
        proxy.stop()


async def test_status_bar_says_when_the_spans_sidecar_fails(tmp_path: Path) -> None:
    session = _spans_session(tmp_path / "f.sock")
    feed = session.spans
    assert feed is not None
    feed.recorder = SpanRecorder("/dev/full", overwrite=True)  # every write: ENOSPC, as on a full disk
    feed.recorder.put(list(feed.book.summary().recent), 1)
    wait_until(lambda: feed.status().get("spans_record_error"), "the sidecar's error")
    app = make_app(session)
    try:
        async with app.run_test(size=(160, 30)) as pilot:
            await refreshed(app, pilot)
            assert "rec failed" in str(app.query_one(StatusBar).render())
    finally:
        session.stop()
    assert feed.status()["spans_record_error"] == "recording spans to /dev/full stopped: disk full"  # kept after



async def test_spans_the_sidecar_could_not_keep_are_shown(tmp_path: Path) -> None:
    """Spans past the sidecar's queue (none may wait here) are dropped: the status bar, the spans screen and the
    JSON say how many, as the capture's drops are said, and the count stays once the sidecar is closed."""
    session = _spans_session(tmp_path / "q.sock")
    feed = session.spans
    assert feed is not None
    spans = list(feed.book.summary().recent)
    feed.recorder = SpanRecorder(tmp_path / "r.dog.spans", max_queue=0)
    for i in range(4):
        feed.recorder.put(spans, i)
    dropped = 4 * len(spans)
    app = make_app(session)
    try:
        assert feed.status()["spans_record_dropped"] == dropped
        assert session.dashboard().to_json()["spans"]["record_dropped"] == dropped
        async with app.run_test(size=(160, 30)) as pilot:
            await refreshed(app, pilot)
            bar = app.query_one(StatusBar)
            text = bar._last
            assert text is not None and f"spans {feed.book.summary().llm} drop {dropped}" in text.plain
            assert [str(s.style) for s in text.spans if text.plain[s.start : s.end] == f" drop {dropped}"] == [
                bar.c("alarm")]
            await _open_spans(app, pilot)
            assert f"sidecar drops {dropped}" in str(app.screen.query_one("#spans-counters", Static).render())
    finally:
        session.stop()
    assert session.status().spans_record_dropped == dropped  # kept after the sidecar closed


class _HangingRecorder(SpanRecorder):
    """A sidecar whose write of the second span hangs until let go; closing gives up on it at once."""

    def __init__(self, path: Path) -> None:
        self.there, self.go_on = threading.Event(), threading.Event()
        super().__init__(path)

    def _write(self, item: tuple[int, LLMSpan]) -> None:
        if item[0] == 2:
            self.there.set()
            self.go_on.wait()
        super()._write(item)

    def close(self, join_s: float = 0.05) -> None:
        super().close(join_s)


def test_spans_a_stuck_sidecar_write_holds_are_counted_in_flight(tmp_path: Path) -> None:
    """Given up on while writing a span, the sidecar holds it in flight: the JSON, the status and `record`'s line
    say so (they once counted it nowhere); once the write returns, it settles into the file's count."""
    session = _spans_session(tmp_path / "h.sock")
    feed = session.spans
    assert feed is not None
    span = feed.book.summary().recent[0]
    rec = feed.recorder = _HangingRecorder(tmp_path / "h.dog.spans")
    for ts in (1, 2, 3):
        rec.put([span], ts)
    rec.there.wait(5)
    try:
        feed.stop_recording()
        assert (rec.written, rec.in_flight, rec.dropped) == (0, 2, 1)  # 1 not flushed, 2 hangs, 3 never begun
        assert feed.status()["spans_record_in_flight"] == 2
        assert session.dashboard().to_json()["spans"]["record_in_flight"] == 2
        status = replace(session.status(), traces="127.0.0.1:8126")
        assert "spans in flight 2 (recorded only if the stuck write returns)" in progress_line(status, feed.summary())
    finally:
        rec.go_on.set()
        session.stop()
    rec._thread.join(5)
    assert feed.sidecar_counts() == (1, 0) and rec.written == 2  # settled: in the file after all


@pytest.mark.parametrize("size", [(60, 20), (80, 24)])
async def test_spans_headers_are_whole_and_dropped_columns_announced(tmp_path: Path, size: tuple[int, int]) -> None:
    session = _spans_session(tmp_path / "w.sock")
    app = make_app(session)
    try:
        async with app.run_test(size=size) as pilot:
            await _open_spans(app, pilot)
            await pilot.pause()
            table = app.screen.query_one(DataTable)
            assert table.row_count == 3
            labels = [c.label.plain for c in table.columns.values()]
            model = next(x for x in labels if x.startswith("provider/model"))
            whole = [x for x in labels if x != model]
            assert set(whole) <= set(COLUMNS) and not any("…" in x for x in labels), labels
            hidden = len(COLUMNS) - len(labels)
            assert hidden > 0 and model in (f"provider/model +{hidden} cols", f"provider/model +{hidden}"), labels
            assert table.max_scroll_x == 0  # everything kept is on screen: nothing cut at the right edge
            top = pane_lines(table)[0]  # the header row as drawn
            for label in labels:
                assert label in top, top
            assert "900ms" in [table.get_cell_at((0, c)).plain for c in range(len(labels))]  # a figure, whole
            assert {"kind", "duration", "status"} <= set(labels)  # what a narrow screen keeps: what and how long
            head, *rows = str(app.screen.query_one("#spans-models", Static).render()).splitlines()
            words = head.split()
            figures = [w for w in words if w in ("spans", "errors", "in", "out", "p95")]
            assert set(words) - {"model", "spans", "errors", "tokens", "in", "out", "p95", "cols"} <= \
                {f"+{5 - len(figures)}"}, head
            assert len(figures) == 5 or f"+{5 - len(figures)}" in words, head
            assert len(rows) == 2 and all("…" not in r.split()[-1] for r in rows)
    finally:
        session.stop()


SEGMENT = r"(trace port \S+|→ \S+|received \d\S*|llm \d\S*|dropped \d\S*|agent errors \d\S*)"


@pytest.mark.parametrize("size", [(40, 12), (60, 20), (80, 24), (200, 50)])
async def test_the_counters_wrap_between_segments_never_inside_one(tmp_path: Path, size: tuple[int, int]) -> None:
    """Each `label N` stays on one line with its figure, whatever the width: the line wraps between segments."""
    with socket.socket() as s:  # an Agent to pass traces on to: the longest source segment (`→ URL`)
        s.bind(("127.0.0.1", 0))
        agent = f"http://127.0.0.1:{s.getsockname()[1]}"
    proxy = TraceProxy("http://127.0.0.1:0", SpanBook(), forward=agent)
    proxy.start(serve=False)
    session = live_session(tmp_path / "c.sock")
    session.spans = SpanFeed(proxy.book, proxy)
    app = make_app(session)
    try:
        async with app.run_test(size=size) as pilot:
            await _open_spans(app, pilot)
            await pilot.pause()
            counters = app.screen.query_one("#spans-counters", Static)
            lines = [ln.strip() for ln in pane_lines(counters)]
            for line in lines:
                assert re.fullmatch(rf"{SEGMENT}(\s+{SEGMENT})*", line), lines
            found = [m.group(1).split()[0] for ln in lines for m in re.finditer(SEGMENT, ln)]
            assert found == ["trace", "→", "received", "llm", "dropped", "agent"], lines
            assert len(lines) <= 4 and (size[0] < 120 or len(lines) == 1), lines
    finally:
        session.stop()
        proxy.stop()


def test_the_waterfall_cuts_wide_kinds_and_models_to_their_cells() -> None:
    """A kind and a model of wide characters (two cells each) are cut to the cells they were given: every line
    stays within the width (they were sized in cells, then appended whole)."""
    base = 1_795_796_355_000_000_000
    spans = decode("/evp_proxy/v2/api/v2/llmobs", json.dumps({"spans": [
        _event("1", "undefined", "answer", "工作流程工作流程工作流程", base, 900_000_000),
        _event("2", "1", "classify", "llm", base + 100_000_000, 300_000_000, model_name="模型" * 20,
               model_provider="openai")]}).encode()).spans
    lines = waterfall(spans, spans[0], 120).plain.split("\n")
    assert len(lines) == 2 and all(cell_len(line) <= 120 for line in lines), lines
    assert "900ms 工作流程工… " in lines[0]  # 12 cells: five wide characters, then the ellipsis and a pad
    assert lines[1].endswith(" " + "模型" * 6 + "模…")  # 28 cells with the space before it
