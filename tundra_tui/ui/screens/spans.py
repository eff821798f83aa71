"""`x`: recent LLM spans from the trace port, per-model span rollups, and (Enter) one trace as a waterfall.

Spans are their own source: nothing here is added into the DogStatsD panes. Every string in a
span came from an app over the network, so cells are rich `Text` objects (DataTable would read
a plain `str` as markup) and the waterfall is built from `Text` alone.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ...model.snapshot import SessionStatus
from ...model.spans import SpanSummary, tree_order
from ...traces import LLMSpan
from ..columns import Column, cut_names, fit, render, with_hidden
from ..fmt import clip, clock, num, rich_colour
from ..fmt import fit as fit_cells
from ..fmt import ms as _ms

COLUMNS = ("time", "ml_app/service", "kind", "provider/model", "tokens in/out", "duration", "status", "error")
MODEL = COLUMNS.index("provider/model")  # the name column: it gets whatever width the others leave
# kind next to duration: it says what a row without a model is (an agent, a tool); time after tokens: the rows
# are in order of arrival already; one app is the usual. At 60 columns: model, kind, duration, status (Enter: all)
PRIORITY = {"duration": 8, "kind": 7, "status": 6, "tokens in/out": 5, "time": 4, "error": 3, "ml_app/service": 2}
NAMED = tuple(COLUMNS.index(h) for h in ("ml_app/service", "kind", "error"))  # from the app: cut apart past TEXT_MAX
INDENT_MAX = 4  # a child's kind is indented under its parent's, to this depth
TEXT_MAX = 24  # so that one long app or error name cannot push every figure off the screen
LABEL_MAX = 38  # a waterfall's name column at most: the bar gets the rest
BAR_MIN = 10  # a waterfall bar narrower than this takes cells back from the others, in the order of SHRINK:
SHRINK = (("model", 8), ("kind", 4), ("bar", 6), ("label", 8), ("model", 0), ("bar", 1))  # each down to this


def ms(x: float | None) -> str:
    """Span durations: LLM calls run for seconds, local spans for fractions of a millisecond."""
    return f"{x:.2f}ms" if x is not None and x < 10 else _ms(x)


Colour = Callable[[str], str]  # a domain colour ($ok, $alarm, $stale) of the current theme, as Rich names it


def _plain(var: str) -> str:
    return ""


def span_row(s: LLMSpan, c: Colour = _plain, depth: int = 0) -> list[Text]:
    """The list row of one span, its kind indented `depth` steps under its parent's."""
    tokens = "-" if s.input_tokens is None and s.output_tokens is None else \
        f"{num(s.input_tokens)}/{num(s.output_tokens)}"
    model = "/".join(p for p in (s.provider, s.model) if p) or "-"
    kind = "  " * min(depth, INDENT_MAX) + (s.kind or "-")
    return [Text(clock(s.start_ns / 1e9)), Text(s.ml_app or s.service or "-"), Text(kind), Text(model),
            Text(tokens, justify="right"), Text(ms(s.duration_ns / 1e6), justify="right"),
            Text(s.status, style=c("alarm") if s.status == "error" else c("ok")), Text(s.error_type or "")]


def span_table(spans: list[tuple[int, LLMSpan]], width: int,
               c: Colour = _plain) -> tuple[list[Text], list[list[Text]]]:
    """Headers and rows of the span list ((depth, span) in tree order) within `width` cells of a DataTable (which
    pads each column one cell on each side): figures whole, columns dropped by priority and counted in the model's
    header, which gets whatever width is left, names cut so that no two read the same."""
    rows = [span_row(s, c, depth) for depth, s in spans]
    for i in NAMED:
        for row, cut in zip(rows, cut_names([r[i].plain for r in rows], TEXT_MAX), strict=True):
            row[i] = Text(cut, style=row[i].style, justify=row[i].justify)
    figures = [Column(h, tuple(r[i].plain for r in rows), PRIORITY[h]) for i, h in enumerate(COLUMNS) if i != MODEL]
    kept, name_w = fit(figures, width - 2, name_min=len(COLUMNS[MODEL]), gap=1)
    if len(kept) < len(figures):  # room for the header to say so (`provider/model +3`), if need be for one less
        kept, name_w = fit(figures, width - 2, name_min=len(f"{COLUMNS[MODEL]} +{len(figures)}"), gap=1)
    shown = [i for i, h in enumerate(COLUMNS) if i == MODEL or any(k.header == h for k in kept)]
    names = cut_names([r[MODEL].plain for r in rows], name_w)
    for row, name in zip(rows, names, strict=True):
        row[MODEL] = Text(name)
    headers = [Text(with_hidden(COLUMNS[i], len(figures) - len(kept), name_w) if i == MODEL else COLUMNS[i])
               for i in shown]
    return headers, [[r[i] for i in shown] for r in rows]


