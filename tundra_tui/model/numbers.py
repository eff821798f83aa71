"""Small number helpers shared by the engine, the dashboard, the fleet section and the grouped rows.

The numeric guard lives here. A value from outside (a datagram, a capture, an API answer) is folded
only when it is finite and within ±MAX_MAGNITUDE once weighted: anything else is counted as a bad
value where it arrived and left out. Sums of bounded values cannot overflow in any session's life,
so every fold, cost and JSON number downstream stays finite.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ddsketch import DDSketch

_EXACT = 2**53  # every whole number up to here is exactly a float
_NOT_EXACT = _EXACT + 1
MAX_MAGNITUDE = 1e100  # far beyond any real count, duration or token total; 1e208 of them still fit a float


def fsum(values: Iterable[float]) -> float:
    """`math.fsum`, except that it never raises: NaN when inf meets -inf or a partial sum overflows.

    Callers that fold test the result (`not s <= limit` is true for NaN and inf alike)."""
    try:
        return math.fsum(values)
    except (ValueError, OverflowError):
        return math.nan


def digit_floats(digits: list[bytes]) -> list[float]:
    """Runs of ASCII digits as floats, by way of int: twice as fast as float() on bytes, and the same values.

    Each way rounds the exact number once. A run int() or float() refuses (past 4,300 digits, or past 1e308)
    takes float() alone, which makes it inf, as before: a bad value, counted."""
    try:
        return list(map(float, map(int, digits)))
    except (ValueError, OverflowError):
        return list(map(float, digits))


def digit_sum(digits: list[bytes]) -> float | None:
    """The sum of runs of ASCII digits, as a float: exactly `fsum(digit_floats(digits))`, with no float per value
    (while the int sum stays within 2**53, every run is a float exactly, and one rounding of the exact sum is what
    fsum gives). None if a run is empty or not all digits, or the sum is past 2**53: then the values take the way of
    each one. One value over and over (a counter's 1) is read once."""
    first = digits[0]
    try:
        if digits[-1] == first and digits.count(first) == len(digits):
            s = int(first) * len(digits) if first.isdigit() else _NOT_EXACT
        else:
            s = sum(map(int, digits)) if b"".join(digits).isdigit() else _NOT_EXACT
    except ValueError:  # an empty run among digits, or one past int()'s 4,300 digits
        return None
    return float(s) if s <= _EXACT else None


def limit(weight: float) -> float:
    """The largest |value| that may be folded with this weight (1/rate); -1 (nothing) for an absurd weight."""
    if not weight <= MAX_MAGNITUDE:
        return -1.0
    return MAX_MAGNITUDE / weight if weight > 1.0 else MAX_MAGNITUDE


def bounded(values: Iterable[float], lim: float = MAX_MAGNITUDE) -> list[float]:
    """The values within ±lim (NaN and infinities never are)."""
    return [v for v in values if -lim <= v <= lim]


def number(x: float) -> int | float:
    """Whole numbers as ints (counts sent with sample rates may be fractional)."""
    return int(x) if float(x).is_integer() else round(x, 6)


def finite_json(doc: Any) -> Any:
    """`doc` with every non-finite float replaced by None: JSON numbers are always finite."""
    if isinstance(doc, float):
        return doc if math.isfinite(doc) else None
    if isinstance(doc, dict):
        return {k: finite_json(v) for k, v in doc.items()}
    if isinstance(doc, list | tuple):
        return [finite_json(v) for v in doc]
    return doc


def count(x: float) -> int:
    """A counter as an int: counts weighted by sample rates (1/0.3 per datagram) are rounded."""
    return round(x) if math.isfinite(x) else 0


def quantile(sketch: DDSketch, q: float) -> float | None:
    """The sketch's q-quantile, or None when it holds nothing."""
    value = sketch.get_quantile_value(q) if sketch.count else None
    return None if value is None or not math.isfinite(value) else float(value)
