"""`tundra demo`: a simulated at-daemon sending DogStatsD."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Config
from ..sources import DEFAULT_LISTEN, SourceError, parse_url
from .common import positive, stop_on_signals, url, warn


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    dm = sub.add_parser("demo", help="simulated at-daemon sending DogStatsD")
    dm.add_argument("--target", type=url, default=parse_url(DEFAULT_LISTEN), metavar="URL")
    dm.add_argument("--rate", type=positive, default=20.0, metavar="N", help="requests per second")
    dm.add_argument("--duration", type=positive, metavar="S")
    dm.add_argument("--seed", type=int, default=7)


def run(args: argparse.Namespace, cfg: Config) -> int:
    """Send until Ctrl-C or --duration."""
    from ..services.demo import run_demo

    stop = stop_on_signals()
    warn(f"demo at-daemon sending to {args.target} at {args.rate:g} requests/s; Ctrl-C to stop")
    try:
        n = run_demo(args.target, args.rate, args.duration, args.seed, stop)
    except OSError as exc:
        raise SourceError(f"cannot send to {args.target}: {exc.strerror or exc}") from None
    warn(f"sent {n} requests")
    return 0
