"""The one-line budget gauge of the Tokens & cost pane: spent of the limit, the projection, a bar."""

from __future__ import annotations

from rich.text import Text

from ..model.alert_parts import BudgetPart
from .columns import footer
from .fmt import usd

WARN_AT = 0.8  # the projection past this share of the limit turns the gauge warn; past the limit, alarm


def gauge_level(b: BudgetPart) -> str:
    """`ok`, `warn` or `alarm` from the projection against the limit; `stale` when nothing is priced."""
    if b.projected_usd is None or b.spent_usd is None:
        return "stale"
    worst = max(b.projected_usd, b.spent_usd)
    return "alarm" if worst >= b.limit_usd else "warn" if worst >= WARN_AT * b.limit_usd else "ok"


def gauge(b: BudgetPart, width: int, colour: dict[str, str]) -> Text:
    """`budget $1.20/$5.00 h → $4.10 ▕███░░░▏` in the level's colour (`colour`: level -> Rich colour)."""
    style = colour.get(gauge_level(b), "")
    per = "h" if b.period == "hour" else "d"
    unknown = "+?" if b.unpriced else ""  # spend of unpriced models is unknown, not $0
    if b.spent_usd is None:
        return Text(footer([("budget", 2), (f"?/{usd(b.limit_usd)}/{per}", 5), ("(unpriced)", 3)], width, " "),
                    style=style, no_wrap=True)
    head = footer([("budget", 2), (f"{usd(b.spent_usd)}{unknown}/{usd(b.limit_usd)}/{per}", 5),
                   (f"→ {usd(b.projected_usd)}{unknown}", 4)], width, " ")  # figures whole, or not at all
    out = Text(head + " ", style=style, no_wrap=True)
    bar_w = width - len(head) - 3
    if bar_w >= 4:
        filled = min(bar_w, round(bar_w * min(b.spent_usd / b.limit_usd, 1.0)))
        out.append("▕" + "█" * filled + "░" * (bar_w - filled) + "▏", style=style)
    return out
