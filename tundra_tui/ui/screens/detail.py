"""Enter on a pane's row: one key (a model, provider, agent or profile, following the grouping) in detail.

Figures come from each refresh's Frame (its grouped row and its events); Esc returns.
Names and event text came from the wire: they are drawn as rich `Text`, never markup.
"""

from __future__ import annotations

import time

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from ...model.series import bucketed
from ...model.snapshot import EventRow, Frame, GroupRow
from ..fmt import clock, fit, ms, num, pct, spark, usd

SPANS = (60, 300, 900, 3600)  # the charts' spans: 1m, 5m, 15m, 1h
TAG_OF = {"model": "model", "provider": "provider", "agent": "agent_name", "profile": "profile"}
MAX_EVENTS = 10


def span_label(seconds: int) -> str:
    """60 -> 1m, 3600 -> 1h."""
    return f"{seconds // 3600}h" if seconds % 3600 == 0 else f"{seconds // 60}m"


def events_of(group: str, key: str, events: tuple[EventRow, ...]) -> list[EventRow]:
    """The newest events tagged with this key (`model:gpt-4o`...), newest first."""
    tag = f"{TAG_OF.get(group, group)}:{key}"
    return [e for e in reversed(events) if tag in e.tags][:MAX_EVENTS]


class DetailScreen(Screen[None]):
    """The selected key's figures, latency quantiles, rate charts over a zoomable span, and its last events."""

    BINDINGS = [
        Binding("escape,q", "dismiss", "Back", id="detail.back"),
        Binding("z,less_than_sign", "zoom(-1)", "Zoom in", id="detail.zoom-in"),
        Binding("Z,greater_than_sign", "zoom(1)", "Zoom out", id="detail.zoom-out"),
    ]
    DEFAULT_CSS = """
    DetailScreen > VerticalScroll { border: round $primary; padding: 0 1; }
    """

    def __init__(self, group: str, key: str) -> None:
        super().__init__()
        self.group, self.key = group, key
        self.row: GroupRow | None = None
        self.span_s = SPANS[1]  # the charts' time span; z/Z step it through SPANS, capped by window_s
        self._frame: Frame | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = fit(f"{self.group} {self.key}", 60).rstrip()
            box.border_subtitle = "esc to return"
            yield Static(Text("waiting for the next refresh…"), id="detail-body")

    def show(self, frame: Frame) -> None:
        """Draw the key's row of this frame's grouping (it may have left the window: then say so)."""
        self._frame = frame
        g = frame.grouping
        self.span_s = min(self.span_s, max(frame.dashboard.window_s, SPANS[0]))
        self.row = next((r for r in g.rows if r.key == self.key), None) if g.group == self.group else None
        self.query_one("#detail-body", Static).update(self.body(frame))

    def action_zoom(self, step: int) -> None:
        """Step the charts' span (capped by window_s) and redraw them."""
        i = SPANS.index(self.span_s) if self.span_s in SPANS else 1
        cap = self._frame.dashboard.window_s if self._frame is not None else SPANS[-1]
        allowed = [s for s in SPANS if s <= max(cap, SPANS[0])]
        self.span_s = allowed[max(0, min(len(allowed) - 1, i + step))]
        if self._frame is not None:
            self.show(self._frame)

    def charts(self, r: GroupRow, as_of: float, width: int) -> Text:
        """Requests/s and tokens/s over the span, in whole-second columns, with their peak and time axis."""
        label_w = 16
        chart_w = max(width - label_w, 10)
        now = int(as_of)
        out = Text()
        for name, values in (("req/s", r.req_spark), ("tok/s", r.tok_spark)):
            cols = bucketed(list(values[-self.span_s:]), now, chart_w)
            out.append(f"{name:<6}max {num(max(cols, default=0.0)):>5} ", style="bold")
            out.append(spark(cols, chart_w) + "\n")
        fmt = "%H:%M:%S" if self.span_s < 900 else "%H:%M"
        start, end = time.strftime(fmt, time.localtime(now - self.span_s + 1)), time.strftime(fmt, time.localtime(now))
        out.append(" " * label_w + start + end.rjust(max(chart_w - len(start), len(end))) + "\n")
        out.append(f"span {span_label(self.span_s)} (z/Z)", style="bold")
        return out

    def body(self, frame: Frame) -> Group | Text:
        """The figures table, sparklines and events of the key."""
        r = self.row
        if r is None:
            return Text(f"no data for {self.group} {self.key} now")
        width = max(self.size.width - 6, 20)
        figures = Table.grid(padding=(0, 2))
        figures.add_column(style="bold")
        figures.add_column(justify="right")
        rows = [("requests", num(r.requests)), ("errors", f"{num(r.errors)} ({pct(r.error_rate)})"),
                ("tokens in / out", f"{num(r.input_tokens)} / {num(r.output_tokens)}"),
                ("cost", "…" if r.pricing else usd(r.cost_usd)), ("$/min", usd(r.cost_per_min)),
                ("p50 / p95 / p99", f"{ms(r.p50)} / {ms(r.p95)} / {ms(r.p99)}"),
                ("req/s now", f"{r.req_rate:.2f}"), ("tok/s now", num(r.tok_rate))]
        for name, value in rows:
            figures.add_row(Text(name), Text(value))
        charts = self.charts(r, frame.dashboard.as_of, width)
        events = Text()
        for e in events_of(self.group, self.key, frame.dashboard.events):
            events.append(f"{clock(e.ts)} {e.alert_type:<8}", style="bold" if e.alert_type == "error" else "")
            events.append(fit(f" {e.title}: {e.text}" if e.text else f" {e.title}", width - 18) + "\n")
        if not events:
            events = Text("no events for it")
        return Group(figures, Text(""), charts, Text(""), Text("last events", style="bold"), events)
