"""Pane 6: the log of DogStatsD events (and profile switches), newest at the bottom. Its rows select too:
Enter opens the key an event is tagged with (following the grouping), or shows an untagged event whole."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from ...model.snapshot import EventRow, Frame
from ..fmt import clock, fit
from .pane import Pane

_ICON = {"error": ("✖", "alarm"), "warning": ("▲", "warn"), "success": ("✔", "ok"), "info": ("·", "stale")}
EventsPart = tuple[tuple[EventRow, ...], str]  # the events, and the grouping Enter follows


class EventsPane(Pane[EventsPart]):
    TITLE = "Events"
    KEY = "6"
    ROW_TOP = 0

    def part(self, frame: Frame) -> EventsPart:
        return frame.dashboard.events, frame.grouping.group

    def view(self, part: EventsPart) -> list[EventRow]:
        """Unfocused, the selection (and so the view) follows the newest event."""
        events, group = part
        if not self.has_focus:
            self.selected = len(events) - 1
        return self.rows_in_view(events, self.inner_height, lambda e: (group, e.tag_value(group)), follow=False)

    def render_part(self, part: EventsPart, shown: Sequence[EventRow]) -> Text:
        w = self.inner_width
        out = Text()
        if not shown:
            out.append("no events yet", style=self.c("stale"))
        for e in shown:
            icon, var = _ICON.get(e.alert_type, ("·", "stale"))
            out.append(f"{clock(e.ts)} ", style=self.c("stale"))
            out.append(icon + " ", style=self.c(var))
            out.append(fit(self.body(e), w - 11) + "\n")  # one line per event, title included
        out.rstrip()
        return out

    @staticmethod
    def body(e: EventRow) -> str:
        """Title and text on one line."""
        return (e.title + (": " + e.text if e.text else "")).replace("\n", " ")

    def action_open_row(self) -> None:
        """The key the event is tagged with, in detail; an event tagged with none is shown whole instead."""
        chosen = self.selected_key()
        if chosen is not None and chosen[1]:
            super().action_open_row()
        elif self._part is not None and self._part[0]:
            e = self._part[0][min(self.selected, len(self._part[0]) - 1)]
            self.notify(self.body(e), title=f"{clock(e.ts)} {e.alert_type}", timeout=10, markup=False)
