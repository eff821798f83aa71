"""`--once` and `stats` human output at 80 columns: every figure whole, one line per row."""

from __future__ import annotations

import io

from rich.console import Console

from tundra_tui.commands.report import print_dashboard, print_stats
from tundra_tui.model import Engine, Pricer
from tundra_tui.model.engine import Mode
from tundra_tui.model.snapshot import SessionStatus, SourceStatus

from .ui_fixtures import END_NS, SAMPLE_PACKETS


def _console(width: int) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, color_system=None), buf


def test_once_text_at_80_columns_keeps_figures_whole() -> None:
    e = Engine(Mode.DASHBOARD, pricer=Pricer())
    e.feed([(m.timestamp, m.payload) for m in SAMPLE_PACKETS])
    dash = e.dashboard(END_NS)
    con, buf = _console(80)
    print_dashboard(dash, con)
    lines = buf.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines)
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == len(dash.models)  # no row wraps
    for m, line in zip(dash.models, rows, strict=True):
        assert f" {m.requests:,} " in line and f"{m.input_tokens:,}" in line
        assert ("n/a" if m.cost_usd is None else f"${m.cost_usd:.4f}") in line
        assert "…" not in line.split("│", 3)[3]  # past the names, nothing is cut
    assert "(4 priced of 5)" in buf.getvalue() and "+" in buf.getvalue()


def test_stats_at_80_columns_one_line_per_context() -> None:
    e = Engine(Mode.STATS)
    e.feed([(m.timestamp, m.payload) for m in SAMPLE_PACKETS])
    stats = e.stats("sample.dog", top=10)
    con, buf = _console(80)
    print_stats(stats, SessionStatus(SourceStatus("replay")), con)
    lines = buf.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines)
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == len(stats.contexts) == 10
    for c, line in zip(stats.contexts, rows, strict=True):
        assert f" {c.samples:,} " in line


def test_stats_at_80_columns_tells_contexts_apart() -> None:
    """Names and tags are cut apart: two different contexts never read the same (metric, tags, type)."""
    e = Engine(Mode.STATS)
    e.feed([(m.timestamp, m.payload) for m in SAMPLE_PACKETS])
    stats = e.stats("sample.dog", top=20)
    con, buf = _console(80)
    print_stats(stats, SessionStatus(SourceStatus("replay")), con)
    rows = [tuple(c.strip() for c in line.split("│")[1:4]) for line in buf.getvalue().splitlines()
            if line.startswith("│")]
    assert len(rows) == len(stats.contexts) == 20
    assert len(set(rows)) == len({(c.name, c.tags, c.type) for c in stats.contexts})
    assert ("llm.agent.execut…", "c") in {(r[0], r[2]) for r in rows}  # a name that is another's prefix: cut plain


def test_once_text_at_80_columns_names_the_columns_it_left_out() -> None:
    e = Engine(Mode.DASHBOARD, pricer=Pricer())
    e.feed([(m.timestamp, m.payload) for m in SAMPLE_PACKETS])
    dash = e.dashboard(END_NS)
    con, buf = _console(80)
    print_dashboard(dash, con)
    out = buf.getvalue()
    header = next(line for line in out.splitlines() if "model" in line and "provider" in line)
    every = ["req", "err%", "in", "out", "cost", "p50 ms", "p95 ms", "p99 ms"]
    left = [h for h in every if f" {h} " not in header]
    assert left  # 80 columns cannot hold all eight whole
    note = next(line for line in out.splitlines() if line.startswith("left out at 80 columns: "))
    assert note.endswith("; --json has them all")  # one line, not wrapped
    assert note.split(": ", 1)[1].split(";")[0].split(", ") == left
    wide, wide_buf = _console(200)
    print_dashboard(dash, wide)
    assert "left out" not in wide_buf.getvalue()
