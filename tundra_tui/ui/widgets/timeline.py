"""The replay timeline: the head's position over the whole capture, with error spikes marked."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import Static

from ...model.snapshot import TimelinePart
from ...model.timeline import spikes
from ..fmt import rich_colour
from ..messages import SeekAsked


def _mmss(seconds: float) -> str:
    s = int(max(seconds, 0))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


class Timeline(Static):
    """One line: `[━━━━●───!──]  00:23/01:00  2x`; a click on the bar seeks there."""

    DEFAULT_CSS = "Timeline { height: 1; padding: 0 1; background: $surface; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._errors: dict[int, int] = {}
        self._scanned: tuple[tuple[int, int], ...] | None = None
        self._last: Text | None = None
        self._bar: tuple[float, float, int] | None = None  # (start s, end s, columns) of the bar last drawn

    def show(self, part: TimelinePart) -> None:
        """Redraw from the head's position and the capture's error marks (none until they are scanned)."""
        rp = part.position
        if part.errors is not None and part.errors is not self._scanned:
            self._scanned, self._errors = part.errors, dict(part.errors)
        start, end = rp.start_ns / 1e9, rp.end_ns / 1e9
        pos = rp.position_ns / 1e9
        speed = "max" if rp.speed is None else f"{rp.speed:g}x"
        state = "❚❚" if rp.paused else "■" if rp.position_ns >= rp.end_ns and part.indexed >= 1 else "▶"
        label = f" {_mmss(pos - start)}/{_mmss(end - start)} {speed} {state}"
        if part.indexed < 1:  # still reading the capture: the bar spans the estimated whole, the index part of it
            label += f" indexing… {int(part.indexed * 100)}%"
            end = start + (end - start) / max(part.indexed, 0.01)
        width = max(self.size.width - 2 - len(label) - 2, 10)
        reach = int(min(part.indexed, 1.0) * width) if part.indexed < 1 else width
        cols = spikes(self._errors, int(start), int(end), width)
        top = max(cols) or 1
        head = min(int((pos - start) / max(end - start, 1e-9) * width), width - 1)
        self._bar = (start, end, width)
        v = {k: rich_colour(self.app.theme_variables.get(k, "")) for k in ("primary", "alarm", "warn", "stale")}
        out = Text(no_wrap=True)
        out.append("▕")
        for i, n in enumerate(cols):
            if i == head:
                out.append("●", style="bold " + v.get("primary", ""))
            elif n and n >= top * 0.5:
                out.append("!", style="bold " + v.get("alarm", ""))
            elif n:
                out.append("╍", style=v.get("warn", ""))
            elif i >= reach:
                out.append("┄", style=v.get("stale", ""))  # not indexed yet
            else:
                out.append("━" if i < head else "─", style=v.get("primary", "") if i < head else v.get("stale", ""))
        out.append("▏")
        out.append(label, style=("bold " + v.get("warn", "")) if part.waiting else "")
        if out != self._last:
            self._last = out
            self.update(out)

    def on_click(self, event: events.Click) -> None:
        """Seek to the capture time under the pointer: column i of the bar is where the head shows at i."""
        offset = event.get_content_offset(self)
        if self._bar is None or offset is None:
            return
        start, end, width = self._bar
        col = offset.x - 1  # the bar's columns start after its left edge mark
        if 0 <= col < width:
            self.post_message(SeekAsked(int((start + (col + 0.5) / width * (end - start)) * 1e9)))
