"""Small number helpers shared by the dashboard, the fleet section and the view."""

from __future__ import annotations

import math
from collections.abc import Iterable

from ddsketch import DDSketch


def fsum(values: Iterable[float]) -> float:
    """`math.fsum`, except that inf and -inf together give NaN (as plain addition does) instead of raising."""
    try:
        return math.fsum(values)
    except ValueError:
        return math.nan


def number(x: float) -> int | float:
    """Whole numbers as ints (counts sent with sample rates may be fractional)."""
    return int(x) if float(x).is_integer() else round(x, 6)


def quantile(sketch: DDSketch, q: float) -> float | None:
    """The sketch's q-quantile, or None when it holds nothing."""
    value = sketch.get_quantile_value(q) if sketch.count else None
    return None if value is None else float(value)
