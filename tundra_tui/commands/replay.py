"""`tundra replay`: a capture in the monitor, or played at once with `--once`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..config import Config, data_dir
from ..model.engine import Mode
from ..model.redact import Redactor
from ..model.spans import SpanBook
from ..services.spanfeed import SpanFeed
from ..session import Session
from ..sources import Replay, ReplayOnce, Source
from .common import (
    UsageError,
    add_command,
    check_themes,
    count,
    launch_pricer,
    make_engine,
    need_terminal,
    print_once,
    refresh_interval,
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
    rep = add_command(sub, "replay", "replay a capture in the monitor", """
Plays a .dog capture (tundra's or the Agent's dogstatsd-capture) through the same monitor as
'tundra top', at its own pace or faster, with pause, step, seek and speed keys ('?' lists them).
It needs a terminal: for scripts and pipes use --once (text) or --once --json, which play the
whole file at full speed and print the dashboard.""", """
tundra replay session.dog
tundra replay session.dog --speed 4 --loop
tundra replay --sample
tundra replay session.dog --once --json""")
    rep.add_argument("file", nargs="?", type=Path, help="the .dog capture to play (default: none; or --sample)")
    rep.add_argument("--sample", action="store_true", help="play the bundled sample capture instead of a file")
    rep.add_argument("--speed", type=_speed, default=1.0, metavar="X|max",
                     help="playback speed: 2 is twice real time, max as fast as possible (default: 1)")
    rep.add_argument("--loop", action="store_true", help="start again at the end (default: stop at the end)")
    rep.add_argument("--once", action="store_true",
                     help="play the whole file at full speed, print one dashboard and exit (default: off)")
    rep.add_argument("--json", action="store_true", help="with --once: print JSON instead of text (default: off)")
    rep.add_argument("--theme", metavar="NAME",
                     help="colour theme, see 'tundra themes' (default: the last picked with 't', "
                          "else the config's, else tundra-dark)")
    rep.add_argument("--refresh", type=refresh_interval, metavar="S",
                     help="screen refresh interval in seconds, at least 0.1 (default: the config's, 1)")
    rep.add_argument("--max-contexts", type=count, metavar="N",
                     help="cardinality cap; past it contexts are only counted (default: the config's, 20000)")
    rep.add_argument("--no-redact", action="store_true",
                     help="show tag values and event text unredacted (default: redacted)")


def spill_dir() -> Path | None:
    """Where the screen's replay spills a capture: the data dir, on disk beside the recordings ($TMPDIR is
    often a tmpfs, whose pages are memory); $TMPDIR (None) if the data dir cannot be made."""
    try:
        return data_dir()
    except OSError:
        return None


def run(args: argparse.Namespace, cfg: Config) -> int:
    """Open the capture; the screen, or with --once the dashboard of the whole file."""
    if args.sample and args.file is not None:
        raise UsageError("give a capture file or --sample, not both")
    if args.once and args.loop:
        raise UsageError("--loop does not go with --once, which plays the file once, at full speed")
    if args.sample:
        path = SAMPLE
    elif args.file is None:
        raise UsageError("give a capture file, or --sample")
    else:
        path = args.file
    if args.json and not args.once:
        raise UsageError("--json needs --once")
    check_themes(args, cfg)
    if not args.once:
        need_terminal("replay")
    source: Source = (ReplayOnce(path, on_warning=warn) if args.once
                      else Replay(path, speed=args.speed, loop=args.loop, on_warning=warn, spill_dir=spill_dir()))
    spans, problem = SpanFeed.from_sidecar(SpanBook(Redactor.from_config(cfg.redact, enabled=not args.no_redact)),
                                           path)
    if problem:
        warn(problem)
    pricer = launch_pricer(cfg, interactive=not args.once)
    session = Session(source, make_engine(cfg, Mode.DASHBOARD, args.max_contexts, redact=not args.no_redact,
                                          pricer=pricer), spans=spans)
    try:
        session.start(services=args.once)  # the screen starts checkpoints and error marks after its first frame
    except BaseException:  # a capture that cannot be read: the helper launched for it goes too
        pricer.close()
        raise
    if args.once:
        session.wait()
        return print_once(session, args.json)
    return run_screen(session, cfg, args)
