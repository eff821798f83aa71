"""`--once` and `stats` human output at 80 columns: every figure whole, one line per row."""

from __future__ import annotations

import io
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console

from tundra_tui.capture.dogfile import CaptureWriter
from tundra_tui.commands.replay import SAMPLE
from tundra_tui.commands.report import print_dashboard, print_stats
from tundra_tui.model import Engine, Pricer
from tundra_tui.model.engine import Mode
from tundra_tui.model.snapshot import SessionStatus, SourceStatus, Stats

from .conftest import run_cli
from .ui_fixtures import END_NS, SAMPLE_PACKETS


def _console(width: int) -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=width, color_system=None), buf


def test_once_text_at_80_columns_keeps_figures_whole() -> None:
    e = Engine(Mode.DASHBOARD, pricer=Pricer())
    e.feed([(m.timestamp, m.payload) for m in SAMPLE_PACKETS])
    dash = e.dashboard(END_NS)
    con, buf = _console(80)
    print_dashboard(dash, con)
    lines = buf.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines)
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == len(dash.models)  # no row wraps
    for m, line in zip(dash.models, rows, strict=True):
        assert f" {m.requests:,} " in line and f"{m.input_tokens:,}" in line
        assert ("n/a" if m.cost_usd is None else f"${m.cost_usd:.4f}") in line
        assert "…" not in line.split("│", 3)[3]  # past the names, nothing is cut
    assert "(4 priced of 5)" in buf.getvalue() and "+" in buf.getvalue()


def _stats_rows(top: int) -> tuple[list[tuple[tuple[str, str], str, list[str]]], list[str], Stats]:
    """`stats` at 80 columns, read back: (metric and type of its group, tag values, figures) per context row."""
    e = Engine(Mode.STATS)
    e.feed([(m.timestamp, m.payload) for m in SAMPLE_PACKETS])
    stats = e.stats("sample.dog", top=top)
    con, buf = _console(80)
    print_stats(stats, SessionStatus(SourceStatus("replay")), con)
    lines = buf.getvalue().splitlines()
    rows, group = [], ("", "")
    for line in lines:
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if not line.startswith("│  "):
            group = (cells[0], cells[1])  # a metric, once, with its type
        elif not cells[0].startswith("by "):  # not the line naming the keys
            rows.append((group, cells[0], cells[2:]))
    return rows, lines, stats


def test_stats_at_80_columns_one_line_per_context() -> None:
    rows, lines, stats = _stats_rows(10)
    assert all(len(line) <= 80 for line in lines)
    assert len(rows) == len(stats.contexts) == 10
    assert sorted(f[0] for _, _, f in rows) == sorted(f"{c.samples:,}" for c in stats.contexts)


def test_stats_at_80_columns_tells_every_context_apart() -> None:
    """Each metric once, beneath it the tag values that set its contexts apart: at 80 columns, no two rows
    of all 234 contexts read alike, and each row's values are its own tags'."""
    rows, lines, stats = _stats_rows(1000)
    contexts = stats.contexts
    assert len(contexts) == 234 and len(rows) == len(contexts)
    assert all(len(line) <= 80 for line in lines)
    assert len({(g, t) for g, t, _ in rows}) == len(contexts)
    assert ("llm.agent.execution", "c") in {g for g, _, _ in rows}  # the metric whole, no longer cut
    by_group: dict[tuple[str, str], list] = {}
    for c in contexts:
        by_group.setdefault((c.name, c.type), []).append(c)
    for (group, shown, figures), c in zip(rows, [c for cs in by_group.values() for c in cs], strict=True):
        assert group == (c.name, c.type) and figures[0] == f"{c.samples:,}"
        if " +" in shown:  # a lone context's tags, cut between two tags: each one shown is one of its own
            assert all(t in c.tags for t in shown.split(" +")[0].split(","))
            continue
        values = {t.partition(":")[2] or t for t in c.tags}
        assert all(v in values or v == "-" for v in shown.rstrip("…").split()[:-1])


def test_stats_at_80_columns_cuts_a_lone_contexts_tags_between_two_tags() -> None:
    """A metric with one context shows its tags beneath it: at 80 columns they are cut where one tag ends, and
    those left out are counted (`+3 more`), as a pane counts its rows; never a tag cut in the middle."""
    tags = ["env:production", "region:eu-west-1", "service:checkout-api", "team:payments", "version:2.14.3"]
    e = Engine(Mode.STATS)
    e.feed([(END_NS, b"app.requests:1|c|#" + ",".join(tags).encode()), (END_NS, b"app.idle:1|c")])
    con, buf = _console(80)
    print_stats(e.stats("x"), SessionStatus(SourceStatus("replay")), con)
    lines = buf.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines)
    cells = [line.split("│")[1].strip() for line in lines if line.startswith("│  ")]
    assert "(no tags)" in cells
    shown, more = next(c for c in cells if c.startswith("env:")).split(" +")
    assert shown.split(",") == tags[: len(shown.split(","))] and more == f"{len(tags) - len(shown.split(','))} more"
    assert int(more.split()[0]) > 0  # 80 columns cannot hold them all


