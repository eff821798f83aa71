"""The dashboard's alert and budget parts (docs/json.md), re-exported by snapshot.py with the rest."""

from __future__ import annotations

from dataclasses import dataclass

from .parts import Part, screen_only


@dataclass(frozen=True, slots=True)
class AlertRow(Part):
    """One `[[alerts]]` rule on one group: its state and its last value (model/alerts.py)."""

    name: str
    group: str
    state: str  # "firing" | "ok"
    since: float | None  # epoch s it started firing
    value: float | None  # the metric at the last judged second (None: nothing to measure)
    threshold: float


@dataclass(frozen=True, slots=True)
class AlertLogRow(Part):
    """An alert firing or resolving."""

    ts: float
    name: str
    group: str
    state: str  # "firing" | "resolved"
    value: float | None
    threshold: float
    bell: bool = screen_only(False)  # the rule rings the terminal bell when it fires


@dataclass(frozen=True, slots=True)
class BudgetPart(Part):
    """The `[budget]` over its calendar period (model/budget.py); the USD figures are None when nothing is priced."""

    limit_usd: float
    period: str  # "hour" | "day", in local time
    spent_usd: float | None
    burn_usd_per_hour: float | None
    projected_usd: float | None
    exhausted_at: float | None
    unpriced: tuple[str, ...]  # models whose spend is unknown (not counted in the figures)
