"""Pane 1: profiles — the selected one marked ▶, each one's share and health, switches."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from ...model.detail import DetailPart
from ...model.snapshot import Frame, ProfileRow, ProfilesPart
from ..chart import ChartSpec, rates_chart
from ..columns import Column, footer, render
from ..fmt import clock, fit, pct
from .pane import Pane


class ProfilesPane(Pane[ProfilesPart]):
    TITLE = "Profiles"
    KEY = "1"
    SPAN = "since start"  # counts and percentiles over the whole session (a replay: its capture so far)
    ROW_TOP = 1

    def charts(self, detail: DetailPart) -> list[ChartSpec]:
        """Maximised: requests/s with the profile switches marked."""
        return [rates_chart(detail, errors=False)]

    def part(self, frame: Frame) -> ProfilesPart:
        return frame.dashboard.profiles

    def view(self, part: ProfilesPart) -> list[ProfileRow]:
        ranked = sorted(part.profiles, key=lambda x: x.name != part.selected)  # the active one first: always shown
        return self.rows_in_view(ranked, max(self.inner_height - 2, 1), lambda x: ("profile", x.name))

    def render_part(self, part: ProfilesPart, rows: Sequence[ProfileRow]) -> Text:
        p = part
        w = self.inner_width
        total = sum(x.requests for x in p.profiles) or 1
        avail = "?" if p.available is None else str(p.available)
        switches = [s for s in p.switches if s.old is not None]
        said = f"{len(switches)} switch" + ("" if len(switches) == 1 else "es")
        foot = Text(footer([(f"{avail} available", 3), (f"{p.bootstraps} bootstrap", 1), (said, 2)], w),
                    style=self.c("stale"))
        if not rows:
            return Text("no profile data yet", style=self.c("stale")) + Text("\n") + foot
        columns = [Column("provider", tuple(x.provider or "?" for x in rows), 2),
                   Column("share", tuple(f"{x.requests / total:.0%}" for x in rows), 4),
                   Column("err%", tuple(pct(x.error_rate) for x in rows), 5)]
        names = [("▶ " if x.name == p.selected else "  ") + x.name for x in rows]
        styles = {(i, 2): self.rate_style(x.error_rate) for i, x in enumerate(rows)}
        out = render("  profile", names, columns, w, styles=styles,
                     row_styles=["bold" if x.name == p.selected else "" for x in rows])  # reverse: the cursor
        out.append("\n")
        out.append_text(foot)
        room = self.inner_height - len(rows) - 2
        for s in switches[-room:] if room > 0 else []:
            out.append("\n" + fit(f"{clock(s.ts)} switch {s.old} → {s.new}", w), style=self.c("warn"))
        return out
