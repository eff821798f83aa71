"""Human (rich) output for the headless commands: `stats`, `top --once`, the record progress line."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..ui.columns import Column, apart_keys, cut_names, cut_tags, cut_tags_apart, fair, fit

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..model.snapshot import ContextRow, Dashboard, SessionStatus, Stats
    from ..model.spans import SpanSummary


class _Console(Console):
    """A reader that went away (`| head`) ends the command as it ends `--json`: quietly, exit 0 (rich's own
    answer is SystemExit(1), which would say "internal error" with no report)."""

    def on_broken_pipe(self) -> None:
        """Later writes (and the flush at exit) go nowhere; the command's BrokenPipeError handler ends it."""
        import os
        import sys

        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise BrokenPipeError


def _console() -> Console:
    """Wide when piped, so names and tags are not folded into unreadable columns, unless COLUMNS says how wide."""
    con = _Console()
    return con if con.is_terminal or os.environ.get("COLUMNS", "").isdigit() else _Console(width=200)


def _t(value: object) -> Text:
    """Text from outside as a table cell: never read as markup (`[/x]` is text, not a tag)."""
    return Text("-" if value is None else str(value))


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _usd(cost: float | None, pricing: bool, partial: bool = False) -> str:
    return "pricing…" if pricing else "n/a" if cost is None else f"${cost:.4f}" + ("+" if partial else "")


def _table(con: Console, names: list[tuple[str, int]], figures: list[tuple[str, int]],
           rows: list[list[Text | str]], tags: dict[int, list[tuple[str, ...]]] | None = None,
           groups: list[object] | None = None, **kwargs: object) -> tuple[Table, list[str]]:
    """A table whose figures are never cut: each figure column is as wide as its widest cell, the
    least important (lowest priority) are left out until the table fits, and names are cut instead,
    apart, so that no two read the same (`llm.agent.ex…ution`, `agent_name:spec-…code`); a name column
    given in `tags` (its rows' tag lists) is cut where a tag ends instead (`env:prod +3 more`), the tags that tell
    a row from the others of its `groups` entry first (`cut_tags_apart`). Also returns
    the headers of the figure columns left out, for a line that says so."""
    first = len(names)
    columns = [Column(head, tuple(str(r[first + i]) for r in rows), prio) for i, (head, prio) in enumerate(figures)]
    kept, share = _fit(con, names, columns)
    natural = [max(cell_len(head), *(cell_len(str(r[j])) for r in rows)) if rows else cell_len(head)
               for j, (head, _least) in enumerate(names)]
    name_w = fair(natural, share)
    cut = [cut_tags_apart(tags[j], name_w[j], groups) if tags and j in tags
           else cut_names([str(r[j]) for r in rows], name_w[j]) for j in range(first)]
    table = Table(**kwargs)  # type: ignore[arg-type]
    for (name, _least), w in zip(names, name_w, strict=True):
        table.add_column(name, width=w, no_wrap=True)
    for c in kept:
        table.add_column(c.header, justify="right", no_wrap=True, min_width=c.width - 1)
    shown = {id(c) for c in kept}
    at = [first + i for i, c in enumerate(columns) if id(c) in shown]
    for n, r in enumerate(rows):
        table.add_row(*(Text(cut[j][n]) for j in range(first)), *(r[i] for i in at))
    return table, [c.header for c in columns if id(c) not in shown]


def _fit(con: Console, names: list[tuple[str, int]], figures: list[Column]) -> tuple[list[Column], int]:
    """The figure columns a table keeps, and the cells its name columns share (each at least its least width)."""
    # rich puts a border and a space each side of a cell (2 more than Column's one space), and a last border
    kept, share = fit(figures, con.width - 1, name_min=sum(least + 3 for _, least in names), gap=2)
    return kept, max(share - 3 * len(names), sum(least for _, least in names))


def _print_table(con: Console, table: tuple[Table, list[str]]) -> None:
    """The table, then one line naming the columns it left out for width (and where they are)."""
    con.print(table[0])
    if table[1]:
        con.print(Text(f"left out at {con.width} columns: {', '.join(table[1])}; --json has them all"))


