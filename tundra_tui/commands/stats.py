"""`tundra stats`: per-context counts from a capture or a live listen, like `agent dogstatsd-stats`."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config import Config
from ..model.engine import Mode
from ..model.snapshot import SessionStatus, Stats
from ..session import Session
from ..sources import ReplayOnce
from ..text import clean
from .common import (
    UsageError,
    add_command,
    add_passive,
    announce_tap,
    count,
    dump,
    internal_error_exit,
    make_engine,
    make_tap,
    positive,
    stop_on_signals,
    url,
    warn,
    warn_exposure,
)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    st = add_command(sub, "stats", "per-context counts from a capture or a live listen", """
Counts samples per context (metric name, type and tags), like the Agent's 'dogstatsd-stats':
from a whole .dog capture, or from a live listen of --duration seconds. A table, or --json.""", """
tundra stats session.dog --top 20
tundra stats session.dog --json > contexts.json
tundra stats --listen udp://127.0.0.1:8125 --duration 10""")
    st.add_argument("source", nargs="?", type=Path,
                    help="a .dog capture to read whole (default: none; then --listen is needed)")
    st.add_argument("--listen", type=url, metavar="URL",
                    help="listen live instead of reading a file, udp://HOST:PORT or unix:///path (default: off)")
    st.add_argument("--duration", type=positive, metavar="S",
                    help="with --listen: seconds to listen (default: none, so it is required; a file is read whole)")
    st.add_argument("--json", action="store_true", help="print one JSON document instead of a table (default: table)")
    st.add_argument("--top", type=count, metavar="N", help="only the N busiest contexts (default: all)")
    st.add_argument("--max-contexts", type=count, metavar="N",
                    help="cardinality cap; past it contexts are only counted (default: the config's, 20000)")
    st.add_argument("--no-redact", action="store_true", help="show tag values unredacted (default: redacted)")
    add_passive(st)


def run(args: argparse.Namespace, cfg: Config) -> int:
    """Collect, then print the per-context table or JSON."""
    engine = make_engine(cfg, Mode.STATS, args.max_contexts, redact=not args.no_redact)
    if args.listen is not None:
        if args.source is not None:
            raise UsageError("give a capture file or --listen, not both")
        if args.duration is None:
            raise UsageError("--listen needs --duration S")
        stop = stop_on_signals()
        tap = make_tap(args, [args.listen])
        session = Session(tap, engine)
        session.start()
        announce_tap(tap)
        warn_exposure(tap.addresses)
        warn(f"listening on {session.source.label} for {args.duration:g}s")
        stop.wait(args.duration)
        session.stop()
        label = session.source.label
    else:
        if args.source is None:
            raise UsageError("give a capture file, or --listen URL --duration S")
        if args.duration is not None:
            raise UsageError("--duration only applies to --listen; a capture file is always read whole")
        if args.passive:
            raise UsageError("--passive only applies to --listen; a capture file is read, not watched")
        session = Session(ReplayOnce(args.source, on_warning=warn), engine)
        session.start()
        session.wait()
        session.stop()
        label = clean(str(args.source))  # the table's first line: a file name can hold terminal controls
    status, stats = session.status(), session.stats(label, args.top)
    if args.json:
        dump((live_stats(stats, status) if args.listen is not None else stats).to_json())
    else:
        from .report import print_stats

        print_stats(stats, status)
    return internal_error_exit(session, "stats")


def live_stats(stats: Stats, status: SessionStatus) -> Stats:
    """The `stats --json` document of a live listen: what the tap adds (mode, drops, a receiver that died)."""
    src = status.source
    return replace(stats, mode=src.mode, dropped=status.dropped, receiver=src.receiver)
