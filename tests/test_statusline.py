"""The status line keeps the important items at any width: abbreviate first, then drop, least important first."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text

from tundra_tui.ui.statusline import Item, fit_items


def _items() -> list[Item]:
    return [Item(Text(" PAUSED "), Text("❚❚"), 9), Item(Text("127.0.0.1:8125 → 127.0.0.1:8126"), Text("8125"), 2),
            Item(Text("6.3k dg/s"), None, 3), Item(Text("err 0"), None, 4), Item(Text("16:39:16"), None, 1),
            Item(Text("agent 7.64.0 ok"), Text("agent ok"), 8), Item(Text("/model:gpt-4o env:prod"), None, 10),
            Item(Text("●REC 1.2k"), Text("●REC"), 9)]


def test_everything_fits_when_wide() -> None:
    assert fit_items(_items(), 200).plain == (" PAUSED  │127.0.0.1:8125 → 127.0.0.1:8126 │6.3k dg/s │err 0 │16:39:16"
                                               " │agent 7.64.0 ok │/model:gpt-4o env:prod │●REC 1.2k")


def test_at_80_columns_the_important_items_stay_whole() -> None:
    plain = fit_items(_items(), 78).plain
    assert len(plain) <= 78
    for kept in ("PAUSED", "agent", "/model:gpt-4o env:prod", "●REC"):
        assert kept in plain, plain


def test_at_40_columns_it_abbreviates_then_drops_the_least_important() -> None:
    plain = fit_items(_items(), 40).plain
    assert len(plain) <= 40 and "/model:gpt-4o env:prod" in plain and "16:39:16" not in plain
    assert "❚❚" in plain


@given(st.integers(1, 120))
def test_never_wider_than_asked_unless_one_item_is(width: int) -> None:
    out = fit_items(_items(), width)
    assert out.cell_len <= max(width, len("/model:gpt-4o env:prod"))
