"""Pane 5: p50, p95 and p99 latency per group."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from ...model.detail import DetailPart
from ...model.snapshot import Frame, Grouping, GroupRow
from ..chart import ChartSpec, p95_chart
from ..columns import Column, render
from ..fmt import ms
from .pane import Pane


class LatencyPane(Pane[Grouping]):
    TITLE = "Latency"
    KEY = "5"
    SPAN = "since start"  # counts and percentiles over the whole session (a replay: its capture so far)
    ROW_TOP = 1

    def charts(self, detail: DetailPart) -> list[ChartSpec]:
        """Maximised: p95 latency."""
        return [p95_chart(detail)]

    def part(self, frame: Frame) -> Grouping:
        return frame.grouping

    def grouping(self, part: Grouping) -> Grouping:
        return part

    def view(self, part: Grouping) -> list[GroupRow]:
        return self.rows_in_view(part.rows, max(self.inner_height - 1, 1), lambda r: (part.group, r.key))

    def render_part(self, part: Grouping, rows: Sequence[GroupRow]) -> Text:
        g = part
        worst = max((r.p95 for r in g.rows if r.p95 is not None), default=None)
        columns = [Column("p50", tuple(ms(r.p50) for r in rows), 3), Column("p95", tuple(ms(r.p95) for r in rows), 5),
                   Column("p99", tuple(ms(r.p99) for r in rows), 4)]
        styles = {(i, 1): self.c("warn") for i, r in enumerate(rows) if worst is not None and r.p95 == worst}
        return render(g.group, [r.key for r in rows], columns, self.inner_width, styles=styles)
