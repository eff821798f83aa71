"""Pane 6: the log of DogStatsD events (and profile switches), newest at the bottom."""

from __future__ import annotations

from rich.text import Text

from ...model.snapshot import EventRow, Frame
from ..fmt import clock, fit
from .pane import Pane

_ICON = {"error": ("✖", "alarm"), "warning": ("▲", "warn"), "success": ("✔", "ok"), "info": ("·", "stale")}


class EventsPane(Pane[tuple[EventRow, ...]]):
    TITLE = "Events"
    KEY = "6"

    def part(self, frame: Frame) -> tuple[EventRow, ...]:
        return frame.dashboard.events

    def render_part(self, part: tuple[EventRow, ...]) -> Text:
        w = self.inner_width
        out = Text()
        events = part[-self.inner_height :]
        if not events:
            out.append("no events yet", style=self.c("stale"))
        for e in events:
            icon, var = _ICON.get(e.alert_type, ("·", "stale"))
            out.append(f"{clock(e.ts)} ", style=self.c("stale"))
            out.append(icon + " ", style=self.c(var))
            body = e.title + (": " + e.text if e.text else "")
            out.append(fit(body.replace("\n", " "), w - 11) + "\n")  # one line per event, title included
        out.rstrip()
        return out
