"""Each engine mode's hot path, in process: `stats` (per-context sums) and `dashboard` (per-plan gather with its
bulk check), and the MAX_SLOTS reset that empties the shape caches mid-batch."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tundra_tui.model.engine as engine_module
from tundra_tui.model.engine import Engine, Mode
from tundra_tui.model.numbers import digit_floats, digit_sum, fsum
from tundra_tui.model.redact import Redactor

T0 = 1_700_000_000 * 10**9


def traffic(seed: int, seconds: int = 4, bad: bool = False) -> tuple[list[tuple[int, bytes]], dict[str, float]]:
    """Token lines from many hosts (one plan per model), as packets; and the exact totals they carry."""
    rng = random.Random(seed)
    packets, want = [], {"gpt-4o": 0.0, "claude": 0.0}
    for sec in range(seconds):
        lines = []
        for _ in range(300):
            model = rng.choice(["gpt-4o", "claude"])
            v = rng.randrange(1, 5000)
            value = b"%d" % v
            if bad and rng.random() < 0.05:
                value = rng.choice([b"1_0", b"", b" 7", b"1e400"])  # refused by the bulk check, counted by the parser
            else:
                want[model] += v
            lines.append(b"llm.tokens.input:%s|c|#model:%s,provider:p,host:h%d" % (value, model.encode(),
                                                                                   rng.randrange(40)))
        packets += [(T0 + sec * 10**9 + i, b"\n".join(lines[i : i + 10])) for i in range(0, len(lines), 10)]
    return packets, want


def tokens(e: Engine) -> dict[str, float]:
    return {m.model: m.input_tokens for m in e.dashboard().models}


def test_dashboard_mode_gathers_per_plan_and_counts_every_value() -> None:
    packets, want = traffic(1)
    e = Engine(Mode.DASHBOARD)
    e.feed(packets[:5])  # first sight of most shapes: the parser
    e.feed(packets[5:])  # then the hot path: raw values gathered per plan, checked in bulk
    assert tokens(e) == want
    assert e.dashboard().tap.contexts == 80  # contexts counted...
    assert e.stats("x").contexts[0].samples == 0  # ...but no per-context sums kept: that is `stats`


def test_dashboard_mode_bulk_check_falls_back_per_slot_on_odd_values() -> None:
    packets, want = traffic(2, bad=True)
    e = Engine(Mode.DASHBOARD)
    e.feed(packets[:5])
    e.feed(packets[5:])
    assert tokens(e) == want  # odd values left out, the rest all counted
    bad = e.parser.errors["metric"] + e.bad_values
    assert bad > 0 and all(b.text.startswith("llm.tokens.input:") for b in e.parser.bad_lines)


def test_stats_mode_sums_per_context_and_keeps_no_rollup() -> None:
    packets, want = traffic(3)
    e = Engine(Mode.STATS)
    e.feed(packets[:5])
    e.feed(packets[5:])
    rows = e.stats("x").contexts
    assert sum(r.value for r in rows) == sum(want.values())
    assert sum(r.samples for r in rows) == len(packets) * 10
    assert e.dashboard().models == ()  # no LLM rollup in `stats`


@pytest.mark.parametrize("mode", [Mode.DASHBOARD, Mode.STATS])
def test_the_max_slots_reset_loses_nothing(monkeypatch: pytest.MonkeyPatch, mode: Mode) -> None:
    """Past MAX_SLOTS the shape caches are flushed and emptied in the middle of a batch; pending raw values
    (odd ones included, which go back through the parser from inside that flush) must all still count."""
    packets, want = traffic(4, bad=True)
    reference = Engine(mode)
    reference.feed(packets)
    monkeypatch.setattr(engine_module, "MAX_SLOTS", 7)  # 80 contexts: many resets per batch
    e = Engine(mode)
    e.feed(packets[:3])
    e.feed(packets[3:])
    assert e.parser.errors == reference.parser.errors and e.bad_values == reference.bad_values
    assert e.lines == reference.lines
    if mode is Mode.DASHBOARD:
        assert tokens(e) == tokens(reference) == want
    else:
        got = {(r.name, r.tags): (r.samples, r.value) for r in e.stats("x").contexts}
        assert got == {(r.name, r.tags): (r.samples, r.value) for r in reference.stats("x").contexts}


def test_the_two_shape_caches_share_one_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shapes shown plain and shapes shown redacted are cached apart; together they stay within MAX_SLOTS (a
    context's tags in any order are as many shapes, so few contexts can make many), and every sample counts."""
    monkeypatch.setattr(engine_module, "MAX_SLOTS", 7)
    orders = [(a, b, c) for a in range(3) for b in range(3) for c in range(3) if len({a, b, c}) == 3]
    lines = []
    for tags in ([b"env:prod", b"model:m", b"region:eu"], [b"env:prod", b"model:m", b"user:ann@example.com"]):
        lines += [b"llm.tokens.input:%d|c|#%s" % (n + 1, b",".join(tags[i] for i in order))
                  for n, order in enumerate(orders)]  # six shapes of one context, twice: 12 shapes, 2 contexts
    e = Engine(Mode.STATS, redactor=Redactor())
    most = plain = red = 0
    for rnd in range(3):  # the second and third rounds find the shapes cached: the hot path, and its budget
        for i, line in enumerate(lines):
            e.feed([(T0 + rnd * 10**9 + i, line)])
            most = max(most, len(e._slots) + len(e._red_slots))
            plain, red = max(plain, len(e._slots)), max(red, len(e._red_slots))
    assert plain and red  # both caches were used...
    assert most <= 7  # ...within one budget
    rows = {r.tags: r.samples for r in e.stats("x").contexts}
    assert sorted(rows.values()) == [18, 18] and len(e.stats("x").contexts) == 2


