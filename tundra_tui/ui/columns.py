"""Pane tables that never cut a figure: columns sized to their widest cell and dropped by priority
when space runs out, names given whatever width is left and cut so that no two read the same."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.text import Text


@dataclass(frozen=True)
class Column:
    """One figure column: its header, one cell per row, and how long it is kept (higher: longer)."""

    header: str
    cells: tuple[str, ...]
    priority: int

    @property
    def width(self) -> int:
        """Columns it takes, with one of space before it."""
        return 1 + max(len(self.header), *(len(c) for c in self.cells)) if self.cells else 1 + len(self.header)


def by_priority(items: list[tuple[int, int]], width: int, between: int = 0) -> list[int]:
    """The indices of the (cells, priority) items that fit in `width` cells with `between` cells between two:
    the lowest priority dropped first (the first of equals), order kept, none ever cut."""
    kept = list(range(len(items)))
    while kept and sum(items[i][0] for i in kept) + between * (len(kept) - 1) > width:
        kept.remove(min(kept, key=lambda i: items[i][1]))
    return kept


def fit(columns: list[Column], width: int, name_min: int = 8, gap: int = 0) -> tuple[list[Column], int]:
    """The columns that fit beside a name column at least `name_min` wide (lowest priority dropped first,
    order kept), and the name column's width: everything they leave. `gap`: cells a table adds to each
    column beyond its one space (a DataTable pads both sides)."""
    kept = [columns[i] for i in by_priority([(c.width + gap, c.priority) for c in columns], width - name_min)]
    return kept, max(width - sum(c.width + gap for c in kept), 0)


def fair(natural: list[int], room: int) -> list[int]:
    """Widths for name columns that want `natural` cells within `room`: the narrow ones whole, the rest an equal
    share of what is left."""
    out = [0] * len(natural)
    left = list(range(len(natural)))
    while left:
        each = room // len(left)
        fits = [j for j in left if natural[j] <= each]
        if not fits:
            for j in left:
                out[j] = each
            break
        for j in fits:
            out[j] = natural[j]
            room -= natural[j]
            left.remove(j)
    return out


def footer(items: list[tuple[str, int]], width: int, sep: str = " · ") -> str:
    """(text, priority) items joined by `sep` within `width` cells: the least important dropped first, order
    kept, none ever cut (nothing at all when even the most important does not fit)."""
    shown = [t for t, _ in items if t]
    kept = by_priority([(len(t), p) for t, p in items if t], width, len(sep))
    return sep.join(shown[i] for i in kept)


def cut_names(names: list[str], width: int) -> list[str]:
    """Each name cut to `width` with an ellipsis; names whose cuts would read the same keep their first
    letters and show, from the word where each parts from another, what tells them apart
    (`cla…sonnet`, `cla…haiku-`)."""
    if width <= 0:
        return ["" for _ in names]
    cuts = [n if len(n) <= width else n[: width - 1] + "…" for n in names]
    if width < 4:
        return cuts
    clashes: dict[str, list[int]] = {}
    for i, cut in enumerate(cuts):
        if cut.endswith("…"):
            clashes.setdefault(cut, []).append(i)
    used = set(cuts)  # what every name reads now: a cut told apart must not read as another does
    for idx in clashes.values():
        originals = sorted({names[i] for i in idx})
        if len(originals) < 2:
            continue
        head = max(1, min(_common(originals[0], originals[-1]), (width - 1) // 3))
        apart = _apart(originals, width, head, used)
        for i in idx:
            cuts[i] = apart[names[i]]
    return cuts


def cut_tags(tags: tuple[str, ...], width: int) -> str:
    """Tags joined by commas within `width` cells, cut only between two tags and the rest counted as a pane counts
    the rows it leaves out (`env:prod,region:eu +3 more`, or `+3` where only that fits); a first tag too wide for
    even that is cut with an ellipsis."""
    whole = ",".join(tags)
    if cell_len(whole) <= width:  # cells, not characters: a wide character takes two
        return whole
    for form in (" +{} more", " +{}"):
        for n in range(len(tags) - 1, 0, -1):
            shown = ",".join(tags[:n]) + form.format(len(tags) - n)
            if cell_len(shown) <= width:
                return shown
    mark = f" +{len(tags) - 1}" if len(tags) > 1 else ""
    if width - len(mark) < 2:
        return set_cell_size(whole, width - 1) + "…" if width > 0 else ""
    return set_cell_size(tags[0], width - len(mark) - 1) + "…" + mark


def _apart(originals: list[str], width: int, head: int, used: set[str]) -> dict[str, str]:
    """Cuts of names that would read the same: the first `head` letters, then the word where each parts
    from another (the earliest first), picked so that none reads as one in `used` where the width allows
    it (the picks are added to `used`)."""
    room = width - 1 - head
    out: dict[str, str] = {}
    for name in originals:
        options = []
        for p in sorted({_common(name, other) for other in originals if other != name}):
            if p >= len(name):  # the others' shared prefix itself (`llm.agent.execution`): its plain cut
                options.append(name[: width - 1] + "…")
                continue
            word = max(name.rfind(sep, 0, p) for sep in ",:._-/ ") + 1  # back to the start of its word
            options += [name[:head] + "…" + name[start : start + room]
                        for start in ((word, p) if p - word < room // 2 else (p,))]
        pick = next((o for o in options if o not in used), options[0])
        used.add(pick)
        out[name] = pick
    return out


def _common(a: str, b: str) -> int:
    """The length of the prefix `a` and `b` share."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def with_hidden(header: str, hidden: int, width: int) -> str:
    """The name column's header, saying how many figure columns were left out for width (`model +2 cols`,
    else `model +2`) when that fits; the help says where they are (a wider terminal, Enter)."""
    if hidden > 0:
        for form in (f"{header} +{hidden} cols", f"{header} +{hidden}"):
            if len(form) <= width:
                return form
    return header[:width]


def render(name_header: str, names: list[str], columns: list[Column], width: int, *, name_min: int = 8,
           styles: dict[tuple[int, int], str] | None = None, row_styles: list[str] | None = None,
           header_style: str = "bold", fitted: tuple[list[Column], int] | None = None) -> Text:
    """A header line and one line per name: figures whole and right-aligned, names cut apart in what is left.
    `styles[(row, column)]` colours one cell (column -1: the name); `row_styles[row]` a whole line. `fitted`:
    `fit(columns, width, name_min)` when the caller made it already (to know which columns show)."""
    kept, name_w = fitted or fit(columns, width, name_min)
    index = {id(c): i for i, c in enumerate(columns)}
    out = Text(no_wrap=True)
    out.append(with_hidden(name_header, len(columns) - len(kept), name_w).ljust(name_w), style=header_style)
    for c in kept:
        out.append(c.header.rjust(c.width), style=header_style)
    styles = styles or {}
    for row, shown in enumerate(cut_names(names, name_w)):
        line = Text(no_wrap=True, style=(row_styles or [])[row] if row < len(row_styles or []) else "")
        line.append(shown.ljust(name_w), style=styles.get((row, -1), ""))
        for c in kept:
            line.append(c.cells[row].rjust(c.width), style=styles.get((row, index[id(c)]), ""))
        out.append("\n")
        out.append_text(line)
    return out