def print_stats(stats: Stats, status: SessionStatus, con: Console | None = None) -> None:
    """A table of contexts sorted by samples, like `agent dogstatsd-stats`, then the error summary."""
    con = con or _console()
    con.print(Text(f"{stats.source}: {stats.packets:,} packets, {stats.lines:,} lines, "
                   f"{stats.contexts_total:,} contexts"))
    figures = [("type", 4), ("samples", 5), ("count", 2), ("value", 3)]  # priorities: samples kept longest
    if con.width >= 120:
        rows: list[list[Text | str]] = [[_t(r.name), _t(",".join(r.tags)), r.type, f"{r.samples:,}", _n(r.count),
                                         _n(r.value)] for r in stats.contexts]
        _print_table(con, _table(con, [("metric", 16), ("tags", 16)], figures, rows,
                                 tags={1: [r.tags for r in stats.contexts]},
                                 groups=[(r.name, r.type) for r in stats.contexts]))
    else:  # full tag sets do not fit: each metric once, beneath it the tags that set its contexts apart
        names = [("metric / its differing tags", 16)]
        cells = [[c.type for c in stats.contexts], [f"{c.samples:,}" for c in stats.contexts],
                 [_n(c.count) for c in stats.contexts], [_n(c.value) for c in stats.contexts]]
        room = _fit(con, names, [Column(h, tuple(cs), p) for (h, p), cs in zip(figures, cells, strict=True)])[1]
        grouped = _grouped(stats.contexts, room - 2)  # the name column's cells, less the rows' indent
        _print_table(con, _table(con, names, figures, grouped))
    errs = stats.errors
    con.print(f"events {stats.events:,}   service checks {stats.service_checks:,}   "
              f"parse errors: metric {errs.metric:,}, event {errs.event:,}, "
              f"service check {errs.service_check:,}")
    if stats.bad_values:
        con.print(f"[yellow]{stats.bad_values:,} values not finite or past ±1e100 were counted, not folded[/]")
    if stats.contexts_dropped:
        con.print(f"[yellow]{stats.contexts_dropped:,} contexts past the cap of "
                  f"{stats.max_contexts:,} were only counted[/]")
    drops = status.source.kernel_drops
    if drops:
        con.print(f"[red]kernel dropped {drops:,} datagrams[/]")
    if status.source.queue_dropped:
        con.print(f"[red]{status.source.queue_dropped:,} datagrams dropped: ingest fell behind the receiver[/]")
    receiver = receiver_line(status)
    if receiver:
        con.print(Text(receiver, style="red"))
    at_stop = status.source.stop_dropped + status.stop_dropped
    if at_stop:
        con.print(f"[red]{at_stop:,} datagrams still in flight at the stop were counted, not ingested[/]")
    if status.source.kind == "live" and status.dropped:  # the parts above add up: one sum, said once
        died = f" + {status.source.exit_dropped:,} with the receiver" if status.source.exit_dropped else ""
        con.print(Text(f"datagrams: {stats.packets + status.dropped:,} arrived = {stats.packets:,} ingested + "
                       f"{drops or 0:,} kernel + {status.source.queue_dropped:,} backlog{died} + "
                       f"{at_stop:,} at the stop"))
    if status.source.truncated:
        con.print(f"[yellow]{status.source.truncated:,} datagrams were truncated[/]")
    if stats.redacted_datagrams:
        con.print(f"{stats.redacted_datagrams:,} datagrams redacted (--no-redact shows them)")
    for bad in stats.bad_lines:
        con.print(Text.assemble(("  bad ", "red"), bad[:240]))