def rollup_table(summary: SpanSummary, width: int, c: Colour = _plain) -> Text:
    """Per (model, provider): spans, errors, tokens and p95, as the trace port saw them; figures whole, the
    least needed dropped first when `width` is short; the name column no wider than its longest name, so that on a
    wide screen the figures stay beside the names."""
    models = summary.models
    columns = [Column("spans", tuple(num(m.spans) for m in models), 5),
               Column("errors", tuple(num(m.errors) for m in models), 4),
               Column("tokens in", tuple(num(m.input_tokens) for m in models), 2),
               Column("tokens out", tuple(num(m.output_tokens) for m in models), 1),
               Column("p95", tuple(ms(m.p95_ms) for m in models), 3)]
    names = [f"{m.provider}/{m.model}" if m.provider else m.model for m in models]
    styles = {(i, 1): c("alarm") for i, m in enumerate(models) if m.errors}
    whole = max([cell_len("model"), *(cell_len(n) for n in names)]) + sum(col.width for col in columns)
    return render("model", names, columns, min(width, whole), styles=styles)  # figures beside the longest name


def counters_line(summary: SpanSummary, status: SessionStatus, c: Colour = _plain, width: int = 200) -> Text:
    """Where the spans come from and what was received, dropped or not forwarded, as `label N` segments
    wrapped between segments within `width` cells: a label never sits on another line than its figure."""
    where = status.traces or status.traces_note or "replayed from the capture's sidecar"
    source = [(f"trace port {where}", "")]
    if status.traces_forward:
        source.append((f"→ {status.traces_forward}", ""))
    figures = [(f"received {num(summary.received)}", ""), (f"llm {num(summary.llm)}", ""),
               (f"dropped {num(summary.dropped)}", c("alarm") if summary.dropped else ""),
               (f"agent errors {num(summary.forward_errors)}", c("alarm") if summary.forward_errors else "")]
    if status.spans_record_dropped:
        figures.append((f"sidecar drops {num(status.spans_record_dropped)}", c("alarm")))
    segments = [(" ", *s) for s in source] + [("   " if i == 0 else "  ", *f) for i, f in enumerate(figures)]
    line = Text()
    used = 0
    for n, (gap, text, style) in enumerate(segments):
        if n and used + len(gap) + cell_len(text) > width:  # the segment goes whole onto the next line
            line.append("\n")
            used = 0
        elif n:
            line.append(gap)
            used += len(gap)
        line.append(text, style=style)
        used += cell_len(text)
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
    SpansScreen DataTable { height: 1fr; scrollbar-gutter: stable; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.summary = SpanSummary()
        self._rows: tuple[LLMSpan, ...] = ()  # the spans as listed: traces newest first, each root before its children
        self._keys: tuple[str, ...] = ()
        self._width = 0  # the width the table's columns were last fitted to
        self._status: SessionStatus | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "LLM spans (trace port)"
            box.border_subtitle = "enter: trace waterfall · x or esc to close"
            yield Static(id="spans-counters")
            yield Static(id="spans-models")
            yield DataTable(id="spans-table", cursor_type="row", zebra_stripes=True)

    def on_resize(self) -> None:
        """Columns refitted to the new width once it is laid out."""
        self.call_after_refresh(self._refit)

    def _refit(self) -> None:
        if self._status is not None:
            self.show(self.summary, self._status)

    def show(self, summary: SpanSummary, status: SessionStatus) -> None:
        """Repaint from the spans part: a cursor on the first row stays there, on the newest span; one moved down
        stays on its span while new ones arrive above it."""
        self.summary, self._status = summary, status
        counters = self.query_one("#spans-counters", Static)
        width = counters.content_size.width or self.app.size.width - 4  # before the first layout: the screen's
        counters.update(counters_line(summary, status, self.colour, width))
        models = self.query_one("#spans-models", Static)
        models.update(rollup_table(summary, max(models.content_size.width, 20), self.colour))
        listed = summary.by_trace()
        spans = tuple(s for _, s in listed)
        keys = tuple(f"{s.trace_id}:{s.span_id}:{i}" for i, s in enumerate(spans))
        table = self.query_one("#spans-table", DataTable)
        width = max(table.scrollable_content_region.width, 20)
        if keys == self._keys and width == self._width and table.columns:
            return
        # on the first row the cursor follows the newest span (as htop's and k9s's do): the rebuilt table's first
        # row, and its top in view; moved down, it stays on the span the user chose while new ones arrive above
        selected = self._keys[table.cursor_row] if self._keys and 0 < table.cursor_row < len(self._keys) else None
        self._rows, self._keys, self._width = spans, keys, width
        headers, rows = span_table(listed, width, self.colour)
        table.clear(columns=True)
        table.add_columns(*headers)
        for key, row in zip(keys, rows, strict=True):
            table.add_row(*row, key=key)
        if selected is not None:
            base = selected.rsplit(":", 1)[0]
            for i, key in enumerate(keys):
                if key.rsplit(":", 1)[0] == base:
                    table.move_cursor(row=i)
                    break

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a span: its trace as a waterfall, with the span's input and output below."""
        index = event.cursor_row
        if 0 <= index < len(self._rows):
            span = self._rows[index]
            self.app.push_screen(WaterfallScreen(self.summary.trace(span.trace_id) or (span,), span))


def waterfall(spans: tuple[LLMSpan, ...], selected: LLMSpan, width: int = 120, c: Colour = _plain) -> Text:
    """One line per span within `width` cells: its name indented under its parent, a bar placed on the trace's
    time axis (the bar takes what the name and the figures leave), its duration, kind and model."""
    start = min(s.start_ns for s in spans)
    total = max(max(s.end_ns for s in spans) - start, 1)
    order = tree_order(spans)
    labels = [f"{'  ' * min(depth, 10)}{s.name or s.kind or '?'}" for depth, s in order]
    took = [ms(s.duration_ns / 1e6) for _, s in order]
    dur_w = max(6, *(len(x) for x in took))
    label_w, bar_w, kind_w, model_w = _fall_widths(
        width - 1 - (dur_w + 2), min(LABEL_MAX, max(cell_len(x) for x in labels), max(width // 3, 8)),
        min(max(cell_len(s.kind) for _, s in order), 12),
        min(max(cell_len(s.model) + 1 if s.model else 0 for _, s in order), 28))  # then ` 1234ms kind model`
    out = Text()
    for (_, s), label, dur in zip(order, labels, took, strict=True):
        left = min(int((s.start_ns - start) / total * bar_w), bar_w - 1)
        size = min(max(1, round(s.duration_ns / total * bar_w)), bar_w - left)
        style = "bold" if s.key == selected.key else ""
        out.append(fit_cells(label, label_w) + " ", style=style)
        out.append(" " * left)
        out.append("█" * size, style=c("alarm") if s.status == "error" else c("ok"))
        out.append(" " * (bar_w - left - size))
        out.append(f" {dur:>{dur_w}} {fit_cells(s.kind, kind_w)}", style=style)
        if s.model and model_w:  # cut to the width it was given, as the kind is: the bar took the rest
            out.append(f" {clip(s.model, model_w - 1)}", style=c("stale"))
        out.append("\n")
    out.rstrip()
    return out


def _fall_widths(room: int, label: int, kind: int, model: int) -> tuple[int, int, int, int]:
    """The name, bar, kind and model widths of a waterfall line within `room` cells (what the durations leave):
    each as wide as its widest and the bar the rest, at least BAR_MIN; where that does not fit, cells are taken
    back in the order of SHRINK (a model's width includes its space)."""
    w = {"label": label, "kind": kind, "model": model, "bar": BAR_MIN}
    for part, least in SHRINK:
        cut = max(min(sum(w.values()) - room, w[part] - least), 0)
        w[part] -= w[part] if cut and not least else cut  # to nothing: all of it (a stub of a name says nothing)
    return w["label"], max(room - w["label"] - w["kind"] - w["model"], 1), w["kind"], w["model"]


def ids_line(s: LLMSpan, width: int | None = None) -> str:
    """`trace T span S` on one line of `width` cells: where it does not fit, the words go before the ids (a 32-digit
    trace id reads as one, and the border names it), and only then is it cut, with an ellipsis."""
    forms = (f"trace {s.trace_id} span {s.span_id}", f"{s.trace_id} span {s.span_id}", f"{s.trace_id} {s.span_id}")
    if width is None:
        return forms[0]
    return next((f for f in forms if cell_len(f) <= width), clip(forms[-1], width))


def span_detail(s: LLMSpan, c: Colour = _plain, width: int | None = None) -> Text:
    """The selected span's facts (every column of its row in the list, which a narrow screen leaves out), then its
    input and output (already redacted and cut to size); its ids on one line of `width` cells."""
    out = Text()
    model = "/".join(p for p in (s.provider, s.model) if p)
    facts = " · ".join(p for p in (s.kind, model, ms(s.duration_ns / 1e6), s.status) if p)
    apart = width is not None and cell_len(f"{s.name}  {facts}") > width  # a line each, not a fact stranded
    out.append(s.name + ("\n" if apart else "  "), style="bold")
    out.append(facts)
    row = span_row(s)
    tokens = row[COLUMNS.index("tokens in/out")].plain
    out.append("\n" + " · ".join(p for p in (f"at {row[0].plain}", row[1].plain,
                                             "" if tokens == "-" else f"tokens {tokens}") if p))
    if s.error_type or s.error_message:
        out.append(f"\n{s.error_type}: {s.error_message}", style=c("alarm"))
    out.append(f"\n{ids_line(s, width)}\n", style=c("stale"))
    out.append("\ninput\n", style="bold underline")
    out.append(s.input or "-")
    out.append("\n\noutput\n", style="bold underline")
    out.append(s.output or "-")
    return out


class _Fall(Static):
    """The waterfall's lines, fitted again whenever its width changes (a scroll bar coming or going, too)."""

    def on_resize(self) -> None:
        """Refitted once laid out at the new width."""
        screen = self.screen
        if isinstance(screen, WaterfallScreen):
            self.call_after_refresh(screen.fit)


class WaterfallScreen(_Themed):
    """A trace's spans on one time axis; the selected span's input and output below."""

    BINDINGS = [Binding("escape,q,enter", "dismiss", "Close", id="waterfall.close")]
    DEFAULT_CSS = """
    WaterfallScreen { align: center middle; }
    WaterfallScreen > VerticalScroll { width: 100%; height: 100%; border: round $accent; background: $surface;
        padding: 0 1; }
    WaterfallScreen #waterfall { height: auto; margin-bottom: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, spans: tuple[LLMSpan, ...], selected: LLMSpan) -> None:
        super().__init__()
        self.spans = spans
        self.selected = selected

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = f"trace {self.selected.trace_id}"
            box.border_subtitle = "esc to go back"
            yield _Fall(id="waterfall")
            yield Static(span_detail(self.selected, self.colour, self.app.size.width - 6), id="span-detail")

    def on_mount(self) -> None:
        """The bars fitted to the width once it is laid out."""
        self.call_after_refresh(self.fit)

    def fit(self) -> None:
        """The waterfall and the span's ids drawn to the width they have now."""
        fall = self.query_one("#waterfall", Static)
        width = fall.content_size.width or self.app.size.width - 6
        fall.update(waterfall(self.spans, self.selected, width, self.colour))
        self.query_one("#span-detail", Static).update(span_detail(self.selected, self.colour, width))
