"""`tundra record`: a headless capture to a .dog file."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from ..capture.dogfile import refuse_folder
from ..config import Config
from ..model.engine import Mode
from ..session import Session
from ..sources import DEFAULT_LISTEN, parse_url
from .common import (
    UsageError,
    add_command,
    add_passive,
    add_traces,
    announce_tap,
    capture_redactor,
    internal_error_exit,
    make_engine,
    make_tap,
    positive,
    span_feed,
    stop_on_signals,
    url,
    warn,
    warn_exposure,
)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    rec = add_command(sub, "record", "headless capture to a .dog file", """
Listens like 'tundra top' and writes every datagram to FILE in the Datadog Agent's .dog format
(zstd, a block flushed every second). An existing FILE is never replaced unless --overwrite is
given; the file takes its name once the first block is written. Like 'top' it serves the trace
port and keeps the LLM spans it decodes (redacted) in FILE.spans. Ctrl-C, SIGTERM or SIGHUP end
the recording cleanly. A progress line is shown when stderr is a terminal.""", """
tundra record session.dog --duration 60
tundra record session.dog --listen udp://127.0.0.1:8126 --forward udp://127.0.0.1:8125
tundra record session.dog --traces http://127.0.0.1:8136 --traces-forward http://127.0.0.1:8126
tundra record session.dog --redact-captures --overwrite""")
    rec.add_argument("file", type=Path, help="the capture to write (refused if it exists, unless --overwrite)")
    rec.add_argument("--listen", action="append", type=url, metavar="URL",
                     help="address to listen on, udp://HOST:PORT or unix:///path; repeatable "
                          f"(default: {DEFAULT_LISTEN})")
    rec.add_argument("--forward", type=url, metavar="URL",
                     help="send every datagram on to this address, e.g. the Agent (default: no forwarding)")
    rec.add_argument("--duration", type=positive, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    rec.add_argument("--overwrite", action="store_true", help="replace FILE if it exists (default: refuse)")
    rec.add_argument("--redact-captures", action="store_true",
                     help="mask PII in the recording (default: record datagrams as received)")
    add_traces(rec)
    add_passive(rec)


def refuse_existing(path: Path, overwrite: bool) -> None:
    """An existing capture is a usage error unless --overwrite (devices and FIFOs replace nothing); a folder, or a
    missing one, is one either way."""
    refuse_folder(path)
    if not overwrite and os.path.lexists(path) and not path.is_char_device() and not path.is_fifo():
        raise UsageError(f"{path} exists; give another name, or --overwrite to replace it")


def run(args: argparse.Namespace, cfg: Config) -> int:
    """Record until a signal or --duration; a progress line on stderr when it is a terminal."""
    from ..ui.fmt import clip
    from .report import progress_line, receiver_line

    refuse_existing(args.file, args.overwrite)
    stop = stop_on_signals()
    listen = args.listen or [parse_url(DEFAULT_LISTEN)]
    spans = span_feed(args, cfg)
    try:  # the trace port is already serving: whatever fails from here on closes it
        tap = make_tap(args, listen)
        session = Session(tap, make_engine(cfg, Mode.DASHBOARD), record=args.file, spans=spans,
                          record_transform=capture_redactor(args, cfg), record_overwrite=args.overwrite)
        session.start()
    except BaseException:
        spans.stop()
        raise
    announce_tap(tap)
    warn_exposure(tap.addresses)
    traces = f" (traces on {spans.proxy.url})" if spans.proxy is not None else ""
    warn(f"recording {tap.label} to {args.file}{traces}; Ctrl-C to stop")
    if spans.note:  # the default trace port was taken (an Agent's, usually): say so, the recording goes on
        warn(f"{spans.note}; no {args.file}.spans (--traces URL serves another port)")
    tty = sys.stderr.isatty()
    told = False  # the receiver line was printed as it happened
    start = time.monotonic()
    while not stop.is_set() and (args.duration is None or time.monotonic() - start < args.duration):
        left = 1.0 if args.duration is None else min(1.0, args.duration - (time.monotonic() - start))
        stop.wait(max(left, 0.0))
        if tty:  # within the terminal's width: a wrapped line would leave a stale row behind each "\r"
            width = shutil.get_terminal_size().columns - 1
            sys.stderr.write("\r" + clip(progress_line(session.status(), session.span_summary()), width) + "\033[K")
            sys.stderr.flush()
        if session.record_error or (session.recorder and session.recorder.error):
            break
        src = tap.status()
        if src.receiver.down and src.receiver.down == len(src.listen):
            break  # no receiver left: nothing more can arrive, the line below says why
        if src.receiver.down and not told:
            told = True
            warn(receiver_line(session.status()) or "")
    session.stop()
    end = progress_line(session.status(), session.span_summary())
    sys.stderr.write(("\r" if tty else "") + end + ("\033[K\n" if tty else "\n"))
    status = session.status()
    receiver = receiver_line(status)
    if receiver and not told:
        warn(receiver)
    error = session.record_error or status.spans_record_error
    if error:
        warn(error)
        return 1
    return 1 if status.source.receiver.down else internal_error_exit(session, "record")
