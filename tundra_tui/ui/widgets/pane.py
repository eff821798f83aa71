"""Base for the six dashboard panes: render a typed part of the Frame to Text, repaint only the lines that changed.

SSH budget: Textual repaints a dirty region in full, so a pane that updated as one block would
rewrite every line each tick. Panes use the Line API instead and mark only changed lines dirty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from rich.console import Console
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from ...model.alerts import ERROR_ALARM, ERROR_WARN
from ...model.detail import TOTAL, DetailPart
from ...model.grouping import ASCENDING
from ...model.snapshot import Dashboard, Frame, Grouping
from ..chart import PANE_CHART_S, ChartSpec, rates_chart, stack, zoomed
from ..columns import footer
from ..fmt import rich_colour, span
from ..messages import RowChosen

P = TypeVar("P")
R = TypeVar("R")
RowKey = tuple[str, str]  # (grouping, key): what Enter opens in detail


class Pane(Widget, Generic[P], can_focus=True):
    """A bordered pane fed its typed part of each Frame (`part()` picks it, `view()` picks the rows in view and
    moves the selection onto them, `render_part()` draws them and changes nothing)."""

    DEFAULT_CSS = """
    Pane { border: round $pane-border; padding: 0 1; height: 1fr; }
    Pane:focus { border: round $primary; }
    """
    BINDINGS = [
        Binding("down,j", "select_row(1)", "Select the next row", id="row-down", show=False),
        Binding("up,k", "select_row(-1)", "Select the previous row", id="row-up", show=False),
        Binding("enter", "open_row", "Open the selected row (esc returns)", id="row-open", show=False),
        Binding("z,less_than_sign", "zoom(-1)", "Zoom the maximised pane's charts in", id="pane.zoom-in",
                show=False),
        Binding("Z,greater_than_sign", "zoom(1)", "Zoom the maximised pane's charts out", id="pane.zoom-out",
                show=False),
    ]
    TITLE = ""
    KEY = ""
    SPAN = ""  # the span the pane's figures cover when no header or footer of its own names it ("since start")
    ROW_TOP: int | None = None  # the line of the first selectable row; None: the pane's rows are not selectable

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = f"{self.KEY} {self.TITLE}"
        self._last: Text | None = None
        self._lines: list[Text] = []
        self._strips: list[Strip] = []
        self._part: P | None = None
        self.selected = 0  # the selected row, of all the pane's rows (drawn reversed while the pane has focus)
        self.top = 0  # the first row in view (the list scrolls to keep the selected row in view)
        self._keys: list[RowKey] = []  # every row's (grouping, key), in the order drawn
        self._in_view = 0  # rows drawn from `top` on
        self._chosen: RowKey | None = None  # the selected row's key when last drawn
        self.chart_form = False  # maximised: the pane draws its charts instead of its rows
        self._detail: DetailPart | None = None
        self._chart_key: tuple[object, ...] | None = None
        self.chart_span_s = PANE_CHART_S  # the chart form's span: z/Z step it, capped by the rollup's window
        self._window_s: int | None = None

    @property
    def inner_width(self) -> int:
        """Columns inside border and padding (a sane minimum before the first layout)."""
        return max(self.content_size.width, 20)

    @property
    def inner_height(self) -> int:
        return max(self.content_size.height, 3)

    def name_width(self, reserved: int) -> int:
        """Columns left for row names once `reserved` columns of figures are taken (at least 8)."""
        return max(self.inner_width - reserved, 8)

    def c(self, var: str) -> str:
        """A domain colour ($ok, $warn, $alarm, $stale) from the current theme, as Rich names it."""
        return rich_colour(self.app.theme_variables.get(var, ""))

    def rate_style(self, rate: float) -> str:
        """Error-rate colour: ok under the warn level, alarm above the alarm level (model/alerts.py
        `error_levels`: documented defaults, or the user's error_rate alerts), warn between."""
        warn, alarm = getattr(self.app, "error_levels", (ERROR_WARN, ERROR_ALARM))
        return self.c("alarm") if rate > alarm else self.c("warn") if rate >= warn else self.c("ok")

    def part(self, frame: Frame) -> P:
        """The piece of the frame this pane draws."""
        raise NotImplementedError

    def grouping(self, part: P) -> Grouping | None:
        """The grouping a pane's rows follow (`g`/`s`), shown in its subtitle; None for ungrouped panes."""
        return None

    def take(self, frame: Frame) -> None:
        """Draw this frame: the pane's part, or while maximised its charts of the totals."""
        self._window_s = frame.dashboard.window_s
        if self.chart_form:
            if frame.detail is not None and frame.detail.group == TOTAL:
                self.show_charts(frame.detail)
        else:
            self.show(self.part(frame))

    def show(self, part: P, force: bool = False) -> None:
        """Lay out the part; mark dirty only the lines whose text or style changed."""
        self._part = part
        if self.chart_form:
            return  # the charts are drawn from the frame's detail part (show_charts)
        grouping = self.grouping(part)
        items = []
        if grouping is not None:
            arrow = "↑" if grouping.sort in ASCENDING else "↓"  # name sorts a-z; every other, largest first
            items.append((f"by {grouping.group} {arrow}{grouping.sort}", 2))
        items.append((self.SPAN, 1))
        subtitle = footer(items, max(self.outer_size.width - 6, 0))  # inside the corners, with a rule each side
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle
        self._keys, self._in_view = [], 0  # view's rows_in_view sets them (a pane with no rows: none)
        rows = self.view(part)  # the selection changes here, before drawing: render_part only draws
        text = self._mark(self.render_part(part, rows))
        self._title(len(self._keys) - self._in_view)
        self._paint(text, force)

    def _title(self, hidden: int) -> None:
        """The border title, with how many rows do not fit ("+3 more"; ↓/j or the wheel scroll to them)."""
        title = f"{self.KEY} {self.TITLE}" + (f" +{hidden} more" if hidden > 0 else "")
        if self.border_title != title:
            self.border_title = title

    def _paint(self, text: Text, force: bool = False) -> None:
        """Mark dirty only the lines of `text` that differ from what is shown."""
        if text == self._last and not force:
            return
        self._last = text
        lines = list(text.split("\n", allow_blank=True))
        width = self.content_size.width
        old = self._lines
        self._lines = lines
        self._strips = [self._strip(line, width) for line in lines]
        if force or not old or not width:
            self.refresh()
            return
        for y in range(max(len(old), len(lines))):
            if y >= len(old) or y >= len(lines) or old[y] != lines[y]:
                self.refresh(Region(0, y, width, 1))

    def rows_in_view(self, rows: Sequence[R], room: int, key: Callable[[R], RowKey], follow: bool = True) -> list[R]:
        """The rows that fit in `room` lines, scrolled to keep the selected one in view; every row's key is
        kept for Enter. Panes with selectable rows draw what this returns, from line ROW_TOP on. `follow`: the
        keys are unique, and the selection stays on its key as rows reorder (else it stays on its place)."""
        self._keys = keys = [key(r) for r in rows]
        room = max(room, 0)
        chosen = self._chosen
        if follow and chosen in keys:  # rows reorder as the figures change: the selection stays on its key
            self.selected = keys.index(chosen)
        if follow and not self.has_focus:  # unfocused, the list shows the sort's first rows, not a selection
            self.top = 0  # that the reorder carried below them (then the selection goes back to the first)
            self.selected = self.selected if self.selected < room else 0
        self.selected = max(0, min(self.selected, len(rows) - 1))
        self._chosen = keys[self.selected] if keys else None
        top = max(min(self.top, self.selected), self.selected - room + 1)
        self.top = max(0, min(top, len(rows) - room))
        shown = list(rows[self.top : self.top + room])
        self._in_view = len(shown)
        return shown

    def _mark(self, text: Text) -> Text:
        """Reverse the selected row's line while the pane has focus."""
        at = self.selected - self.top
        if self.ROW_TOP is None or not self.has_focus or not 0 <= at < self._in_view:
            return text
        lines = list(text.split("\n", allow_blank=True))
        if self.ROW_TOP + at < len(lines):
            lines[self.ROW_TOP + at].stylize("reverse")
        return Text("\n").join(lines)

    def selected_key(self) -> RowKey | None:
        """(grouping, key) of the selected row, or None when there is none."""
        return self._keys[self.selected] if self.ROW_TOP is not None and self.selected < len(self._keys) else None

    def action_select_row(self, step: int) -> None:
        self._select(self.selected + step)

    def _select(self, row: int) -> None:
        self.selected = max(0, min(row, len(self._keys) - 1))
        self._chosen = self._keys[self.selected] if self._keys else None
        self._redraw()

    def action_open_row(self) -> None:
        chosen = self.selected_key()
        if chosen is not None:
            self.post_message(RowChosen(*chosen))

    def on_click(self, event: events.Click) -> None:
        """A click on a row selects it (the pane takes focus on the same click)."""
        offset = event.get_content_offset(self)
        if self.ROW_TOP is None or offset is None or self.chart_form:
            return
        at = offset.y - self.ROW_TOP
        if 0 <= at < self._in_view:
            self._select(self.top + at)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """The wheel moves the selection, and the list scrolls with it."""
        if self.ROW_TOP is not None and not self.chart_form:
            event.stop()
            self.action_select_row(1)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self.ROW_TOP is not None and not self.chart_form:
            event.stop()
            self.action_select_row(-1)

    def on_focus(self) -> None:
        self._redraw()

    def on_blur(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        if self.chart_form:
            if self._detail is not None:
                self.show_charts(self._detail, force=True)
        elif self._part is not None:
            self.show(self._part, force=True)

    def _strip(self, line: Text, width: int) -> Strip:
        console: Console = self.app.console
        line = line.copy()
        line.no_wrap = True
        line.overflow = "ellipsis"
        segments = list(line.render(console))
        return Strip(Segment.adjust_line_length(segments, max(width, 0)), max(width, 0))

    def render_line(self, y: int) -> Strip:
        """One content line (Line API)."""
        width = self.content_size.width
        if y < len(self._strips):
            strip = self._strips[y]
            if strip.cell_length != width:
                strip = self._strip(self._lines[y], width)
                self._strips[y] = strip
        else:
            strip = Strip.blank(width)
        return strip.apply_style(self.rich_style)

    def on_resize(self) -> None:
        """Widths and row counts depend on the size: lay the last part out again."""
        if self.chart_form and self._detail is not None:
            self.show_charts(self._detail, force=True)
        elif self._part is not None:
            self.show(self._part, force=True)

    # -- the chart form (a maximised pane) ----------------------------------------------------
    def charts(self, detail: DetailPart) -> list[ChartSpec]:
        """This pane's charts over the totals (the chart form shown while it is maximised)."""
        return [rates_chart(detail)]

    def action_zoom(self, step: int) -> None:
        """Step the chart form's span (capped by window_s); the app's next frame brings its buckets."""
        if not self.chart_form:
            return
        self.chart_span_s = zoomed(self.chart_span_s, step, self._window_s)
        tick = getattr(self.app, "tick", None)  # the app builds frames; ask it for one at the new span now
        if callable(tick):
            tick()

    def set_chart_form(self, on: bool) -> None:
        """Switch between the pane's rows and its charts; the charts come with the next frame."""
        self.chart_form = on
        self._detail = None
        self._title(0)  # the charts cover every row
        if on:
            self.border_subtitle = "all rows together"  # not the grouping's rows (back to them: show() says so)
        else:
            self._redraw()

    def show_charts(self, detail: DetailPart, force: bool = False) -> None:
        """Draw the charts of the totals' detail part (they change only when a bucket closes)."""
        self._detail = detail
        key = (tuple(self.charts(detail)), self.app.theme)
        if key == self._chart_key and not force:
            return
        self._chart_key = key
        palette = self.app.theme_variables.get
        head = Text(f"last {span(detail.span_s)} in {span(detail.bucket_s)} buckets (1-6 or esc: rows)", style="bold")
        self._paint(head + Text("\n") + stack(key[0], self.inner_width, self.inner_height - 1,
                                               lambda v: palette(v, "")), force)

    def view(self, part: P) -> Sequence[Any]:
        """The part's rows that fit, the selection kept on them (through rows_in_view); none by default."""
        return []

    def render_part(self, part: P, rows: Sequence[Any]) -> Text:
        """The pane's content, with `rows` (view's) as its rows; lines are cut to the width when laid out."""
        raise NotImplementedError


class GroupedPane(Pane[tuple[Grouping, Dashboard]]):
    """A pane drawn from the grouped rows beside the whole dashboard (its totals and windows)."""

    def part(self, frame: Frame) -> tuple[Grouping, Dashboard]:
        return frame.grouping, frame.dashboard

    def grouping(self, part: tuple[Grouping, Dashboard]) -> Grouping:
        return part[0]
