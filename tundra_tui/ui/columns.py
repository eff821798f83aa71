"""Pane tables that never cut a figure: columns sized to their widest cell and dropped by priority
when space runs out, names given whatever width is left and cut so that no two read the same. Every width here is
in terminal cells, not characters: a wide character (CJK, most emoji) takes two."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

from rich.cells import cell_len
from rich.text import Text

from ..protocol import split_tag
from .fmt import clip, head, pad


@dataclass(frozen=True)
class Column:
    """One figure column: its header, one cell per row, and how long it is kept (higher: longer)."""

    header: str
    cells: tuple[str, ...]
    priority: int

    @property
    def width(self) -> int:
        """Columns it takes, with one of space before it."""
        return 1 + max(cell_len(self.header), *(cell_len(c) for c in self.cells)) if self.cells \
            else 1 + cell_len(self.header)


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
    kept = by_priority([(cell_len(t), p) for t, p in items if t], width, cell_len(sep))
    return sep.join(shown[i] for i in kept)


def cut_names(names: list[str], width: int) -> list[str]:
    """Each name cut to `width` with an ellipsis; names whose cuts would read the same keep their first
    letters and show, from the word where each parts from another, what tells them apart
    (`cla…sonnet`, `cla…haiku-`)."""
    if width <= 0:
        return ["" for _ in names]
    cuts = [clip(n, width) for n in names]
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
        first = max(1, min(cell_len(originals[0][: _common(originals[0], originals[-1])]), (width - 1) // 3))
        apart = _apart(originals, width, first, used)
        for i in idx:
            cuts[i] = apart[names[i]]
    return cuts


def cut_tags(tags: tuple[str, ...], width: int) -> str:
    """Tags joined by commas within `width` cells, cut only between two tags and the rest counted as a pane counts
    the rows it leaves out (`env:prod,region:eu +3 more`, or `+3` where only that fits); a first tag too wide for
    even that is cut with an ellipsis."""
    whole = ",".join(tags)
    if cell_len(whole) <= width:
        return whole
    ends = list(accumulate(cell_len(t) + 1 for t in tags))  # the first n tags take ends[n - 1] - 1 cells
    for form in (" +{} more", " +{}"):  # each count from the most tags down in O(1): thousands of tags are one pass
        for n in range(len(tags) - 1, 0, -1):
            if ends[n - 1] - 1 + len(form.format(len(tags) - n)) <= width:
                return ",".join(tags[:n]) + form.format(len(tags) - n)
    mark = f" +{len(tags) - 1}" if len(tags) > 1 else ""
    if width - len(mark) < 2:
        return clip(whole, width)
    return clip(tags[0], width - len(mark)) + mark


APART_WORK = 2_000_000  # keys squared times rows apart_keys would weigh (hostile: a key per row): past it, none


def apart_keys(tag_sets: list[tuple[str, ...]], room: int, *,
               written: bool = False) -> tuple[list[str], list[list[str]]]:
    """The tag keys whose values tell these tag sets apart (the longest left out, while others still do, until
    what is shown fits in `room`: the values spaced, or with `written` the tags themselves, comma-joined), and each
    set's values (`-`: the key is absent; a bare tag is its own key). None for a single set (nothing to tell apart),
    or past APART_WORK (each set is then cut on its own)."""
    if len(tag_sets) < 2:
        return [], [[] for _ in tag_sets]
    parsed = [{} for _ in tag_sets]  # type: list[dict[str, str]]
    cells = [{} for _ in tag_sets]  # type: list[dict[str, int]]  # each key's tags as written, with a comma
    for d, n, tags in zip(parsed, cells, tag_sets, strict=True):
        for t in sorted(set(tags)):
            k, v = split_tag(t)
            d[k] = f"{d[k]},{v or k}" if k in d else v or k
        for t in tags:
            k = split_tag(t)[0]
            n[k] = n.get(k, 0) + cell_len(t) + 1

    def wide(keys: list[str]) -> int:
        if written:
            return max(sum(n.get(x, 0) for x in keys) for n in cells) - 1
        return max(cell_len(" ".join(d.get(x, "-") for x in keys)) for d in parsed)

    values: dict[str, set[str]] = {}
    present: dict[str, int] = {}
    for d in parsed:
        for k, v in d.items():
            values.setdefault(k, set()).add(v)
            present[k] = present.get(k, 0) + 1
    # the same on every row says nothing (counted in one pass over the tags: not each key against every row)
    keys = sorted(k for k in values if len(values[k]) > 1 or present[k] < len(parsed))
    if len(keys) ** 2 * len(parsed) > APART_WORK:  # each key tried against every row's others: none, rows cut alone
        return [], [[] for _ in tag_sets]
    apart = len({tuple(sorted(d.items())) for d in parsed})  # how many sets there are to tell apart
    for k in sorted(keys, key=lambda k: -max(cell_len(d.get(k, "")) for d in parsed)):  # the longest go first
        if wide(keys) <= room:
            break
        rest = [x for x in keys if x != k]
        if len({tuple(d.get(x, "-") for x in rest) for d in parsed}) == apart:
            keys = rest
    return keys, [[d.get(k, "-") for k in keys] for d in parsed]


TELL_WORK = 2_000_000  # a group's rows times those of them told apart one by one: past it, they are left as cut
CLASH_MAX = 64  # rows reading the same cut apart as names are (quadratic in them): past it, left as cut


def cut_tags_apart(tag_sets: list[tuple[str, ...]], width: int, groups: list[object] | None = None) -> list[str]:
    """Each tag set whole where it fits, else cut as `cut_tags` cuts it with the tags that tell it from the others
    of its group (rows with equal `groups` entries; all one group without) first: the keys that do (`apart_keys`),
    on every row alike; where those do not fit and rows read the same, on each of them the fewest of its own tags
    that no other row has all of (`env:prod,region:eu +3 more` vs `region:us,env:prod +3 more`); rows that still
    read the same show those tags' values alone (`server_error gpt-4o planning`), cut apart as names are."""
    members: dict[object, list[int]] = {}
    for i in range(len(tag_sets)):
        members.setdefault(groups[i] if groups else None, []).append(i)
    out = [""] * len(tag_sets)
    for idx in members.values():
        keys = apart_keys([tag_sets[i] for i in idx], width - len(" +99"), written=True)[0]
        rank = {k: n for n, k in enumerate(keys)}
        ordered = [tag_sets[i] if cell_len(",".join(tag_sets[i])) <= width  # whole: as they come
                   else tuple(sorted(tag_sets[i], key=lambda t: rank.get(split_tag(t)[0], len(keys)))) for i in idx]
        cells = [cut_tags(tags, width) for tags in ordered]
        alike = [n for same in _clashes(cells, len(cells)) for n in same]
        telling = [len(tags) for tags in ordered]  # how many of a row's first tags tell it apart
        if alike and len(alike) * len(idx) <= TELL_WORK:
            having: dict[str, set[int]] = {}
            for n, tags in enumerate(ordered):
                for t in tags:
                    having.setdefault(t, set()).add(n)
            for n in alike:
                ordered[n], telling[n] = _telling_first(n, ordered[n], having)
                cells[n] = cut_tags(ordered[n], width)
        for same in _clashes(cells, CLASH_MAX):  # even those do not fit: their values alone (as `by` rows show them)
            told = [" ".join(split_tag(t)[1] or t for t in ordered[n][:telling[n]]) for n in same]
            for n, cell in zip(same, cut_names(told, width), strict=True):
                cells[n] = cell
        for i, cell in zip(idx, cells, strict=True):
            out[i] = cell
    return out


