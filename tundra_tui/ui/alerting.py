"""Firing alerts on screen: the status bar's alarm item, and a notification (with the bell) per new firing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text

from ..model.alert_parts import AlertLogRow, AlertRow
from ..model.alerts import TOTALS
from .fmt import clip
from .statusline import Item

if TYPE_CHECKING:
    from textual.app import App

MAX_NOTES = 3  # notifications for one refresh; a fast replay can fire many at once
NAME_CELLS = 40


def label(name: str, group: str) -> str:
    """`name` alone on the totals, else `name group` (group names come from tags: cut short)."""
    text = name if group == TOTALS else f"{name} {group}"
    return clip(text, NAME_CELLS)


def firing_text(alerts: tuple[AlertRow, ...], alarm: str) -> Text | None:
    """`▲ name group, …` in the alarm colour while any alert fires; None when none does."""
    firing = [a for a in alerts if a.state == "firing"]
    if not firing:
        return None
    return Text("▲ " + ", ".join(label(a.name, a.group) for a in firing), style="bold " + alarm)


def firing_item(alerts: tuple[AlertRow, ...], alarm: str) -> Item | None:
    """The status bar item of firing alerts: their names, or only their count when the line is short."""
    full = firing_text(alerts, alarm)
    if full is None:
        return None
    count = sum(a.state == "firing" for a in alerts)
    return Item(full, Text(f"▲ {count} alert{'s' if count != 1 else ''}", style="bold " + alarm), 9)


class FiringNews:
    """Which firings of the alerts log are new since the last frame."""

    def __init__(self) -> None:
        self._seen: set[AlertLogRow] = set()

    def news(self, log: tuple[AlertLogRow, ...]) -> list[AlertLogRow]:
        """Firings not seen before (the log is bounded, so only its rows are remembered)."""
        new = [r for r in log if r.state == "firing" and r not in self._seen]
        self._seen = set(log)
        return new

    def tell(self, app: App[Any], log: tuple[AlertLogRow, ...]) -> None:
        """A notification per new firing (a few at most), and the bell when its rule asks for it."""
        for row in self.news(log)[:MAX_NOTES]:
            app.notify(note(row), severity="error", timeout=8, markup=False)
            if row.bell:
                app.bell()


def note(row: AlertLogRow) -> str:
    """The notification of one firing."""
    value = "n/a" if row.value is None else f"{row.value:.4g}"
    return f"alert {label(row.name, row.group)} firing: {value} (threshold {row.threshold:.4g})"
