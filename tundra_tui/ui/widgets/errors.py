"""Pane 4: errors per group (rows with errors first), recent error events and failing checks."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from ...model.detail import DetailPart
from ...model.snapshot import CheckRow, EventRow, Frame, Grouping, GroupRow
from ..chart import ChartSpec, errors_chart
from ..columns import Column, render
from ..fmt import clock, fit, num, pct
from .pane import Pane

_CHECK_STYLE = {0: "ok", 1: "warn", 2: "alarm", 3: "stale"}
ErrorsPart = tuple[Grouping, tuple[CheckRow, ...], tuple[EventRow, ...]]


class ErrorsPane(Pane[ErrorsPart]):
    TITLE = "Errors"
    KEY = "4"
    SPAN = "since start"  # counts and percentiles over the whole session (a replay: its capture so far)
    ROW_TOP = 1

    def charts(self, detail: DetailPart) -> list[ChartSpec]:
        """Maximised: errors/s with alert firings marked."""
        return [errors_chart(detail)]

    def part(self, frame: Frame) -> ErrorsPart:
        return frame.grouping, frame.dashboard.service_checks, frame.dashboard.events

    def grouping(self, part: ErrorsPart) -> Grouping:
        return part[0]

    def view(self, part: ErrorsPart) -> list[GroupRow]:
        g = part[0]
        ranked = sorted(g.rows, key=lambda r: r.errors <= 0)  # stable: rows with errors first, in the sort's order
        return self.rows_in_view(ranked, max(self.inner_height - 3, 1), lambda r: (g.group, r.key))

    def render_part(self, part: ErrorsPart, rows: Sequence[GroupRow]) -> Text:
        g, checks, events = part
        w = self.inner_width
        h = self.inner_height
        columns = [Column("errors", tuple(num(r.errors) for r in rows), 4),
                   Column("err%", tuple(pct(r.error_rate) for r in rows), 5)]
        styles = {(i, 1): self.rate_style(r.error_rate) for i, r in enumerate(rows)}
        out = render(g.group, [r.key for r in rows], columns, w, styles=styles)
        used = 1 + len(rows)
        bad_checks = [c for c in checks if c.status != 0]
        for c in bad_checks[: max(h - used - 1, 0)]:
            tag = ",".join(t for t in c.tags if not t.startswith(("env:", "service:", "version:")))
            out.append("\n" + fit(f"{c.status_name} {c.name} {tag}", w), style=self.c(_CHECK_STYLE[c.status]))
            used += 1
        errors = [e for e in events if e.alert_type == "error"]
        room = h - used
        for e in errors[-room:] if room > 0 else []:
            out.append("\n" + fit(f"{clock(e.ts)} {e.text or e.title}", w), style=self.c("alarm"))
        return out
