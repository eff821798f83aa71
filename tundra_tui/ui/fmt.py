"""Compact number, time and sparkline formatting for narrow panes."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.cells import cell_len, set_cell_size

BARS = "▁▂▃▄▅▆▇█"


def num(x: float | None) -> str:
    """1234 -> 1.2k, 2500000 -> 2.5M; None -> '-'."""
    if x is None:
        return "-"
    a = abs(x)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            v = x / div
            return f"{v:.1f}{suffix}" if abs(v) < 100 else f"{v:.0f}{suffix}"
    return f"{x:.0f}" if float(x).is_integer() or a >= 10 else f"{x:.1f}"


def usd(x: float | None) -> str:
    """Dollars with sensible precision; None is 'n/a' (never $0)."""
    if x is None:
        return "n/a"
    if x >= 1000:
        return f"${x / 1000:.1f}k"
    if x >= 10:
        return f"${x:.1f}"
    return f"${x:.2f}" if x >= 0.995 or x == 0 else f"${x:.3f}"


def ms(x: float | None) -> str:
    """Latency: 850ms, 1.4s, 12s."""
    if x is None:
        return "-"
    if x < 1000:
        return f"{x:.0f}ms"
    return f"{x / 1000:.1f}s" if x < 10_000 else f"{x / 1000:.0f}s"


def pct(x: float) -> str:
    return f"{x * 100:.1f}%" if x < 0.1 else f"{x * 100:.0f}%"


def clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


def spark(values: Sequence[float], width: int) -> str:
    """A sparkline of the last `width` values, scaled to their own max."""
    if width <= 0:
        return ""
    vals = list(values[-width:])
    vals = [0.0] * (width - len(vals)) + vals
    top = max(vals) or 1.0
    return "".join(" " if v <= 0 else BARS[min(len(BARS) - 1, int(v / top * (len(BARS) - 1) + 0.5))] for v in vals)


def head(text: str, width: int) -> str:
    """The longest start of `text` that fits in `width` terminal cells (a wide character takes two: one that
    would be split at the cut is left out, not shown as half)."""
    if cell_len(text) <= width:
        return text
    cut = set_cell_size(text, max(width, 0))
    return cut if text.startswith(cut) else cut[:-1]  # rich pads a split wide character with a space


def clip(text: str, width: int) -> str:
    """`text` within `width` cells: whole, or cut with an ellipsis that says so."""
    if cell_len(text) <= width:
        return text
    return head(text, width - 1) + "…" if width > 0 else ""


def pad(text: str, width: int, *, right: bool = False) -> str:
    """`text` padded with spaces to `width` cells (`right`: aligned right), as ljust/rjust do for characters."""
    room = " " * max(width - cell_len(text), 0)
    return room + text if right else text + room


def fit(text: str, width: int) -> str:
    """Cut to `width` cells with an ellipsis, padded to exactly `width`."""
    return pad(clip(text, width), width) if width > 0 else ""


def rich_colour(value: str) -> str:
    """A theme variable's colour as Rich understands it (`ansi_bright_red` -> `bright_red`)."""
    colour = value.split()[0] if value else ""
    return colour[5:] if colour.startswith("ansi_") else colour


def span(seconds: float) -> str:
    """A window as people say it: 10s, 10m, 1h, 1h30m."""
    s = int(seconds)
    if s < 120 and s % 60:
        return f"{s}s"
    if s < 3600 or (s % 3600 and (s % 3600) % 60):
        return f"{s // 60}m" if s % 60 == 0 else f"{s}s"
    h, m = divmod(s // 60, 60)
    return f"{h}h{m}m" if m else f"{h}h"


def cost(value: float | None, models: int, priced: int, pricing: bool) -> str:
    """A cost cell: `…` while priced, `-` with nothing to price, `n/a` when nothing prices it, and a
    trailing `+` when only some of its models are priced (the figure is a lower bound)."""
    if pricing and value is None:
        return "…"
    if not models and value is None:
        return "-"
    return usd(value) + ("+" if value is not None and priced < models else "")


def covers(since: float | None, as_of: float, replay: bool) -> str:
    """What the totals cover: since the first datagram, or a replay's span in capture time."""
    if since is None:
        return "no data yet"
    return f"{clock(since)}-{clock(as_of)}" if replay else f"since {clock(since)}"
