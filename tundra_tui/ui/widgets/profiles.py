"""Pane 1: profiles — the selected one highlighted, each one's share and health, switches."""

from __future__ import annotations

from rich.text import Text

from ...model.snapshot import Frame, ProfilesPart
from ..fmt import clock, fit, pct
from .pane import Pane


class ProfilesPane(Pane[ProfilesPart]):
    TITLE = "Profiles"
    KEY = "1"

    def part(self, frame: Frame) -> ProfilesPart:
        return frame.dashboard.profiles

    def render_part(self, part: ProfilesPart) -> Text:
        p = part
        w = self.inner_width
        out = Text()
        total = sum(x.requests for x in p.profiles) or 1
        rows = p.profiles[: max(self.inner_height - 1, 1)]
        if not rows:
            out.append("no profile data yet\n", style=self.c("stale"))
        name_w = max(w - 24, 6)
        for x in rows:
            selected = x.name == p.selected
            mark = "▶ " if selected else "  "
            line = f"{mark}{fit(x.name, name_w)} {fit(x.provider or '?', 9)}{x.requests / total:>5.0%}"
            out.append(line, style="bold reverse" if selected else "")
            out.append(f"{pct(x.error_rate):>7}", style=self.rate_style(x.error_rate))
            out.append("\n")
        avail = "?" if p.available is None else str(p.available)
        switches = [s for s in p.switches if s.old is not None]
        foot = f"{avail} available · {p.bootstraps} bootstrap · {len(switches)} switches"
        out.append(fit(foot, w), style=self.c("stale"))
        room = self.inner_height - len(rows) - 1
        for s in switches[-room:] if room > 0 else []:
            out.append("\n" + fit(f"{clock(s.ts)} switch {s.old} → {s.new}", w), style=self.c("warn"))
        return out
