"""What the dashboard watches on capture time: the alerts and the budget, stamped onto each Dashboard."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .alerts import AlertBook
from .budget import BudgetBook

if TYPE_CHECKING:
    from .llm.base import RollupBase
    from .snapshot import Dashboard


class Watch:
    """The alert rules' state and the budget's; both copied with the engine (replay checkpoints)."""

    def __init__(self, alerts: AlertBook | None = None, budget: BudgetBook | None = None) -> None:
        self.alerts = alerts or AlertBook()
        self.budget = budget

    def stamp(self, dash: Dashboard, llm: RollupBase, now_s: int) -> Dashboard:
        """`dash` with the alerts judged through the last closed second before `now_s`, and the budget at it."""
        if self.alerts.rules:
            self.alerts.advance(llm, now_s - 1)
            dash = replace(dash, alerts=self.alerts.rows(), alerts_log=tuple(self.alerts.log))
        if self.budget is not None:
            dash = replace(dash, budget=self.budget.part(llm, now_s))
        return dash
