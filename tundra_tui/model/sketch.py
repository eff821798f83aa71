"""Adding many values to a DDSketch at once.

`DDSketch.add` costs ~6 µs a value in Python. Here the bucket keys of a whole batch are
computed in one pass with the sketch's own mapping constants, counted, and each distinct
key is added to the sketch's store once. That reads private attributes: ddsketch is pinned below 3.1, and
tests/test_sketch_pin.py names each one; tests/test_model.py checks the result equals one-by-one adds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping

from .numbers import fsum

_log2 = math.log2
_ceil = math.ceil


def add_many(sk: DDSketch, values: Sequence[float], weight: float = 1.0) -> None:
    """Equivalent to `for v in values: sk.add(v, weight)`, but batched; NaN and infinities are skipped
    (the sketch itself would raise on them, and one such datagram must not break the dashboard)."""
    if not values:
        return
    mapping = sk._mapping
    if type(mapping) is not LogarithmicMapping or weight <= 0.0:
        for v in values:
            sk.add(v, weight)
        return
    low = mapping.min_possible
    mult, off = mapping._multiplier, mapping._offset
    total = fsum(values)
    if math.isfinite(total) and min(values) > low:
        positives = values  # the usual case, checked in C: all finite and above the sketch's floor
    else:
        finite = [v for v in values if math.isfinite(v)]  # NaN and infinities have no bucket: left out
        positives = [v for v in finite if v > low]
        for v in finite:
            if not v > low:
                sk.add(v, weight)  # zeros and negatives: the sketch's own rules
        if not positives:
            return
        total = fsum(positives)
    store = sk._store
    # the same arithmetic as LogarithmicMapping.key: ceil(log2(v) * multiplier) + offset, once per distinct value
    by_key: Counter[int] = Counter()
    for v, n in Counter(positives).items():
        by_key[int(_ceil(_log2(v) * mult) + off)] += n
    for key, n in by_key.items():
        store.add(key, n * weight)
    sk._count += len(positives) * weight
    sk._sum += total * weight
    lo, hi = min(positives), max(positives)
    if lo < sk._min:
        sk._min = lo
    if hi > sk._max:
        sk._max = hi