def test_once_text_at_80_columns_names_the_columns_it_left_out() -> None:
    e = Engine(Mode.DASHBOARD, pricer=Pricer())
    e.feed([(m.timestamp, m.payload) for m in SAMPLE_PACKETS])
    dash = e.dashboard(END_NS)
    con, buf = _console(80)
    print_dashboard(dash, con)
    out = buf.getvalue()
    header = next(line for line in out.splitlines() if "model" in line and "provider" in line)
    every = ["req", "err%", "in", "out", "cost", "p50 ms", "p95 ms", "p99 ms"]
    left = [h for h in every if f" {h} " not in header]
    assert left  # 80 columns cannot hold all eight whole
    note = next(line for line in out.splitlines() if line.startswith("left out at 80 columns: "))
    assert note.endswith("; --json has them all")  # one line, not wrapped
    assert note.split(": ", 1)[1].split(";")[0].split(", ") == left
    wide, wide_buf = _console(200)
    print_dashboard(dash, wide)
    assert "left out" not in wide_buf.getvalue()


def _wide_tag_cells(stats: Stats, width: int) -> list[str]:
    """`stats` at `width` (one row per context, tags in a column of their own): each row's tags cell, read back."""
    con, buf = _console(width)
    print_stats(stats, SessionStatus(SourceStatus("replay")), con)
    lines = buf.getvalue().splitlines()
    assert all(len(line) <= width for line in lines)
    return [line.split("│")[2].strip() for line in lines if line.startswith("│")]  # the header is ┃, not │


def _reads_as(cell: str, tags: tuple[str, ...]) -> bool:
    """The cell is the tags whole (in any order), or some of them whole and the rest counted (`+N more`, `+N`),
    or (where even those that tell it apart do not fit) some of their values, spaced, the last maybe cut."""
    if sorted(cell.split(",")) == sorted(tags):
        return True
    shown, _, more = cell.partition(" +")
    if set(shown.split(",")) <= set(tags):
        n = len(shown.split(","))
        return more in (f"{len(tags) - n} more", f"{len(tags) - n}")
    values = {t.partition(":")[2] or t for t in tags}
    words = cell.split(" ")
    return all(w in values for w in words[:-1]) and (words[-1] in values
                                                     or any(v.startswith(words[-1][:-1]) for v in values))


def test_stats_at_120_columns_and_more_cuts_tags_between_two_tags() -> None:
    """Wide, the tags column is cut where a tag ends, the rest counted, as below 120: never mid-tag."""
    tags = ["env:production", "region:eu-west-1", "service:checkout-api", "team:payments", "version:2.14.3",
            "cluster:k8s-prod-eu-west-1-blue", "pod:checkout-api-7f9c6d5b8-xk2lp"]
    e = Engine(Mode.STATS)
    e.feed([(END_NS, b"app.requests:1|c|#" + ",".join(tags).encode()), (END_NS, b"app.idle:1|c")])
    stats = e.stats("x")
    tagged = next(c.tags for c in stats.contexts if c.tags)
    assert sorted(tagged) == sorted(tags)
    for width in (120, 140):
        cells = _wide_tag_cells(stats, width)
        cell = next(c for c in cells if c)
        assert "…" not in cell and " +" in cell and _reads_as(cell, tagged), (width, cell)
        assert "" in cells  # the context without tags: an empty cell
    assert ",".join(tagged) in _wide_tag_cells(stats, 220)  # room for all: whole


def test_stats_at_120_columns_every_sample_context_s_tags_read_as_its_own() -> None:
    e = Engine(Mode.STATS)
    e.feed([(m.timestamp, m.payload) for m in SAMPLE_PACKETS])
    stats = e.stats("sample.dog", top=1000)
    for width in (120, 160):
        cells = _wide_tag_cells(stats, width)
        assert len(cells) == len(stats.contexts)
        assert all(_reads_as(cell, c.tags) for cell, c in zip(cells, stats.contexts, strict=True))
        assert any(" +" in cell for cell in cells)  # some are cut at 120


def _rows_at(width: int, capture: str) -> list[tuple[str, ...]]:
    """`tundra stats CAPTURE` piped with COLUMNS=width, in process: each context row's metric, tags and type cells."""
    res = run_cli("stats", capture, env={"COLUMNS": str(width)})
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert all(len(line) <= width for line in lines)
    return [tuple(c.strip() for c in line.split("│")[1:4]) for line in lines if line.startswith("│")]