def _grouped(contexts: Sequence[ContextRow], room: int) -> list[list[Text | str]]:
    """Each metric (and type) once, in the order of its busiest context; under it the tag keys that tell its
    contexts apart (fewer when their values pass `room` cells), then one row per context: those keys' values,
    and its figures."""
    groups: dict[tuple[str, str], list[ContextRow]] = {}
    for c in contexts:
        groups.setdefault((c.name, c.type), []).append(c)
    rows: list[list[Text | str]] = []
    for (name, kind), members in groups.items():
        rows.append([_t(name), kind, "", "", ""])
        keys, values = apart_keys([c.tags for c in members], room)
        if keys:
            rows.append([Text("  by " + " ".join(keys)), "", "", "", ""])
        rows += [[Text("  " + (" ".join(v) if keys else cut_tags(c.tags, room) or "(no tags)")), "", f"{c.samples:,}",
                   _n(c.count), _n(c.value)] for c, v in zip(members, values, strict=True)]
    return rows


def print_dashboard(dash: Dashboard, con: Console | None = None) -> None:
    """`top --once` without --json: the per-model table and totals."""
    con = con or _console()
    t = dash.totals
    p = dash.profiles
    con.print(Text.assemble("profile ", (p.selected or "-", "bold"), f" ({p.selected_provider or '-'}) of "
                            f"{p.available if p.available is not None else '?'} available"))
    partial = t.cost_priced < t.cost_models
    since = "" if t.since is None else time.strftime("%H:%M:%S", time.localtime(t.since))
    con.print(Text(f"since {since}: requests {t.requests:,} errors {t.errors:,} ({t.error_rate:.1%}) "
                   f"tokens in {t.input_tokens:,} out {t.output_tokens:,} "
                   f"cost {_usd(t.cost_usd, t.pricing, partial)}"
                   + (f" ({t.cost_priced} priced of {t.cost_models})" if partial else "")))
    con.print(Text(f"last {dash.rate_window_s}s: {t.requests_per_s:.1f} req/s {t.tokens_per_s:,.0f} tok/s"))
    rows: list[list[Text | str]] = [
        [Text(m.model), Text(m.provider), _n(m.requests), f"{m.error_rate:.1%}", _n(m.input_tokens),
         _n(m.output_tokens), _usd(m.cost_usd, m.pricing),
         *("-" if v is None else f"{v:.0f}" for v in (m.p50_ms, m.p95_ms, m.p99_ms))] for m in dash.models]
    figures = [("req", 9), ("err%", 8), ("in", 5), ("out", 4), ("cost", 7), ("p50 ms", 3), ("p95 ms", 6),
               ("p99 ms", 2)]  # priorities: requests kept longest, p99 dropped first
    _print_table(con, _table(con, [("model", 16), ("provider", 8)], figures, rows))


def receiver_line(status: SessionStatus) -> str | None:
    """The one line for a receiver process that died (None while none has): exited for good, or restarted."""
    src = status.source
    words = src.receiver.words(forward=src.forward, lost=src.exit_dropped)
    return words.closing if words else None


def progress_line(status: SessionStatus, spans: SpanSummary | None = None) -> str:
    """`record`'s one-line progress: datagrams, lines, bytes, drops; LLM spans when there is a trace port."""
    src = status.source
    line = (f"datagrams {src.datagrams:,}  lines {status.lines:,}  "
            f"bytes {src.bytes:,}  drops {status.dropped:,}  recorded {status.recorded:,}")
    if status.recorder_in_flight:  # neither recorded nor dropped yet: the stuck write decides, or the exit
        line += f"  in flight {status.recorder_in_flight:,} (recorded only if the stuck write returns)"
    if status.unparsed:
        line += f"  not parsed {status.unparsed:,}"
    if src.forward:
        line += f"  forwarded {src.forward_sent:,}  forward drops {src.forward_dropped:,}"
    receiver = src.receiver.words()
    if receiver:
        line += f"  {receiver.full}"
    if spans is not None and status.traces:
        line += f"  spans {spans.llm:,}"
        if status.spans_record_dropped:  # the .spans sidecar's, as "drops" is the capture's
            line += f"  span drops {status.spans_record_dropped:,}"
        if status.spans_record_in_flight:  # as the capture's "in flight": the stuck write decides, or the exit
            line += f"  spans in flight {status.spans_record_in_flight:,} (recorded only if the stuck write returns)"
        if status.traces_forward:
            line += f"  agent errors {spans.forward_errors:,}"
    return line
