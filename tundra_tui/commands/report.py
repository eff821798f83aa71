"""Human (rich) output for the headless commands: `stats`, `top --once`, the record progress line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from ..model import Engine
    from ..session import Session


def _console() -> Console:
    """Wide when piped, so names and tags are not folded into unreadable columns."""
    con = Console()
    return con if con.is_terminal else Console(width=200)


def _t(value: object) -> Text:
    """Text from outside as a table cell: never read as markup (`[/x]` is text, not a tag)."""
    return Text("-" if value is None else str(value))


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def print_stats(engine: Engine, label: str, status: dict[str, Any], top: int | None) -> None:
    """A table of contexts sorted by samples, like `agent dogstatsd-stats`, then the error summary."""
    con = _console()
    rows = engine.store.rows(top, engine.redactor.tags)
    table = Table(title=Text(f"{label}: {engine.packets:,} packets, {engine.lines:,} lines, "
                        f"{len(engine.store.contexts):,} contexts"), title_justify="left")
    for col, just in (("metric", "left"), ("type", "left"), ("tags", "left"), ("samples", "right"),
                      ("count", "right"), ("value", "right")):
        table.add_column(col, justify=just, overflow="fold")  # type: ignore[arg-type]
    for r in rows:
        table.add_row(_t(r["name"]), r["type"], _t(",".join(r["tags"])), f"{r['samples']:,}", _n(r["count"]),
                      _n(r["value"]))
    con.print(table)
    errs = engine.parser.errors
    con.print(f"events {engine.events:,}   service checks {engine.service_checks:,}   "
              f"parse errors: metric {errs['metric']:,}, event {errs['event']:,}, "
              f"service check {errs['service_check']:,}")
    if engine.store.dropped_contexts:
        con.print(f"[yellow]{engine.store.dropped_contexts:,} contexts past the cap of "
                  f"{engine.store.max_contexts:,} were only counted[/]")
    drops = status.get("kernel_drops")
    if drops:
        con.print(f"[red]kernel dropped {drops:,} datagrams[/]")
    if status.get("truncated"):
        con.print(f"[yellow]{status['truncated']:,} datagrams were truncated[/]")
    if engine.redactor.count:
        con.print(f"{engine.redactor.count:,} values redacted (--no-redact shows them)")
    for bad in engine.parser.bad_lines:
        line = engine.redactor.line(bad.text)[:200]
        con.print(Text.assemble(("  bad " + bad.kind, "red"), f" ({bad.reason}): ", line), highlight=False)


def print_dashboard(doc: dict[str, Any]) -> None:
    """`top --once` without --json: the per-model table and totals."""
    con = _console()
    t = doc["totals"]
    p = doc["profiles"]
    con.print(Text.assemble("profile ", (p["selected"] or "-", "bold"), f" ({p['selected_provider'] or '-'}) of "
                            f"{p['available'] if p['available'] is not None else '?'} available"))
    cost = "n/a" if t["cost_usd"] is None else f"${t['cost_usd']:.4f}"
    con.print(f"requests {t['requests']:,} errors {t['errors']:,} ({t['error_rate']:.1%}) "
              f"tokens in {t['input_tokens']:,} out {t['output_tokens']:,} cost {cost} "
              f"{t['requests_per_s']:.1f} req/s {t['tokens_per_s']:.0f} tok/s")
    table = Table()
    for col in ("model", "provider", "req", "err%", "in", "out", "cost", "p50", "p95", "p99"):
        table.add_column(col, justify="left" if col in ("model", "provider") else "right")
    for m in doc["models"]:
        table.add_row(_t(m["model"]), _t(m["provider"]), _n(m["requests"]), f"{m['error_rate']:.1%}",
                      _n(m["input_tokens"]), _n(m["output_tokens"]),
                      "n/a" if m["cost_usd"] is None else f"${m['cost_usd']:.4f}",
                      *("-" if m[k] is None else f"{m[k]:.0f}" for k in ("p50_ms", "p95_ms", "p99_ms")))
    con.print(table)


def progress_line(session: Session) -> str:
    """`record`'s one-line progress: datagrams, lines, bytes, drops."""
    st = session.status()
    drops = (st.get("kernel_drops") or 0) + (st.get("recorder_dropped") or 0)
    line = (f"datagrams {st.get('datagrams', 0):,}  lines {session.engine.lines:,}  "
            f"bytes {st.get('bytes', 0):,}  drops {drops:,}  recorded {st.get('recorded', 0):,}")
    if st.get("forward"):
        line += f"  forwarded {st.get('forward_sent', 0):,}  forward drops {st.get('forward_dropped', 0):,}"
    return line