def test_stats_wide_rows_never_read_alike(tmp_path: Path) -> None:
    """At 120 columns and more, contexts of one metric that differ only in tags the cut would leave out show the
    tag that tells them apart (the keys that do first, as below 120): no two rows read alike, at any width."""
    shared = ["env:production", "region:eu-west-1", "service:checkout-api", "team:payments", "version:2.14.3",
              "cluster:k8s-prod-eu-west-1-blue"]
    path = tmp_path / "apart.dog"
    lines = [f"app.requests:1|c|#{','.join(shared)},zone:{z}" for z in ("a", "b", "c")]
    lines += [f"app.latency:5|d|#{','.join(shared)},pod:checkout-{p},zone:a" for p in ("x1", "x2")]
    w = CaptureWriter(path, compress=False)
    for n, line in enumerate(lines):
        w.write(line.encode(), END_NS + n)
    w.close()
    for width in (120, 140, 160):
        rows = _rows_at(width, str(path))
        assert len(rows) == len(lines) == len(set(rows)), (width, rows)
        zones = sorted(tags.split(",")[0] for name, tags, _ in rows if name == "app.requests")
        assert zones == ["zone:a", "zone:b", "zone:c"], (width, rows)  # the differing tag, first and whole
        pods = sorted(tags.split(",")[0] for name, tags, _ in rows if name == "app.latency")
        assert pods == ["pod:checkout-x1", "pod:checkout-x2"], (width, rows)
        assert all(" +" in tags for _, tags, _ in rows)  # the shared ones are what is cut
    assert ",".join(sorted([*shared, "zone:b"])) in {tags for _, tags, _ in _rows_at(400, str(path))}


def test_stats_sample_rows_never_read_alike_at_any_wide_width() -> None:
    """The bundled sample (234 contexts, up to 67 of one metric differing in three keys): no two rows read alike
    from 120 columns up, and each tags cell reads as its own context's tags (or their values)."""
    e = Engine(Mode.STATS)
    e.feed([(m.timestamp, m.payload) for m in SAMPLE_PACKETS])
    stats = e.stats("sample.dog", top=1000)
    for width in (120, 128, 140, 160, 200):
        rows = _rows_at(width, str(SAMPLE))
        assert len(rows) == len(set(rows)) == len(stats.contexts), width
        assert all(_reads_as(tags, c.tags) for (_, tags, _), c in zip(rows, stats.contexts, strict=True)), width


WIDE_NAMES = ["推論.リクエスト.完了数.合計値.モデル別", "推論.リクエスト.完了数.合計値.エージェント別",
              "llm.😀😀😀😀😀😀😀😀😀😀😀😀.tokens", "llm.😀😀😀😀😀😀😀😀😀😀😀😀.latency", "llm.ok"]


def _shows(cell: str, whole: str) -> bool:
    """The cell is `whole`, or cut where it says so: its start and an ellipsis, or its start, an ellipsis and the
    piece that tells it from another (`llm.😀…latency`); never cropped without the mark (or with a pad before it)."""
    if cell == whole:
        return True
    start, mark, piece = cell.partition("…")
    return bool(mark) and whole.startswith(start) and piece in whole and (not piece or whole.endswith(piece)
                                                                          or piece in whole[len(start):])


def test_stats_measures_wide_characters_in_cells(tmp_path: Path) -> None:
    """Names and tags in CJK and emoji take two cells a character: at every width each line fits COLUMNS cells, a
    cut name ends where its ellipsis says (rich never crops one further), and names cut apart still read apart."""
    path = tmp_path / "wide.dog"
    w = CaptureWriter(path, compress=False)
    n = 0
    for name in WIDE_NAMES:
        for zone in ("東京リージョン本番環境", "大阪リージョン検証環境", "a"):
            w.write(f"{name}:1|c|#環境:本番プロダクション,ゾーン:{zone},チーム:決済サービスチーム,emoji:🚀🚀🚀🚀🚀🚀"
                    .encode(), END_NS + n)
            n += 1
    w.close()
    for width in (60, 80, 100, 120, 160):
        res = run_cli("stats", str(path), env={"COLUMNS": str(width)})
        assert res.returncode == 0, res.stderr
        lines = res.stdout.splitlines()
        assert all(cell_len(line) <= width for line in lines), (width, [cell_len(x) for x in lines])
        rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines
                if line.startswith("│") and (width >= 120 or not line.startswith("│  "))]  # narrow: a metric's row
        names = [r[0] for r in rows]
        assert len(names) == (len(WIDE_NAMES) if width < 120 else 3 * len(WIDE_NAMES)), (width, names)
        assert len(set(names)) == len(WIDE_NAMES), (width, names)  # cut apart: no two metrics read alike
        for cell in names:
            assert any(_shows(cell, whole) for whole in WIDE_NAMES), (width, cell)
        assert width > 80 or any("…" in cell for cell in names), width  # the narrow ones cut, and say so
        if width >= 120:  # the tags column: whole tags and the rest counted, or a first tag cut with its mark
            for r in rows:
                shown = r[1].partition(" +")[0]
                assert all(t.endswith("…") or ":" in t for t in shown.split(",")), (width, r[1])

