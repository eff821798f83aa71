"""`tundra record`: a headless capture to a .dog file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..config import Config
from ..session import Session
from ..sources import DEFAULT_LISTEN, parse_url
from .common import (
    add_passive,
    announce_tap,
    capture_redactor,
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
    rec = sub.add_parser("record", help="headless capture to a .dog file")
    rec.add_argument("file", type=Path)
    rec.add_argument("--listen", action="append", type=url, metavar="URL")
    rec.add_argument("--forward", type=url, metavar="URL")
    rec.add_argument("--duration", type=positive, metavar="S")
    rec.add_argument("--redact-captures", action="store_true", help="mask PII in the recording")
    add_passive(rec)


def run(args: argparse.Namespace, cfg: Config) -> int:
    """Record until Ctrl-C, SIGTERM or --duration; a progress line on stderr."""
    from .report import progress_line

    stop = stop_on_signals()
    listen = args.listen or [parse_url(DEFAULT_LISTEN)]
    tap = make_tap(args, listen)
    session = Session(tap, make_engine(cfg), record=args.file, record_transform=capture_redactor(args, cfg))
    session.start()
    announce_tap(tap)
    warn_exposure(listen)
    warn(f"recording {tap.label} to {args.file}; Ctrl-C to stop")
    start = time.monotonic()
    while not stop.is_set() and (args.duration is None or time.monotonic() - start < args.duration):
        left = 1.0 if args.duration is None else min(1.0, args.duration - (time.monotonic() - start))
        stop.wait(max(left, 0.0))
        sys.stderr.write("\r" + progress_line(session) + "\033[K")
        sys.stderr.flush()
        if session.record_error or (session.recorder and session.recorder.error):
            break
    session.stop()
    sys.stderr.write("\r" + progress_line(session) + "\033[K\n")
    if session.record_error:
        warn(session.record_error)
        return 1
    return 0
