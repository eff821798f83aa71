"""Columns never cut a figure; names take what is left and stay tellable apart."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from tundra_tui.ui.columns import (
    APART_WORK,
    Column,
    apart_keys,
    cut_names,
    cut_tags,
    cut_tags_apart,
    fit,
    footer,
    render,
)


def test_lowest_priority_goes_first_and_widths_come_from_the_cells() -> None:
    cols = [Column("in", ("99.6k", "6.0k"), 3), Column("out", ("28.9k",), 2), Column("$", ("$0.030",), 5),
            Column("$/min", ("$0.124",), 1)]
    kept, name_w = fit(cols, 40)
    assert [c.header for c in kept] == ["in", "out", "$", "$/min"] and name_w == 40 - (6 + 6 + 7 + 7)
    kept, name_w = fit(cols, 28)
    assert [c.header for c in kept] == ["in", "out", "$"] and name_w == 28 - 19
    kept, name_w = fit(cols, 15)
    assert [c.header for c in kept] == ["$"] and name_w == 8
    assert fit(cols, 5) == ([], 5)


@given(st.lists(st.tuples(st.text("0123456789.$kMs%", min_size=1, max_size=8), st.integers(0, 9)), max_size=8),
       st.integers(0, 200))
def test_kept_columns_always_fit_whole(spec: list[tuple[str, int]], width: int) -> None:
    cols = [Column(f"h{i}", (cell,), prio) for i, (cell, prio) in enumerate(spec)]
    kept, name_w = fit(cols, width)
    assert sum(c.width for c in kept) + name_w == width or not kept
    for c in kept:
        assert all(len(cell) < c.width for cell in c.cells)  # whole, with its space before it


def test_wide_names_are_cut_in_cells_and_told_apart() -> None:
    """A CJK or emoji name takes two cells a character: cut to the width in cells, with its ellipsis, apart."""
    names = ["推論.リクエスト.モデル別", "推論.リクエスト.エージェント別", "llm.😀😀.tokens"]  # 24, 30, 15 cells
    cuts = cut_names(names, 16)
    assert all(cell_len(c) <= 16 for c in cuts) and len(cuts[0]) < 16  # characters: fewer than the cells
    assert cuts[:2] == ["推論.…モデル別", "推論.…エージェン"] and cuts[2] == names[2]
    assert cut_names(["日本語日本語"], 6) == ["日本…"]  # a wide character the cut would halve is left out whole
    table = render("model", names, [Column("req", ("1", "22", "333"), 1)], 24).plain.splitlines()
    assert [cell_len(line) for line in table] == [24] * 4  # padded in cells: the figures line up
    assert {line[-3:].strip() for line in table} == {"req", "1", "22", "333"}


def test_names_cut_apart() -> None:
    names = ["claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o"]
    assert cut_names(names, 11) == ["claude-son…", "claude-hai…", "gpt-4o"]
    short = cut_names(names, 8)
    assert short[0] != short[1] and all(len(s) <= 8 for s in short)
    assert short[:2] == ["cl…sonne", "cl…haiku"]
    assert cut_names(names, 20) == names
    assert cut_names(["same-prefix-a", "same-prefix-a"], 6) == ["same-…", "same-…"]  # one name twice: fine


@given(st.lists(st.text("abc-日😀", min_size=1, max_size=20), max_size=6), st.integers(1, 25))
def test_cut_names_never_exceed_the_width(names: list[str], width: int) -> None:
    """In cells: a wide character takes two, so a name of them is cut sooner, and a cut one says so."""
    for name, cut in zip(names, cut_names(names, width), strict=True):
        assert cell_len(cut) <= width
        assert cut == name or "…" in cut  # never cropped without its mark


@given(st.lists(st.tuples(st.text("abc$0123456789 ", min_size=1, max_size=12), st.integers(0, 9)), max_size=6),
       st.integers(0, 80))
def test_footer_drops_whole_items_by_priority(items: list[tuple[str, int]], width: int) -> None:
    out = footer(items, width)
    assert len(out) <= width
    kept = out.split(" · ") if out else []
    texts = [t for t, _ in items]
    assert all(k in texts for k in kept)  # whole items only, never a cut one
    it = iter(texts)
    assert all(k in it for k in kept)  # in their order
    dropped = [p for t, p in items if t not in kept]
    assert not kept or not dropped or max(dropped) <= max(p for t, p in items if t in kept)


def test_footer_example() -> None:
    items = [("06:15:51-06:15:56", 3), ("4 priced of 5", 5), ("$/min last 10s", 2)]
    assert footer(items, 80) == "06:15:51-06:15:56 · 4 priced of 5 · $/min last 10s"
    assert footer(items, 36) == "06:15:51-06:15:56 · 4 priced of 5"
    assert footer(items, 14) == "4 priced of 5"
    assert footer(items, 5) == ""


def test_tags_are_cut_between_two_tags_and_the_rest_counted() -> None:
    tags = ("env:production", "region:eu-west-1", "service:checkout-api", "team:payments", "version:2.14.3")
    assert cut_tags(tags, 200) == ",".join(tags)
    assert cut_tags(tags, 41) == "env:production,region:eu-west-1 +3 more"
    assert cut_tags(tags, 38) == "env:production +4 more"
    assert cut_tags(tags, 17) == "env:production +4"  # where `more` no longer fits beside one tag
    assert cut_tags(tags, 12) == "env:prod… +4"  # not even the first tag whole: cut, and the rest still counted
    assert cut_tags(("a_very_long_single_tag:value",), 10) == "a_very_lo…"
    assert cut_tags((), 10) == ""
    assert cut_tags(("日本語日本語:x", "b:c"), 8) == "日本… +1"  # cells: each of these takes two


@given(st.lists(st.text("ab:-日", min_size=1, max_size=15), max_size=8), st.integers(0, 40))
def test_cut_tags_never_exceed_the_width_and_show_whole_tags_first(tags: list[str], width: int) -> None:
    out = cut_tags(tuple(tags), width)
    assert cell_len(out) <= width
    shown, _, mark = out.partition(" +")
    if mark:  # `N more` or `N`: the tags left out, counted
        parts = shown.split(",")
        assert int(mark.removesuffix(" more")) == len(tags) - len(parts)
        assert parts[:-1] == tags[: len(parts) - 1]  # whole tags, in their order...
        assert parts[-1] == tags[len(parts) - 1] or parts[-1].endswith("…")  # ...the last one whole unless alone


@given(st.lists(st.lists(st.sampled_from(["env:prod", "env:dev", "zone:a", "zone:b", "team:payments-platform",
                                          "canary", "pod:api-7f9c6d5b8-xk2lp", "pod:api-7f9c6d5b8-qq1lp"]),
                         min_size=1, max_size=6, unique=True), min_size=1, max_size=12, unique_by=frozenset),
       st.integers(4, 60))
def test_cut_tags_apart_fits_keeps_what_fits_whole_and_shows_the_differing_tag(sets: list[list[str]],
                                                                               width: int) -> None:
    tags = [tuple(sorted(s)) for s in sets]
    out = cut_tags_apart(tags, width)
    assert all(cell_len(c) <= width for c in out)
    assert all(c == ",".join(t) for c, t in zip(out, tags, strict=True) if len(",".join(t)) <= width)
    if width >= 40 and len(tags) == 2:  # one tag of each that the other lacks, whole, fits: they read apart
        assert out[0] != out[1]


def test_cut_tags_apart_puts_the_tag_past_the_cut_first() -> None:
    shared = ("env:production", "region:eu-west-1", "service:checkout-api")
    out = cut_tags_apart([(*shared, "zone:a"), (*shared, "zone:b"), ("env:dev",)], 30)
    assert out[0].startswith("zone:a") and out[1].startswith("zone:b") and out[2] == "env:dev", out
    assert out[0].endswith(" more") and out[1].endswith(" more")  # what they share is what is left out
    assert cut_tags_apart([(*shared, "zone:a"), (*shared, "zone:b")], 31) == [
        "zone:a,env:production +2 more", "zone:b,env:production +2 more"]  # the rest as they come
    assert cut_tags_apart([(*shared, "zone:a"), (*shared, "zone:b")], 30, groups=[1, 2]) == [
        "env:production +3 more"] * 2  # told apart within a group only (stats: a metric's contexts)


def test_a_name_that_prefixes_another_keeps_its_plain_cut() -> None:
    assert cut_names(["llm.agent.execution", "llm.agent.execution.duration"], 17) == [
        "llm.agent.execut…", "llm.a….duration"]


@given(st.lists(st.text("ab-:,日", min_size=1, max_size=30), max_size=12, unique=True), st.integers(8, 30))
def test_different_names_never_read_the_same(names: list[str], width: int) -> None:
    cuts = cut_names(names, width)
    assert all(cell_len(c) <= width for c in cuts)
    assert len(set(cuts)) == len(cuts), (names, width, cuts)


def test_hostile_tag_sets_are_cut_without_weighing_every_key() -> None:
    # a tag key per row (hostile contexts): weighing each key against all rows' others is rows x keys squared
    rows = 150
    assert rows**3 > APART_WORK
    sets = [(f"k{i}:v", "env:prod") for i in range(rows)]
    assert apart_keys(sets, 30) == ([], [[] for _ in sets])  # none: each row is cut on its own
    assert apart_keys(sets[:3], 30)[0] == ["k0", "k1", "k2"]  # a few: still told apart by key
    out = cut_tags_apart([(f"k{i}:{'v' * 30}", "env:prod") for i in range(rows)], 20)
    assert len(set(out)) == rows and all(cell_len(c) <= 20 for c in out)
    many = tuple(f"t{i}" for i in range(30_000))  # one datagram's worth of tags: counted, not joined per count
    assert cut_tags(many, 40) == "t0,t1,t2,t3,t4,t5,t6,t7,t8 +29991 more"