DIGITS = "0123456789"


@pytest.mark.fuzz
@given(st.lists(st.one_of(st.text(DIGITS, min_size=1, max_size=40), st.text(DIGITS, min_size=300, max_size=320))
                .map(str.encode), min_size=1, max_size=20))  # r"[0-9]{1,40}|[0-9]{300,320}", 7x faster than from_regex
def test_digit_runs_convert_as_float_does(runs: list[bytes]) -> None:
    """The hot path reads digit runs through int (faster); the floats must be float()'s own, inf past 1e308."""
    assert digit_floats(runs) == list(map(float, runs))
    assert digit_floats([b"7" * 5000, b"12"]) == [float("inf"), 12.0]  # past int()'s digit limit too


@pytest.mark.fuzz
@given(st.lists(st.one_of(st.text(DIGITS, max_size=17), st.text(DIGITS + "_-. e", min_size=1, max_size=4))
                .map(str.encode), min_size=1, max_size=30))
def test_digit_sum_is_the_sum_of_the_floats_or_declines(runs: list[bytes]) -> None:
    """`stats` sums digit runs through int with no float per value: the very sum fsum gives of their floats; any run
    that is empty or not all digits, or a sum past 2**53, sends the batch the way of each value (None)."""
    got = digit_sum(runs)
    for batch, value in ((runs, got), (runs[:1] * len(runs), digit_sum(runs[:1] * len(runs)))):  # also one run over
        if all(r.isdigit() for r in batch) and sum(map(int, batch)) <= 2**53:
            assert value == fsum(digit_floats(batch)) and type(value) is float
        else:
            assert value is None


def test_stats_mode_sums_without_floats_as_the_parser_would() -> None:
    """Counts with sample rates, gauges (the last value), distributions, 15- and 16-digit values and odd ones, in
    batches: the sums-only fold gives what the values give one by one, and odd values are still counted."""
    rng = random.Random(7)
    shapes = [b"a.count:%s|c|#k:v", b"a.rate:%s|c|@0.25|#k:v", b"a.gauge:%s|g|#k:v", b"a.dist:%s|d|#k:v"]
    want: dict[bytes, list[float]] = {shape.split(b":")[0]: [] for shape in shapes}
    packets, bad = [], 0
    for i in range(2000):
        shape = rng.choice(shapes)
        value = rng.choice([b"%d" % rng.randrange(1, 5000), b"9" * 15, b"12345678901234567", b"1_0", b"", b"7.5"])
        if value in (b"1_0", b""):
            bad += 1
        else:
            want[shape.split(b":")[0]].append(float(value))
        packets.append((T0 + i * 10**6, shape % value))
    e = Engine(Mode.STATS)
    for at in range(0, len(packets), 97):
        e.feed(packets[at : at + 97])
    rows = {r.name: r for r in e.stats("x").contexts}
    for name, vals in want.items():
        row, w = rows[name.decode()], (4.0 if name == b"a.rate" else 1.0)
        assert row.samples == len(vals)
        if name == b"a.gauge":
            assert row.value == vals[-1] and row.count == len(vals)
        else:
            assert row.count == pytest.approx(len(vals) * w)
            assert row.value == pytest.approx(fsum(vals) * (w if name != b"a.dist" else 1.0), rel=1e-12)
    assert e.parser.errors["metric"] == bad
