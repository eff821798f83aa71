"""Pane 4: error rate per group with colour thresholds, recent error events and failing checks."""

from __future__ import annotations

from rich.text import Text

from ...model.snapshot import CheckRow, EventRow, Frame, Grouping
from ..fmt import clock, fit, num, pct
from .pane import Pane

_CHECK_STYLE = {0: "ok", 1: "warn", 2: "alarm", 3: "stale"}


ErrorsPart = tuple[Grouping, tuple[CheckRow, ...], tuple[EventRow, ...]]


class ErrorsPane(Pane[ErrorsPart]):
    TITLE = "Errors"
    KEY = "4"

    def part(self, frame: Frame) -> ErrorsPart:
        return frame.grouping, frame.dashboard.service_checks, frame.dashboard.events

    def grouping(self, part: ErrorsPart) -> Grouping:
        return part[0]

    def render_part(self, part: ErrorsPart) -> Text:
        g, checks, events = part
        w = self.inner_width
        name_w = self.name_width(16)
        h = self.inner_height
        out = Text()
        rows = g.rows[: max(h - 3, 1)]
        for r in rows:
            out.append(f"{fit(r.key, name_w)}{num(r.errors):>7} ")
            out.append(f"{pct(r.error_rate):>7}\n", style=self.rate_style(r.error_rate))
        bad_checks = [c for c in checks if c.status != 0]
        for c in bad_checks[: max(h - len(rows) - 1, 0)]:
            tag = ",".join(t for t in c.tags if not t.startswith(("env:", "service:", "version:")))
            out.append(fit(f"{c.status_name} {c.name} {tag}", w) + "\n", style=self.c(_CHECK_STYLE[c.status]))
        errors = [e for e in events if e.alert_type == "error"]
        room = h - len(rows) - min(len(bad_checks), max(h - len(rows) - 1, 0))
        for e in errors[-room:] if room > 0 else []:
            out.append(fit(f"{clock(e.ts)} {e.text or e.title}", w) + "\n", style=self.c("alarm"))
        out.rstrip()
        return out
