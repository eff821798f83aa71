"""Pane 5: p50, p95 and p99 latency per group."""

from __future__ import annotations

from rich.text import Text

from ...model.snapshot import Frame, Grouping
from ..fmt import fit, ms
from .pane import Pane


class LatencyPane(Pane[Grouping]):
    TITLE = "Latency"
    KEY = "5"

    def part(self, frame: Frame) -> Grouping:
        return frame.grouping

    def grouping(self, part: Grouping) -> Grouping:
        return part

    def render_part(self, part: Grouping) -> Text:
        g = part
        name_w = self.name_width(21)
        out = Text()
        out.append(f"{fit(g.group, name_w)}{'p50':>7}{'p95':>7}{'p99':>7}\n", style="bold")
        worst = max((r.p95 for r in g.rows if r.p95 is not None), default=None)
        for r in g.rows[: max(self.inner_height - 1, 1)]:
            out.append(f"{fit(r.key, name_w)}{ms(r.p50):>7}")
            out.append(f"{ms(r.p95):>7}", style=self.c("warn") if worst is not None and r.p95 == worst else "")
            out.append(f"{ms(r.p99):>7}\n")
        out.rstrip()
        return out
