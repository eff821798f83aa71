"""The detail part (model/detail.py) and its charts (ui/chart.py): buckets, p95, error types, marks, spans."""

from __future__ import annotations

import json
import re
import time

from ddsketch import DDSketch

from tundra_tui.model import Engine
from tundra_tui.model.alerts import AlertBook, parse_alerts
from tundra_tui.model.detail import TOTAL, build_detail
from tundra_tui.model.engine import Mode
from tundra_tui.model.latency_history import LatencyHistory, hist_quantile
from tundra_tui.model.spans import SpanBook
from tundra_tui.model.watch import Watch
from tundra_tui.traces import decode
from tundra_tui.ui.chart import ChartLine, ChartSpec, detail_charts, render_chart, time_ticks
from tundra_tui.ui.widgets.pane import Pane

from .ui_fixtures import make_app, pane_lines, replay_session
from .waits import settle

T0 = 1_700_000_000  # a whole minute, so buckets of 1, 5, 15 and 60 s all start on it
PALETTE = {"ok": "#00ff00", "alarm": "#ff0000", "warn": "#ffff00", "accent": "#00ffff"}.get


def engine_with(lines_by_second: dict[int, list[str]]) -> Engine:
    """A dashboard engine fed one datagram per second."""
    engine = Engine(Mode.DASHBOARD)
    engine.feed([((T0 + s) * 10**9, "\n".join(lines).encode()) for s, lines in sorted(lines_by_second.items())])
    return engine


def request(model: str, ok: bool, ms: float, error_type: str | None = None, profile: str = "p1") -> list[str]:
    tags = f"model:{model},provider:openai,agent_name:a,profile:{profile},success:{str(ok).lower()}"
    if error_type:
        tags += f",error_type:{error_type}"
    return [f"llm.request.complete:1|c|#{tags}", f"llm.request.duration:{ms}|d|#{tags}"]


def test_buckets_hold_closed_seconds_only_and_rates_per_second() -> None:
    traffic = {s: request("m", True, 100) * (1 + s % 3) for s in range(120)}
    engine = engine_with(traffic)
    now = T0 + 122  # second 122 is still filling, so is its 5-second bucket (120-124)
    part = build_detail(engine.llm, "model", "m", now, 300)
    assert part.bucket_s == 5 and part.end == T0 + 120 and part.span_s == 300 and len(part.requests_per_s) == 60
    last = [1 + s % 3 for s in range(115, 120)]
    assert part.requests_per_s[-1] == sum(last) / 5
    assert sum(part.requests_per_s) * 5 == sum(1 + s % 3 for s in range(120))
    one = build_detail(engine.llm, "model", "m", now, 60)
    assert one.bucket_s == 1 and one.end == now and one.requests_per_s[-3:] == (1 + 119 % 3, 0, 0)


def test_a_chart_changes_only_when_a_bucket_closes() -> None:
    engine = engine_with({s: request("m", True, 100 + s) for s in range(120)})
    before = build_detail(engine.llm, "model", "m", T0 + 121, 300)
    engine.feed([((T0 + 121) * 10**9, "\n".join(request("m", False, 900, "timeout") * 50).encode())])
    same = build_detail(engine.llm, "model", "m", T0 + 123, 300)  # more traffic, the 120-124 bucket still open
    assert (same.requests_per_s, same.errors_per_s, same.p95_ms, same.start) == (
        before.requests_per_s, before.errors_per_s, before.p95_ms, before.start)
    closed = build_detail(engine.llm, "model", "m", T0 + 125, 300)  # it closed: the chart moves by one bucket
    assert closed.start == before.start + 5 and closed.errors_per_s[-1] == 50 / 5


