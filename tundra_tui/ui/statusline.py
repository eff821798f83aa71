"""Fitting a one-line status bar: items abbreviate, then drop, least important first; order is kept."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

SEP = " │"


@dataclass(frozen=True)
class Item:
    """One status item: its full text, a shorter form (or None), and how long it stays (higher: longer)."""

    full: Text
    short: Text | None
    priority: int


def fit_items(items: list[Item], width: int) -> Text:
    """The items joined by separators within `width` cells: from the least important up, each item
    abbreviates, then drops, until the line fits (the most important one always stays)."""
    shown: dict[int, Text] = {i: it.full for i, it in enumerate(items)}

    def line() -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        for n, i in enumerate(sorted(shown)):
            if n:
                out.append(SEP)
            out.append_text(shown[i])
        return out

    by_priority = sorted(range(len(items)), key=lambda i: items[i].priority)
    for n, i in enumerate(by_priority):
        if line().cell_len <= width:
            break
        short = items[i].short
        if short is not None:
            shown[i] = short
            if line().cell_len <= width:
                break
        if n < len(by_priority) - 1:
            del shown[i]
    return line()
