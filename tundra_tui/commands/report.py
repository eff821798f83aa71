"""Human (rich) output for the headless commands: `stats`, `top --once`, the record progress line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from ..model.snapshot import Dashboard, SessionStatus, Stats


def _console() -> Console:
    """Wide when piped, so names and tags are not folded into unreadable columns."""
    con = Console()
    return con if con.is_terminal else Console(width=200)


def _t(value: object) -> Text:
    """Text from outside as a table cell: never read as markup (`[/x]` is text, not a tag)."""
    return Text("-" if value is None else str(value))


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _usd(cost: float | None, pricing: bool) -> str:
    return "pricing…" if pricing else "n/a" if cost is None else f"${cost:.4f}"


def print_stats(stats: Stats, status: SessionStatus) -> None:
    """A table of contexts sorted by samples, like `agent dogstatsd-stats`, then the error summary."""
    con = _console()
    table = Table(title=Text(f"{stats.source}: {stats.packets:,} packets, {stats.lines:,} lines, "
                             f"{stats.contexts_total:,} contexts"), title_justify="left")
    for col, just in (("metric", "left"), ("type", "left"), ("tags", "left"), ("samples", "right"),
                      ("count", "right"), ("value", "right")):
        table.add_column(col, justify=just, overflow="fold")  # type: ignore[arg-type]
    for r in stats.contexts:
        table.add_row(_t(r.name), r.type, _t(",".join(r.tags)), f"{r.samples:,}", _n(r.count), _n(r.value))
    con.print(table)
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
    if status.source.truncated:
        con.print(f"[yellow]{status.source.truncated:,} datagrams were truncated[/]")
    if stats.redactions:
        con.print(f"{stats.redactions:,} values redacted (--no-redact shows them)")
    for bad in stats.bad_lines:
        con.print(Text.assemble(("  bad ", "red"), bad[:240]))


def print_dashboard(dash: Dashboard) -> None:
    """`top --once` without --json: the per-model table and totals."""
    con = _console()
    t = dash.totals
    p = dash.profiles
    con.print(Text.assemble("profile ", (p.selected or "-", "bold"), f" ({p.selected_provider or '-'}) of "
                            f"{p.available if p.available is not None else '?'} available"))
    con.print(Text(f"requests {t.requests:,} errors {t.errors:,} ({t.error_rate:.1%}) "
                   f"tokens in {t.input_tokens:,} out {t.output_tokens:,} cost {_usd(t.cost_usd, t.pricing)} "
                   f"{t.requests_per_s:.1f} req/s {t.tokens_per_s:.0f} tok/s"))
    table = Table()
    for col in ("model", "provider", "req", "err%", "in", "out", "cost", "p50", "p95", "p99"):
        table.add_column(col, justify="left" if col in ("model", "provider") else "right")
    for m in dash.models:
        table.add_row(Text(m.model), Text(m.provider), _n(m.requests), f"{m.error_rate:.1%}", _n(m.input_tokens),
                      _n(m.output_tokens), _usd(m.cost_usd, m.pricing),
                      *("-" if v is None else f"{v:.0f}" for v in (m.p50_ms, m.p95_ms, m.p99_ms)))
    con.print(table)


def progress_line(status: SessionStatus) -> str:
    """`record`'s one-line progress: datagrams, lines, bytes, drops."""
    src = status.source
    line = (f"datagrams {src.datagrams:,}  lines {status.lines:,}  "
            f"bytes {src.bytes:,}  drops {status.dropped:,}  recorded {status.recorded:,}")
    if src.forward:
        line += f"  forwarded {src.forward_sent:,}  forward drops {src.forward_dropped:,}"
    return line