def test_error_types_profiles_and_p95_per_bucket() -> None:
    traffic: dict[int, list[str]] = {}
    for s in range(60):
        lines = request("m", True, 100 + s, profile="p1") + request("m", True, 1000, profile="p2")
        if s % 4 == 0:
            lines += request("m", False, 50, "timeout", profile="p1")
        if s % 10 == 0:
            lines += request("m", False, 50, "rate_limited", profile="p2")
        if s == 30:
            lines += request("m", False, 50)  # no error_type: counted, but as untyped
        lines += request("other", False, 5, "server_error")
        traffic[s] = lines
    llm = engine_with(traffic).llm
    part = build_detail(llm, "model", "m", T0 + 60, 60)
    assert part.error_types == (("timeout", 15.0), ("rate_limited", 6.0))
    assert part.untyped_errors == 1.0
    assert dict(part.profiles) == {"p1": 60 + 15 + 1, "p2": 60 + 6}
    # p95 over the whole minute against a DDSketch of the same samples: within the histogram's ~5%
    sketch = DDSketch()
    for s in range(60):
        for v in [100 + s, 1000] + [50] * ((s % 4 == 0) + (s % 10 == 0) + (s == 30)):
            sketch.add(v)
    hist: dict[int, float] = {}
    for key, agg in llm.keys.items():
        if key[0] == "m":
            agg.lat_history.fold_into(hist, T0 // 5, (T0 + 59) // 5)
    whole = hist_quantile(hist, 0.95)
    expected = sketch.get_quantile_value(0.95)
    assert whole is not None and expected is not None and abs(whole - expected) / expected < 0.06
    assert part.p95_bucket_s == 5 and len(part.p95_ms) == 12 and all(p is not None for p in part.p95_ms)
    assert build_detail(llm, "profile", "p2", T0 + 60, 60).error_types == (("rate_limited", 6.0),)


def test_latency_history_forgets_what_left_the_window() -> None:
    h = LatencyHistory(60)
    h.add(T0, [10.0], 1.0)
    h.add(T0 + 100, [20.0], 1.0)  # 100 s later: the first bucket has left a 60-s window
    out: dict[int, float] = {}
    h.fold_into(out, 0, 10**10)
    assert sum(out.values()) == 1.0 and abs((hist_quantile(out, 0.5) or 0) - 20) < 1.1
    h.add(T0, [10.0], 1.0)  # older than the window: ignored
    out.clear()
    h.fold_into(out, 0, 10**10)
    assert sum(out.values()) == 1.0


def test_cost_series_follows_token_rate_and_price() -> None:
    tags = "model:gpt-4o,provider:openai,agent_name:a"
    engine = engine_with({s: [f"llm.tokens.input:{1000 * (s % 2)}|c|#{tags}",
                              f"llm.request.complete:1|c|#{tags},profile:p,success:true"] for s in range(60)})
    engine.llm.pricer.settle(30)
    part = build_detail(engine.llm, "model", "gpt-4o", T0 + 60, 60)
    assert part.cost_per_min is not None
    per_token = engine.dashboard(now_ns=(T0 + 60) * 10**9).models[0].cost_usd / 30_000  # type: ignore[operator]
    assert abs(part.cost_per_min[1] - 1000 * per_token * 60) < 1e-9 and part.cost_per_min[0] == 0
    assert build_detail(engine.llm, "model", "nothing-here", T0 + 60, 60).cost_per_min is None


def test_spans_roll_up_per_model_as_their_own_source() -> None:
    engine = engine_with({s: request("gpt-4o", True, 100) for s in range(10)})
    book = SpanBook()
    events = [{"span_id": str(i), "trace_id": "7", "parent_id": "undefined", "name": "chat", "start_ns": T0 * 10**9,
               "duration": 200_000_000 * (i + 1), "status": "error" if i == 2 else "ok",
               "meta": {"span": {"kind": "llm"}, "model_name": "gpt-4o" if i < 3 else "claude",
                        "model_provider": "openai" if i < 3 else "anthropic"},
               "metrics": {"input_tokens": 10, "output_tokens": 4}} for i in range(4)]
    book.add(decode("/evp_proxy/v2/api/v2/llmobs", json.dumps({"spans": events}).encode()))
    spans = book.summary()
    part = build_detail(engine.llm, "model", "gpt-4o", T0 + 10, 60, spans=spans)
    assert [(m.model, m.spans, m.errors, m.input_tokens) for m in part.spans] == [("gpt-4o", 3, 1, 30)]
    assert build_detail(engine.llm, "provider", "anthropic", T0 + 10, 60, spans=spans).spans[0].model == "claude"
    assert build_detail(engine.llm, "agent", "a", T0 + 10, 60, spans=spans).spans == ()
    row = engine.grouping((T0 + 10) * 10**9, "model", "requests").rows[0]
    assert row.requests == 10  # the spans are never added into the DogStatsD counts


def test_time_labels_follow_the_span() -> None:
    _, short = time_ticks(T0, T0 + 300, 80)
    assert short and all(re.fullmatch(r"\d\d:\d\d:\d\d", label) for label in short)
    ticks, long = time_ticks(T0, T0 + 3600, 80)
    assert long and all(re.fullmatch(r"\d\d:\d\d", label) for label in long)
    assert all(t == int(t) and (t + time.localtime(t).tm_gmtoff) % 60 == 0 for t in ticks)  # whole local minutes
    spec = ChartSpec("ms", T0, T0 + 300, (ChartLine("p95", "warn", T0, 5, (None, 120.0, 480.0) + (None,) * 57),))
    text = render_chart(spec, 70, 9, PALETTE).plain
    assert "600ms┤" in text and "300ms┤" in text and "0ms┤" in text  # in the unit, up to a round top
    assert len(text.splitlines()) <= 9 and max(len(line) for line in text.splitlines()) <= 70


def test_replay_charts_mark_profile_switches_and_alert_firings() -> None:
    session = replay_session()
    rules = [{"name": "busy", "metric": "requests_per_s", "above": 5, "window_s": 10}]
    session.engine.watch = Watch(AlertBook(parse_alerts(rules, 600), session.engine.llm))
    try:
        part = session.frame("model", "requests", (TOTAL, TOTAL, 300)).detail
        assert part is not None and part.group == TOTAL
        switches = [s.ts for s in session.engine.llm.switches if s.old is not None]
        assert switches and [s.ts for s in part.switches] == [t for t in switches if part.start <= t < part.end]
        assert part.firings and all(f.state == "firing" and f.name == "busy" for f in part.firings)
        chart = detail_charts(part)[0]
        assert {c for _, c in chart.marks} == {"warn", "alarm"}
        text = render_chart(chart, 76, 10, PALETTE)
        assert "profile switch" in text.plain and "alert fired" in text.plain
        lines = text.plain.splitlines()
        plot_rows = [line for line in lines[2:] if "┤" in line or line.lstrip().startswith("│")]
        full = [i for i, column in enumerate(zip(*plot_rows, strict=False)) if all(c in "⡇⢸" for c in column)]
        assert full  # a mark crosses the whole plot
        styled = {str(span.style) for span in text.spans}
        assert any("255,255,0" in s or "#ffff00" in s for s in styled) and any("255,0,0" in s or "#ff0000" in s
                                                                                for s in styled)
    finally:
        session.stop()


async def test_a_maximised_pane_becomes_its_chart_form(played) -> None:
    app = make_app(played)
    async with app.run_test(size=(80, 24)) as pilot:
        app.tick()
        await app.workers.wait_for_complete()
        await pilot.pause()
        pane = app.query_one("#pane-5", Pane)
        await settle(lambda: "p50" in "\n".join(pane_lines(pane)), "the latency rows", timeout=10)
        rows_form = "\n".join(pane_lines(pane))
        assert "p50" in rows_form
        await pilot.press("5")
        await app.workers.wait_for_complete()
        # the chart comes with a frame built in a worker thread: wait for it drawn, not for one pause
        await settle(lambda: "p95 latency" in "\n".join(pane_lines(pane)), "the latency chart", timeout=10)
        charts = "\n".join(pane_lines(pane))
        assert pane.chart_form and "p95 latency" in charts and re.search(r"\d(ms|s)┤", charts)
        assert re.search(r"\d\d:\d\d:\d\d", charts) and "last 5m in 5s buckets" in charts
        await pilot.press("3")  # another pane: the first goes back to its rows
        await app.workers.wait_for_complete()
        await settle(lambda: "errors/s" in "\n".join(pane_lines(app.query_one("#pane-3", Pane))),
                     "the throughput chart", timeout=10)
        assert not pane.chart_form
        three = "\n".join(pane_lines(app.query_one("#pane-3", Pane)))
        assert "requests/s" in three and "errors/s" in three and "tokens/s" in three
        await pilot.press("3")  # the same key again restores the layout and the rows
        assert app.maximized is None  # the rows come with the next frame, built in a worker thread
        await settle(lambda: "req/s" in "\n".join(pane_lines(app.query_one("#pane-3", Pane))),
                     "the throughput rows back", timeout=10)


def test_buckets_before_the_data_start_hold_no_data_and_draw_nothing() -> None:
    engine = engine_with({s: request("m", s < 30, 100) for s in range(60)})  # traffic for the first minute only
    part = build_detail(engine.llm, "model", "m", T0 + 120, 300, since_s=T0)  # 3 min before it, 1 min of quiet after
    before = (T0 - part.start) // part.bucket_s
    assert before == 36 and part.requests_per_s[:before] == (None,) * before
    assert part.errors_per_s[:before] == (None,) * before and part.tokens_per_s[:before] == (None,) * before
    assert part.requests_per_s[before] == 1.0 and part.requests_per_s[-12:] == (0.0,) * 12  # real zero stays 0
    assert part.errors_per_s[before] == 0.0 and part.errors_per_s[before + 6] == 1.0
    plain = render_chart(detail_charts(part)[0], 80, 10, PALETTE).plain
    plot = [re.split("[┤│]", line, maxsplit=1)[1].rstrip("│") for line in plain.splitlines()[1:]
            if re.match(r"^ *\S*[┤│]", line)]  # the plot area's rows, without the y labels and the frame
    dots = sorted({i for line in plot for i, ch in enumerate(line) if "\u2800" < ch <= "\u28ff"})
    width = max(len(line) for line in plot)
    assert dots and dots[0] >= width * 35 // 60  # nothing drawn over the 36 buckets before the start
    zero = build_detail(engine.llm, "model", "m", T0 + 120, 300)  # no start known: every bucket measured
    assert None not in zero.requests_per_s and zero.requests_per_s[0] == 0.0


async def test_z_steps_the_maximised_panes_chart_span(played) -> None:
    app = make_app(played)
    async with app.run_test(size=(80, 24)) as pilot:

        async def drawn() -> str:
            await app.workers.wait_for_complete()
            await pilot.pause()
            return "\n".join(pane_lines(app.query_one("#pane-3", Pane)))

        app.tick()
        await app.workers.wait_for_complete()
        await pilot.press("3")
        app.tick()
        assert "last 5m in 5s buckets" in await drawn()
        await pilot.press("z")  # in: 1m in 1-second buckets, asked for at once
        assert "last 1m in 1s buckets" in await drawn()
        await pilot.press("z")  # already the shortest
        assert "last 1m in 1s buckets" in await drawn()
        await pilot.press("Z", "Z", "Z")  # out, capped by window_s (the default 10-minute window: 15m does not fit)
        window = played.frame().dashboard.window_s
        longest = max(s for s in (60, 300, 900, 3600) if s <= max(window, 60))
        assert window < 900 and app.query_one("#pane-3", Pane).chart_span_s == longest == 300
        assert "last 5m in 5s buckets" in await drawn()
