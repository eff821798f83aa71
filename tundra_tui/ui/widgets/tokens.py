"""Pane 2: tokens and cost per group, dollars per minute over the rate window, and the total."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from ...model.detail import DetailPart
from ...model.snapshot import Dashboard, Grouping, GroupRow
from ..budget_gauge import gauge
from ..chart import ChartSpec, cost_chart, tokens_chart
from ..columns import Column, fit, footer, render
from ..fmt import cost, covers, num, span, usd
from .pane import GroupedPane


def per_min(value: float | None, models: int, pricing: bool) -> str:
    """A $/min cell: `…` while priced, `-` with nothing to price, else dollars (n/a when unpriced)."""
    if pricing and value is None:
        return "…"
    return usd(value) if models else "-"


class TokensPane(GroupedPane):
    TITLE = "Tokens & cost"
    KEY = "2"
    ROW_TOP = 1

    def charts(self, detail: DetailPart) -> list[ChartSpec]:
        """Maximised: tokens/s and, when priced, $/min."""
        return [c for c in (tokens_chart(detail), cost_chart(detail)) if c is not None]

    def view(self, part: tuple[Grouping, Dashboard]) -> list[GroupRow]:
        g, dash = part
        ranked = sorted(g.rows, key=lambda r: r.input_tokens is None and r.output_tokens is None
                        and r.cost_usd is None)  # stable: rows with tokens first (by profile: "unknown")
        return self.rows_in_view(ranked, max(self.inner_height - (4 if dash.budget is not None else 3), 1),
                                 lambda r: (g.group, r.key))

    def render_part(self, part: tuple[Grouping, Dashboard], rows: Sequence[GroupRow]) -> Text:
        g, dash = part
        t = dash.totals
        names = [r.key for r in rows] + ["total"]
        costs = [cost(r.cost_usd, r.cost_models, r.cost_priced, r.pricing) for r in rows]
        columns = [
            Column("in", (*(num(r.input_tokens) for r in rows), num(t.input_tokens)), 3),
            Column("out", (*(num(r.output_tokens) for r in rows), num(t.output_tokens)), 2),
            Column("$", (*costs, cost(t.cost_usd, t.cost_models, t.cost_priced, t.pricing)), 5),
            Column("$/min", (*(per_min(r.cost_per_min, r.cost_models, r.pricing) for r in rows),
                              per_min(t.cost_per_min, t.cost_models, t.pricing)), 1),
        ]
        stale = self.c("stale")
        styles = {(i, 3): stale for i, r in enumerate(rows) if r.cost_usd is None}
        styles |= {(i, 2): stale for i, r in enumerate(rows) if r.cost_usd is None}
        w = self.inner_width
        fitted = fit(columns, w)
        out = render(g.group, names, columns, w, styles=styles, row_styles=[""] * len(rows) + ["bold"],
                     fitted=fitted)
        shown = {c.header for c in fitted[0]}
        notes = [(covers(t.since, dash.as_of, dash.replay), 3)]
        if t.cost_priced < t.cost_models and "$" in shown:
            notes.append((f"{t.cost_priced} priced of {t.cost_models}", 5))  # the footnote to a `+`
        if "$/min" in shown:
            notes.append((f"$/min last {span(dash.rate_window_s)}", 2))
        out.append("\n" + footer(notes, w), style=stale)
        if dash.budget is not None:
            out.append("\n")
            levels = {k: self.c(k) for k in ("ok", "warn", "alarm", "stale")}
            out.append_text(gauge(dash.budget, w, levels))
        return out
