"""`tundra replay`: a capture in the monitor, or played at once with `--once`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..config import Config
from ..model.redact import Redactor
from ..model.spans import SpanBook
from ..services.prices import HelperPricer
from ..services.spanfeed import SpanFeed
from ..session import Session
from ..sources import Replay, ReplayOnce, Source
from .common import (
    UsageError,
    count,
    make_engine,
    positive,
    print_once,
    run_screen,
    warn,
)

SAMPLE = Path(__file__).parent.parent / "data" / "sample.dog"


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text.rstrip("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a speed like 2 or max, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"speed must be > 0, got {text!r}")
    return value


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    rep = sub.add_parser("replay", help="replay a capture in the monitor")
    rep.add_argument("file", nargs="?", type=Path)
    rep.add_argument("--sample", action="store_true", help="open the bundled sample capture")
    rep.add_argument("--speed", type=_speed, default=1.0, metavar="X|max")
    rep.add_argument("--loop", action="store_true")
    rep.add_argument("--once", action="store_true")
    rep.add_argument("--json", action="store_true")
    rep.add_argument("--theme")
    rep.add_argument("--refresh", type=positive, metavar="S")
    rep.add_argument("--max-contexts", type=count, metavar="N")
    rep.add_argument("--no-redact", action="store_true", help="show tag values and event text unredacted")


def run(args: argparse.Namespace, cfg: Config) -> int:
    """Open the capture; the screen, or with --once the dashboard of the whole file."""
    if args.sample:
        path = SAMPLE
    elif args.file is None:
        raise UsageError("give a capture file, or --sample")
    else:
        path = args.file
    if args.json and not args.once:
        raise UsageError("--json needs --once")
    source: Source = (ReplayOnce(path, on_warning=warn) if args.once
                      else Replay(path, speed=args.speed, loop=args.loop, on_warning=warn))
    spans, problem = SpanFeed.from_sidecar(SpanBook(Redactor.from_config(cfg.redact, enabled=not args.no_redact)),
                                           path)
    if problem:
        warn(problem)
    session = Session(source, make_engine(cfg, args.max_contexts, redact=not args.no_redact,
                                          pricer=HelperPricer(cfg.prices)), spans=spans)
    session.start()
    if args.once:
        session.wait()
        return print_once(session, args.json)
    return run_screen(session, cfg, args)
