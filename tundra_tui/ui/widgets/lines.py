"""A block of Text drawn with the Line API: only the lines that changed are repainted.

Textual repaints a refreshed region in full; a Static rewrites every one of its lines on each
update. The detail screen updates every refresh, so its blocks repaint line by line instead
(the same reason the panes do, ui/widgets/pane.py), keeping it inside the SSH budget.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget


class LinesView(Widget):
    """Shows a Text, one line per row; its height follows the line count (never shrinks when `grow_only`:
    a height change is a layout, and a layout repaints the whole screen)."""

    DEFAULT_CSS = "LinesView { height: auto; }"

    class Resized(Message):
        """Its width changed (a scrollbar came or went beside it): text laid out to the width needs redoing."""

    def __init__(self, *, id: str | None = None, grow_only: bool = False) -> None:
        super().__init__(id=id)
        self.grow_only = grow_only
        self._lines: list[Text] = []
        self._strips: list[Strip | None] = []

    @property
    def text(self) -> Text:
        """What is shown, as one Text."""
        return Text("\n").join(self._lines)

    def show(self, text: Text) -> None:
        """Show `text`; mark dirty only the lines whose text or style changed."""
        lines = list(text.split("\n", allow_blank=True))
        if lines and not lines[-1].plain and len(lines) > 1:
            lines.pop()  # a trailing newline is not a line
        old = self._lines
        if self.grow_only and len(lines) < len(old):
            lines += [Text()] * (len(old) - len(lines))
        if lines == old:
            return
        self._lines = lines
        self._strips = [None] * len(lines)
        if len(lines) != len(old):
            self.styles.height = len(lines)
            self.refresh(layout=True)
            return
        width = self.size.width
        for y, (a, b) in enumerate(zip(old, lines, strict=True)):
            if a != b:
                self.refresh(Region(0, y, width, 1))

    def render_line(self, y: int) -> Strip:
        """One line (Line API), cut or padded to the width."""
        width = self.size.width
        if y >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        strip = self._strips[y]
        if strip is None or strip.cell_length != width:
            line = self._lines[y].copy()
            line.no_wrap = True
            line.overflow = "ellipsis"
            segments = list(line.render(self.app.console))
            strip = Strip(Segment.adjust_line_length(segments, max(width, 0)), max(width, 0))
            self._strips[y] = strip
        return strip.apply_style(self.rich_style)

    def on_resize(self) -> None:
        self._strips = [None] * len(self._lines)
        self.post_message(self.Resized())