def _clashes(cells: list[str], most: int) -> list[list[int]]:
    """The indices of cells that read the same, in classes of at most `most`."""
    seen: dict[str, list[int]] = {}
    for n, cell in enumerate(cells):
        seen.setdefault(cell, []).append(n)
    return [same for same in seen.values() if 1 < len(same) <= most]


def _telling_first(row: int, tags: tuple[str, ...], having: dict[str, set[int]]) -> tuple[tuple[str, ...], int]:
    """Row `row`'s `tags` with first the few that no other row (`having`: the rows with each tag) has all of, each
    pick the one the fewest of those still alike have (the first of equals), in their order; and how many."""
    picked: set[str] = set()
    alike: set[int] | None = None  # None: every row
    while alike is None or alike - {row}:
        left = [(len(having[t] if alike is None else alike & having[t]), t) for t in tags if t not in picked]
        if not left:
            break
        fewest, best = min(left, key=lambda x: x[0])
        if alike is not None and fewest == len(alike):  # no tag of its own tells it from those left
            break
        picked.add(best)
        alike = having[best] if alike is None else alike & having[best]
    return tuple(t for t in tags if t in picked) + tuple(t for t in tags if t not in picked), len(picked)


def _apart(originals: list[str], width: int, first: int, used: set[str]) -> dict[str, str]:
    """Cuts of names that would read the same: their first `first` cells, then the word where each parts
    from another (the earliest first), picked so that none reads as one in `used` where the width allows
    it (the picks are added to `used`)."""
    out: dict[str, str] = {}
    for name in originals:
        start_of = head(name, first) or name[:1]  # a wide first character where one cell was meant: it whole
        room = width - 1 - cell_len(start_of)
        options = []
        for p in sorted({_common(name, other) for other in originals if other != name}):
            if p >= len(name):  # the others' shared prefix itself (`llm.agent.execution`): its plain cut
                options.append(clip(name, width))
                continue
            word = max(name.rfind(sep, 0, p) for sep in ",:._-/ ") + 1  # back to the start of its word
            options += [start_of + "…" + head(name[start:], room)
                        for start in ((word, p) if cell_len(name[word:p]) < room // 2 else (p,))]
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
            if cell_len(form) <= width:
                return form
    return head(header, width)


def render(name_header: str, names: list[str], columns: list[Column], width: int, *, name_min: int = 8,
           styles: dict[tuple[int, int], str] | None = None, row_styles: list[str] | None = None,
           header_style: str = "bold", fitted: tuple[list[Column], int] | None = None) -> Text:
    """A header line and one line per name: figures whole and right-aligned, names cut apart in what is left.
    `styles[(row, column)]` colours one cell (column -1: the name); `row_styles[row]` a whole line. `fitted`:
    `fit(columns, width, name_min)` when the caller made it already (to know which columns show)."""
    kept, name_w = fitted or fit(columns, width, name_min)
    index = {id(c): i for i, c in enumerate(columns)}
    out = Text(no_wrap=True)
    out.append(pad(with_hidden(name_header, len(columns) - len(kept), name_w), name_w), style=header_style)
    for c in kept:
        out.append(pad(c.header, c.width, right=True), style=header_style)
    styles = styles or {}
    for row, shown in enumerate(cut_names(names, name_w)):
        line = Text(no_wrap=True, style=(row_styles or [])[row] if row < len(row_styles or []) else "")
        line.append(pad(shown, name_w), style=styles.get((row, -1), ""))
        for c in kept:
            line.append(pad(c.cells[row], c.width, right=True), style=styles.get((row, index[id(c)]), ""))
        out.append("\n")
        out.append_text(line)
    return out
