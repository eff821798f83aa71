"""Pane 2: tokens and cost per group, dollars per minute, and the session total."""

from __future__ import annotations

from rich.text import Text

from ...model.snapshot import Frame, Grouping, Totals
from ..fmt import fit, num, usd
from .pane import Pane


class TokensPane(Pane[tuple[Grouping, Totals]]):
    TITLE = "Tokens & cost"
    KEY = "2"

    def part(self, frame: Frame) -> tuple[Grouping, Totals]:
        return frame.grouping, frame.dashboard.totals

    def grouping(self, part: tuple[Grouping, Totals]) -> Grouping:
        return part[0]

    def render_part(self, part: tuple[Grouping, Totals]) -> Text:
        g, t = part
        name_w = self.name_width(26)
        out = Text()
        out.append(f"{fit(g.group, name_w)}{'in':>6}{'out':>6}{'$':>7}{'$/min':>7}\n", style="bold")
        rows = g.rows[: max(self.inner_height - 2, 1)]
        for r in rows:
            cost_style = self.c("stale") if r.cost_usd is None else ""
            out.append(f"{fit(r.key, name_w)}{num(r.input_tokens):>6}{num(r.output_tokens):>6}")
            cost, per_min = ("…", "…") if r.pricing else (usd(r.cost_usd), usd(r.cost_per_min))
            out.append(f"{cost:>7}{per_min:>7}\n", style=cost_style)
        priced = [r.cost_per_min for r in g.rows if r.cost_per_min is not None]
        total_per_min = sum(priced) if priced and g.group in ("model", "provider") else None
        total = "…" if t.pricing and t.cost_usd is None else usd(t.cost_usd)
        out.append(f"{fit('total', name_w)}{num(t.input_tokens):>6}{num(t.output_tokens):>6}"
                   f"{total:>7}{usd(total_per_min):>7}", style="bold")
        return out
