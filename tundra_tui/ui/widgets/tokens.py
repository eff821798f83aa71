"""Pane 2: tokens and cost per group, dollars per minute, and the session total."""

from __future__ import annotations

from rich.text import Text

from ...model.view import View
from ..fmt import fit, num, usd
from .pane import Pane


class TokensPane(Pane):
    TITLE = "Tokens & cost"
    GROUPED = True
    KEY = "2"

    def render_view(self, view: View) -> Text:
        name_w = self.name_width(26)
        out = Text()
        out.append(f"{fit(view.group, name_w)}{'in':>6}{'out':>6}{'$':>7}{'$/min':>7}\n", style="bold")
        rows = view.rows[: max(self.inner_height - 2, 1)]
        for r in rows:
            cost_style = self.c("stale") if r.cost_usd is None else ""
            out.append(f"{fit(r.key, name_w)}{num(r.input_tokens):>6}{num(r.output_tokens):>6}")
            out.append(f"{usd(r.cost_usd):>7}{usd(r.cost_per_min):>7}\n", style=cost_style)
        t = view.doc["totals"]
        priced = [r.cost_per_min for r in view.rows if r.cost_per_min is not None]
        per_min = sum(priced) if priced and view.group in ("model", "provider") else None
        out.append(f"{fit('total', name_w)}{num(t['input_tokens']):>6}{num(t['output_tokens']):>6}"
                   f"{usd(t['cost_usd']):>7}{usd(per_min):>7}", style="bold")
        return out
