"""Enter on a pane's row: one key (a model, provider, agent or profile, following the grouping) in detail.

Figures come from each refresh's Frame (its grouped row and its events); Esc returns.
Names and event text came from the wire: they are drawn as rich `Text`, never markup.
"""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from ...model.snapshot import EventRow, Frame, GroupRow
from ..fmt import clock, fit, ms, num, pct, spark, usd

TAG_OF = {"model": "model", "provider": "provider", "agent": "agent_name", "profile": "profile"}
MAX_EVENTS = 10


def events_of(group: str, key: str, events: tuple[EventRow, ...]) -> list[EventRow]:
    """The newest events tagged with this key (`model:gpt-4o`...), newest first."""
    tag = f"{TAG_OF.get(group, group)}:{key}"
    return [e for e in reversed(events) if tag in e.tags][:MAX_EVENTS]


class DetailScreen(Screen[None]):
    """The selected key's figures, latency quantiles, rate sparklines and its last events."""

    BINDINGS = [Binding("escape,q", "dismiss", "Back", id="detail.back")]
    DEFAULT_CSS = """
    DetailScreen > VerticalScroll { border: round $primary; padding: 0 1; }
    """

    def __init__(self, group: str, key: str) -> None:
        super().__init__()
        self.group, self.key = group, key
        self.row: GroupRow | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = fit(f"{self.group} {self.key}", 60).rstrip()
            box.border_subtitle = "esc to return"
            yield Static(Text("waiting for the next refresh…"), id="detail-body")

    def show(self, frame: Frame) -> None:
        """Draw the key's row of this frame's grouping (it may have left the window: then say so)."""
        g = frame.grouping
        self.row = next((r for r in g.rows if r.key == self.key), None) if g.group == self.group else None
        self.query_one("#detail-body", Static).update(self.body(frame))

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
        spark_w = max(width - 8, 10)
        charts = Text()
        charts.append("req/s ", style="bold")
        charts.append(spark(r.req_spark, spark_w) + "\n")
        charts.append("tok/s ", style="bold")
        charts.append(spark(r.tok_spark, spark_w))
        events = Text()
        for e in events_of(self.group, self.key, frame.dashboard.events):
            events.append(f"{clock(e.ts)} {e.alert_type:<8}", style="bold" if e.alert_type == "error" else "")
            events.append(fit(f" {e.title}: {e.text}" if e.text else f" {e.title}", width - 18) + "\n")
        if not events:
            events = Text("no events for it")
        return Group(figures, Text(""), charts, Text(""), Text("last events", style="bold"), events)
