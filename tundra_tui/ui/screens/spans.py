"""`x`: recent LLM spans from the trace port, per-model span rollups, and (Enter) one trace as a waterfall.

Spans are their own source: nothing here is added into the DogStatsD panes. Every string in a
span came from an app over the network, so cells are rich `Text` objects (DataTable would read
a plain `str` as markup) and the waterfall is built from `Text` alone.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ...model.snapshot import SessionStatus
from ...model.spans import SpanSummary
from ...traces import LLMSpan
from ..fmt import clock, num, rich_colour
from ..fmt import ms as _ms

COLUMNS = ("time", "ml_app/service", "kind", "provider/model", "tokens in/out", "duration", "status", "error")
BAR_WIDTH = 40


def ms(x: float | None) -> str:
    """Span durations: LLM calls run for seconds, local spans for fractions of a millisecond."""
    return f"{x:.2f}ms" if x is not None and x < 10 else _ms(x)


Colour = Callable[[str], str]  # a domain colour ($ok, $alarm, $stale) of the current theme, as Rich names it


def _plain(var: str) -> str:
    return ""


def span_row(s: LLMSpan, c: Colour = _plain) -> list[Text]:
    """The list row of one span."""
    tokens = "-" if s.input_tokens is None and s.output_tokens is None else \
        f"{num(s.input_tokens)}/{num(s.output_tokens)}"
    model = "/".join(p for p in (s.provider, s.model) if p) or "-"
    return [Text(clock(s.start_ns / 1e9)), Text(s.ml_app or s.service or "-"), Text(s.kind or "-"), Text(model),
            Text(tokens, justify="right"), Text(ms(s.duration_ns / 1e6), justify="right"),
            Text(s.status, style=c("alarm") if s.status == "error" else c("ok")), Text(s.error_type or "")]


def rollup_table(summary: SpanSummary, c: Colour = _plain) -> Table:
    """Per (model, provider): spans, errors, tokens and p95, as the trace port saw them."""
    table = Table(expand=True, box=None, padding=(0, 1), header_style="bold")
    table.add_column("model (spans)", no_wrap=True, overflow="ellipsis", ratio=1)
    for col in ("spans", "errors", "tokens in", "tokens out", "p95"):
        table.add_column(col, justify="right", no_wrap=True)
    for m in summary.models:
        table.add_row(Text(f"{m.provider}/{m.model}" if m.provider else m.model), num(m.spans),
                      Text(num(m.errors), style=c("alarm") if m.errors else ""), num(m.input_tokens),
                      num(m.output_tokens), ms(m.p95_ms))
    return table


def counters_line(summary: SpanSummary, status: SessionStatus, c: Colour = _plain) -> Text:
    """Where the spans come from and what was received, dropped or not forwarded."""
    line = Text()
    where = status.traces or status.traces_note or "replayed from the capture's sidecar"
    line.append(f"trace port {where}")
    if status.traces_forward:
        line.append(f" → {status.traces_forward}")
    line.append(f"   received {num(summary.received)}  llm {num(summary.llm)}  ")
    line.append(f"dropped {num(summary.dropped)}", style=c("alarm") if summary.dropped else "")
    line.append("  ")
    line.append(f"agent errors {num(summary.forward_errors)}", style=c("alarm") if summary.forward_errors else "")
    if status.spans_record_dropped:
        line.append(f"  sidecar drops {num(status.spans_record_dropped)}", style=c("alarm"))
    if summary.last_error:
        line.append(f"\nlast problem: {summary.last_error}", style=c("stale"))
    return line


class _Themed(ModalScreen[None]):
    def colour(self, var: str) -> str:
        """A domain colour of the app's current theme, as Rich names it."""
        return rich_colour(self.app.theme_variables.get(var, ""))


