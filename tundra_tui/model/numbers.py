"""Small number helpers shared by the dashboard, the fleet section and the view."""

from __future__ import annotations

from ddsketch import DDSketch


def number(x: float) -> int | float:
    """Whole numbers as ints (counts sent with sample rates may be fractional)."""
    return int(x) if float(x).is_integer() else round(x, 6)


def quantile(sketch: DDSketch, q: float) -> float | None:
    """The sketch's q-quantile, or None when it holds nothing."""
    value = sketch.get_quantile_value(q) if sketch.count else None
    return None if value is None else float(value)
