"""Enter on a pane's row: one key (a model, provider, agent or profile, following the grouping) in detail.

Figures come from each refresh's Frame: the key's grouped row, its DetailPart (charts, error types,
profiles, the trace port's rollup) and its events; Esc returns. Names and event text came from the
wire: they are drawn as rich `Text`, never markup. Each block repaints only the lines that changed,
and the charts change only when a bucket closes.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen

from ...model.detail import TOTAL, DetailPart
from ...model.snapshot import GROUP_TAGS, EventRow, Frame, GroupRow
from ..chart import SPANS, ChartSpec, detail_charts, stack, zoomed
from ..columns import footer
from ..fmt import clock, covers, fit, ms, num, pct, rich_colour, span, usd
from ..widgets.lines import LinesView

MAX_EVENTS = 10
CHART_H = (8, 14)  # lines per chart: at least, at most


def events_of(group: str, key: str, events: tuple[EventRow, ...]) -> list[EventRow]:
    """The newest events tagged with this key (`model:gpt-4o`...), newest first."""
    tag = f"{GROUP_TAGS.get(group, group)}:{key}"
    return [e for e in reversed(events) if tag in e.tags][:MAX_EVENTS]


def detail_wanted(screen: Screen[object], pane_span_s: int | None) -> tuple[str, str, int] | None:
    """The detail part a frame should carry: the detail screen's key, or the totals over a maximised pane's span."""
    if isinstance(screen, DetailScreen):
        return screen.request()
    return (TOTAL, TOTAL, pane_span_s) if pane_span_s is not None else None


class DetailScreen(Screen[None]):
    """The selected key's figures, rate/latency/cost charts over a zoomable span, and its last events."""

    BINDINGS = [
        Binding("escape,q", "dismiss", "Back", id="detail.back"),
        Binding("z,less_than_sign", "zoom(-1)", "Zoom in", id="detail.zoom-in"),
        Binding("Z,greater_than_sign", "zoom(1)", "Zoom out", id="detail.zoom-out"),
    ]
    DEFAULT_CSS = """
    DetailScreen > VerticalScroll { border: round $primary; padding: 0 0 0 1; scrollbar-size-vertical: 1; }
    DetailScreen #detail-charts { margin: 1 0; }
    """

    def __init__(self, group: str, key: str) -> None:
        super().__init__()
        self.group, self.key = group, key
        self.row: GroupRow | None = None
        self.part: DetailPart | None = None
        self.span_s = SPANS[1]  # the charts' time span; z/Z step it through SPANS, capped by window_s
        self._frame: Frame | None = None
        self._drawn: tuple[object, ...] | None = None  # what the charts were last drawn from

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = fit(f"{self.group} {self.key}", 60).rstrip()
            box.border_subtitle = "z/Z zoom · esc to return"
            yield LinesView(id="detail-figures")
            yield LinesView(id="detail-charts")
            yield LinesView(id="detail-more", grow_only=True)  # events come and go: keep its height

    def on_mount(self) -> None:
        self.query_one("#detail-figures", LinesView).show(Text("waiting for the next refresh…"))

    def request(self) -> tuple[str, str, int]:
        """What the next frame should carry for this screen: (grouping, key, span)."""
        return self.group, self.key, self.span_s

    def show(self, frame: Frame) -> None:
        """Draw the key's row of this frame's grouping (it may have left the window: then say so)."""
        self._frame = frame
        g = frame.grouping
        self.span_s = zoomed(self.span_s, 0, frame.dashboard.window_s)  # a window that shrank caps it
        self.row = next((r for r in g.rows if r.key == self.key), None) if g.group == self.group else None
        part = frame.detail
        if part is not None and (part.group, part.key) == (self.group, self.key):
            self.part = part
        width = self._width()
        self.query_one("#detail-figures", LinesView).show(self.figures(width))
        self._draw_charts(width)
        self.query_one("#detail-more", LinesView).show(self.more(frame, width))

    def _width(self) -> int:
        """Columns for a line: the blocks' own width once laid out (a scrollbar may take one)."""
        laid = self.query_one("#detail-charts", LinesView).size.width
        return max(laid or self.size.width - 4, 20)

    def on_resize(self) -> None:
        if self._frame is not None:
            self.call_after_refresh(self.show, self._frame)

    def on_lines_view_resized(self) -> None:
        """The scrollbar came (or went) once the blocks grew: charts drawn for the old width would be cut
        at their right edge until the next bucket closed."""
        if self._frame is not None:
            self.show(self._frame)

    def action_zoom(self, step: int) -> None:
        """Step the charts' span (capped by window_s); the next frame brings its buckets."""
        self.span_s = zoomed(self.span_s, step, self._frame.dashboard.window_s if self._frame is not None else None)
        self._draw_charts(self._width())
        tick = getattr(self.app, "tick", None)  # the app builds frames; ask it for one at the new span now
        if callable(tick):
            tick()

    def chart_specs(self) -> list[ChartSpec]:
        """The charts for the current part, if it covers the current span."""
        part = self.part
        if part is None or part.span_s != self.span_s:
            return []
        return detail_charts(part)

    def _draw_charts(self, width: int) -> None:
        specs = self.chart_specs()
        height = max(CHART_H[0], min(CHART_H[1], (self.size.height - 10) // 3))
        palette = self.app.theme_variables.get
        key = (tuple(specs), width, height, self.app.theme, self.span_s)
        if key == self._drawn:
            return  # nothing moved: no bucket closed since the last frame
        self._drawn = key
        head = Text(f"span {span(self.span_s)} (z/Z)", style="bold")
        if not specs:
            body = Text("\ncharts: waiting for the next refresh…")
        else:
            body = Text("\n").append_text(stack(specs, width, height * len(specs), lambda v: palette(v, "")))
        self.query_one("#detail-charts", LinesView).show(head + body)

    def figures(self, width: int) -> Text:
        """Counts, tokens, cost and latency of the key, two figures to a line."""
        r = self.row
        if r is None:
            return Text(f"no data for {self.group} {self.key} now")
        pairs = [("requests", num(r.requests)), ("errors", f"{num(r.errors)} ({pct(r.error_rate)})"),
                 ("tokens in", num(r.input_tokens)), ("tokens out", num(r.output_tokens)),
                 ("cost", "…" if r.pricing else usd(r.cost_usd)), ("$/min", usd(r.cost_per_min)),
                 ("req/s", f"{r.req_rate:.2f}"), ("tok/s", num(r.tok_rate))]
        col = min(max(width // 2, 20), 40)
        out = Text(no_wrap=True)
        for i in range(0, len(pairs), 2):
            for name, value in pairs[i:i + 2]:
                out.append(f"{name:<11}", style="bold")
                out.append(fit(value, col - 11))
            out.append("\n")
        out.append("p50 / p95 / p99 ", style="bold")
        out.append(f"{ms(r.p50)} / {ms(r.p95)} / {ms(r.p99)}")
        if self._frame is not None:  # what each figure covers, in words
            d = self._frame.dashboard
            spans = [(f"counts, cost, p50-p99: {covers(d.totals.since, d.as_of, d.replay)}", 2),
                     (f"req/s, tok/s, $/min: last {span(d.rate_window_s)} avg", 3)]
            out.append("\n" + footer(spans, width), style=rich_colour(self.app.theme_variables.get("stale", "")))
        return out

    def more(self, frame: Frame, width: int) -> Text:
        """Errors by type, the profiles that served the key, its spans rollup, and its last errors and events."""
        out = Text(no_wrap=True)
        part = self.part
        c = self.app.theme_variables.get
        if part is not None:
            out.append("errors by type  ", style="bold")
            types = [f"{name} {num(n)}" for name, n in part.error_types]
            if part.untyped_errors:
                types.append(f"(no type) {num(part.untyped_errors)}")
            out.append(fit(" · ".join(types) or "none", width - 16).rstrip() + "\n")
            out.append("served by       ", style="bold")
            served = " · ".join(f"{name} {num(n)}" for name, n in part.profiles)
            out.append(fit(served or "no profile named", width - 16).rstrip() + "\n")
            out.append_text(self._spans(part, width))
        out.append("\nlast errors and events\n", style="bold")
        events = events_of(self.group, self.key, frame.dashboard.events)
        for e in events:
            style = rich_colour(c("alarm", "")) if e.alert_type == "error" else ""
            out.append(f"{clock(e.ts)} {e.alert_type:<8}", style=style or "bold")
            out.append(fit(f" {e.text or e.title}", width - 17).rstrip() + "\n")
        if not events:
            out.append("none for it\n")
        return out.append("\n" * (MAX_EVENTS - max(len(events), 1)))  # a fixed height: no layout as they come

    def _spans(self, part: DetailPart, width: int) -> Text:
        """The trace port's rollup for the key: its own source, never added into the DogStatsD figures."""
        out = Text(no_wrap=True)
        out.append("spans (trace port, a separate source)\n", style="bold")
        if self.group in ("agent", "profile"):
            return out.append("  spans name models and providers, not agents or profiles\n")
        if not part.spans:
            return out.append("  no LLM spans for it\n")
        out.append(fit("  model", max(width - 42, 10)) + "   spans errors   in/out tokens     p95\n", style="bold")
        for m in part.spans[:5]:
            out.append(fit(f"  {m.model} {m.provider}", max(width - 42, 10)))
            out.append(f" {m.spans:>7} {m.errors:>6} {num(m.input_tokens):>7}/{num(m.output_tokens):<7}"
                       f" {ms(m.p95_ms):>7}\n")
        return out


