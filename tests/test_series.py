"""Rate and sparkline readings of per-second series: current rates, silence, bucketing to a width."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tundra_tui.model.series import Series, bucketed, rate, sum_values

NOW = 1_700_000_000


def test_rate_covers_only_the_last_window() -> None:
    s = Series(600)
    for sec in range(NOW - 100, NOW - 10):
        s.add(sec, 50.0)  # busy until 10 s ago
    for sec in range(NOW - 9, NOW + 1):
        s.add(sec, 2.0)
    assert rate(s.values(NOW), 10) == 2.0
    assert rate(s.values(NOW), 600) == pytest.approx((90 * 50 + 10 * 2) / 600)


def test_rate_reads_zero_after_silence_longer_than_the_window() -> None:
    s = Series(600)
    for sec in range(NOW - 300, NOW - 15):
        s.add(sec, 48.7)
    assert rate(s.values(NOW - 16), 10) == pytest.approx(48.7)
    assert rate(s.values(NOW), 10) == 0.0  # 15 s of silence; the 600-s average would still read ~22


def test_rate_divides_by_elapsed_seconds_early_on() -> None:
    s = Series(600)
    for sec in range(NOW - 2, NOW + 1):
        s.add(sec, 6.0)
    assert rate(s.values(NOW), 10, elapsed=3) == 6.0
    assert rate(s.values(NOW), 10) == 18.0 / 10
    assert rate([], 10) == 0.0


def test_bucketed_folds_the_window_into_the_width() -> None:
    vals = [1.0] * 300 + [0.0] * 290 + [4.0] * 10
    cols = bucketed(vals, NOW - NOW % 10 + 9, 60)  # columns aligned to whole 10-s spans
    assert len(cols) == 60
    assert cols[:30] == [1.0] * 30 and cols[-1] == 4.0 and cols[30:59] == [0.0] * 29


def test_bucketed_keeps_seconds_when_they_fit() -> None:
    vals = [float(i) for i in range(40)]
    assert bucketed(vals, NOW, 60) == vals
    assert bucketed(vals, NOW, 0) == [] and bucketed([], NOW, 10) == []


def test_bucketed_columns_do_not_shift_between_refreshes() -> None:
    s = Series(600)
    for sec in range(NOW - 600, NOW + 20):
        s.add(sec, float(sec % 7))
    a = bucketed(s.values(NOW + 10), NOW + 10, 60)
    b = bucketed(s.values(NOW + 11), NOW + 11, 60)
    per = 10
    if (NOW + 10) // per == (NOW + 11) // per:
        assert a[:-1] == b[:-1]  # only the still-filling column moves
    else:
        assert a[1:-1] == b[:-2]


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=700), st.integers(1, 200))
def test_bucketed_never_exceeds_the_width_and_averages_within_bounds(vals: list[float], width: int) -> None:
    cols = bucketed(vals, NOW, width)
    assert 1 <= len(cols) <= width
    assert max(cols) <= max(vals) * (1 + 1e-9) + 1e-9
    assert min(cols) >= 0.0


def test_sum_values() -> None:
    assert sum_values([[1.0, 2.0], [3.0, 4.0]], 2) == [4.0, 6.0]
    assert sum_values([], 3) == [0.0, 0.0, 0.0]


def test_absorb_adds_second_by_second_across_different_heads() -> None:
    a, b = Series(10), Series(10)
    for sec in range(NOW - 20, NOW - 5):
        a.add(sec, 1.0)
    for sec in range(NOW - 3, NOW + 1):
        b.add(sec, 2.0)
    merged = Series(10)
    merged.absorb(a)
    merged.absorb(b)
    want = [x + y for x, y in zip(a.values(NOW), b.values(NOW), strict=True)]
    assert merged.values(NOW) == want == [1.0] * 4 + [0.0] * 2 + [2.0] * 4
    late = Series(10)
    late.absorb(b)
    late.absorb(a)  # an older member after a newer one: its stale buckets must not leak in
    assert late.values(NOW) == want
    late.absorb(Series(10))
    assert late.values(NOW) == want
