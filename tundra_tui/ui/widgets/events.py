"""Pane 6: the log of DogStatsD events (and profile switches), newest at the bottom."""

from __future__ import annotations

from rich.text import Text

from ...model.view import View
from ..fmt import clock, fit
from .pane import Pane

_ICON = {"error": ("✖", "alarm"), "warning": ("▲", "warn"), "success": ("✔", "ok"), "info": ("·", "stale")}


class EventsPane(Pane):
    TITLE = "Events"
    KEY = "6"

    def render_view(self, view: View) -> Text:
        w = self.inner_width
        out = Text()
        events = view.doc["events"][-self.inner_height :]
        if not events:
            out.append("no events yet", style=self.c("stale"))
        for e in events:
            icon, var = _ICON.get(e["alert_type"], ("·", "stale"))
            out.append(f"{clock(e['ts'])} ", style=self.c("stale"))
            out.append(icon + " ", style=self.c(var))
            body = e["title"] + (": " + e["text"] if e["text"] else "")
            out.append(fit(body.replace("\n", " "), w - 11) + "\n")  # one line per event, title included
        out.rstrip()
        return out