class SpansScreen(_Themed):
    """Refreshed by the app's tick while it is open; Enter opens the selected span's trace."""

    BINDINGS = [Binding("escape,x,q", "dismiss", "Close", id="spans.close")]
    DEFAULT_CSS = """
    SpansScreen { align: center middle; }
    SpansScreen > Vertical { width: 100%; height: 100%; border: round $primary; background: $surface; padding: 0 1; }
    SpansScreen #spans-counters, SpansScreen #spans-models { height: auto; max-height: 12; }
    SpansScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.summary = SpanSummary()
        self._keys: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "LLM spans (trace port)"
            box.border_subtitle = "enter: trace waterfall · x or esc to close"
            yield Static(id="spans-counters")
            yield Static(id="spans-models")
            table: DataTable[Text] = DataTable(id="spans-table", cursor_type="row", zebra_stripes=True)
            table.add_columns(*COLUMNS)
            yield table

    def show(self, summary: SpanSummary, status: SessionStatus) -> None:
        """Repaint from the spans part; the cursor stays on its span while new ones arrive above it."""
        self.summary = summary
        self.query_one("#spans-counters", Static).update(counters_line(summary, status, self.colour))
        self.query_one("#spans-models", Static).update(rollup_table(summary, self.colour))
        keys = tuple(f"{s.trace_id}:{s.span_id}:{i}" for i, s in enumerate(summary.recent))
        if keys == self._keys:
            return
        table = self.query_one("#spans-table", DataTable)
        selected = self._keys[table.cursor_row] if self._keys and 0 <= table.cursor_row < len(self._keys) else None
        self._keys = keys
        table.clear()
        for key, s in zip(keys, summary.recent, strict=True):
            table.add_row(*span_row(s, self.colour), key=key)
        if selected is not None:
            base = selected.rsplit(":", 1)[0]
            for i, key in enumerate(keys):
                if key.rsplit(":", 1)[0] == base:
                    table.move_cursor(row=i)
                    break

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a span: its trace as a waterfall, with the span's input and output below."""
        index = event.cursor_row
        if 0 <= index < len(self.summary.recent):
            span = self.summary.recent[index]
            self.app.push_screen(WaterfallScreen(self.summary.trace(span.trace_id) or (span,), span))


def waterfall(spans: tuple[LLMSpan, ...], selected: LLMSpan, width: int = BAR_WIDTH, c: Colour = _plain) -> Text:
    """One line per span, indented under its parent, with a bar placed on the trace's time axis."""
    ids = {s.span_id for s in spans}
    children: dict[str, list[LLMSpan]] = {}
    for s in spans:
        children.setdefault(s.parent_id if s.parent_id in ids else "", []).append(s)
    start = min(s.start_ns for s in spans)
    total = max(max(s.end_ns for s in spans) - start, 1)
    out = Text(no_wrap=True, overflow="ellipsis")
    order: list[tuple[int, LLMSpan]] = []
    stack = [(0, s) for s in reversed(children.get("", []))]
    seen: set[str] = set()
    while stack:  # depth first, iteratively: a hostile parent chain cannot blow the stack or loop
        depth, s = stack.pop()
        if s.span_id in seen:
            continue
        seen.add(s.span_id)
        order.append((depth, s))
        stack.extend((depth + 1, c) for c in reversed(children.get(s.span_id, [])))
    for depth, s in order:
        left = int((s.start_ns - start) / total * width)
        size = max(1, round(s.duration_ns / total * width))
        label = f"{'  ' * min(depth, 10)}{s.name or s.kind or '?'}"
        style = "bold" if s.key == selected.key else ""
        out.append(f"{label[:38]:<38} ", style=style)
        out.append(" " * left)
        out.append("█" * min(size, width - left or 1), style=c("alarm") if s.status == "error" else c("ok"))
        out.append(" " * max(width - left - size, 0))
        out.append(f" {ms(s.duration_ns / 1e6):>6} {s.kind}", style=style)
        if s.model:
            out.append(f" {s.model}", style=c("stale"))
        out.append("\n")
    out.rstrip()
    return out


def span_detail(s: LLMSpan, c: Colour = _plain) -> Text:
    """The selected span's facts, then its input and output (already redacted and cut to size)."""
    out = Text()
    out.append(f"{s.name}  ", style="bold")
    out.append(f"{s.kind} · {s.provider}/{s.model} · {ms(s.duration_ns / 1e6)} · {s.status}")
    if s.error_type or s.error_message:
        out.append(f"\n{s.error_type}: {s.error_message}", style=c("alarm"))
    out.append(f"\ntrace {s.trace_id} span {s.span_id}\n", style=c("stale"))
    out.append("\ninput\n", style="bold underline")
    out.append(s.input or "-")
    out.append("\n\noutput\n", style="bold underline")
    out.append(s.output or "-")
    return out


class WaterfallScreen(_Themed):
    """A trace's spans on one time axis; the selected span's input and output below."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", id="waterfall.close")]
    DEFAULT_CSS = """
    WaterfallScreen { align: center middle; }
    WaterfallScreen > VerticalScroll { width: 100%; height: 100%; border: round $accent; background: $surface;
        padding: 0 1; }
    WaterfallScreen #waterfall { height: auto; margin-bottom: 1; }
    """

    def __init__(self, spans: tuple[LLMSpan, ...], selected: LLMSpan) -> None:
        super().__init__()
        self.spans = spans
        self.selected = selected

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = f"trace {self.selected.trace_id}"
            box.border_subtitle = "esc to go back"
            yield Static(waterfall(self.spans, self.selected, c=self.colour), id="waterfall")
            yield Static(span_detail(self.selected, self.colour), id="span-detail")
