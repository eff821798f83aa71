"""`tundra` command line: parses flags, builds objects, hands them on. Errors: one line, exit 2."""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .capture import CaptureError
from .config import Config, ConfigError, load_config
from .model import Engine, Pricer, Vocabulary
from .model.cost import CostSource
from .model.redact import Redactor
from .session import Session
from .sources import DEFAULT_LISTEN, Address, BadURL, Replay, ReplayOnce, Source, SourceError, Tap, parse_url
from .sources.agent import AgentProbe
from .sources.fleet import FleetPoller, FleetSettings
from .sources.prices import HelperPricer

SAMPLE = Path(__file__).parent / "data" / "sample.dog"


class UsageError(Exception):
    """A bad argument found after parsing."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, exit 2 (argparse's default adds a usage block)."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}")
    return value


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text.rstrip("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a speed like 2 or max, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"speed must be > 0, got {text!r}")
    return value


def _url(text: str) -> Address:
    try:
        return parse_url(text)
    except BadURL as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree for every subcommand."""
    p = _Parser(prog="tundra", description="htop for LLM workloads: a live DogStatsD monitor.")
    p.add_argument("--version", action="version", version=f"tundra {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    top = sub.add_parser("top", help="live monitor of the local DogStatsD stream")
    top.add_argument("--listen", action="append", type=_url, metavar="URL")
    top.add_argument("--forward", type=_url, metavar="URL")
    top.add_argument("--demo", action="store_true", help="run the simulated daemon in-process")
    top.add_argument("--record", type=Path, metavar="FILE")
    top.add_argument("--theme")
    top.add_argument("--refresh", type=_positive, metavar="S")
    top.add_argument("--once", action="store_true", help="print one dashboard and exit")
    top.add_argument("--after", type=_positive, metavar="S", help="with --once: collect for S seconds first")
    top.add_argument("--json", action="store_true")
    top.add_argument("--max-contexts", type=_count, metavar="N")
    top.add_argument("--no-redact", action="store_true", help="show tag values and event text unredacted")
    top.add_argument("--redact-captures", action="store_true", help="mask PII in recordings too")
    top.add_argument("--datadog-url", metavar="URL", help="Datadog API base URL (tests, proxies)")
    top.add_argument("--datadog-scope", metavar="TAGS", help="fleet query scope, e.g. env:production")
    top.add_argument("--agent-url", metavar="URL", help="the local Agent's /info (default from config)")

    rep = sub.add_parser("replay", help="replay a capture in the monitor")
    rep.add_argument("file", nargs="?", type=Path)
    rep.add_argument("--sample", action="store_true", help="open the bundled sample capture")
    rep.add_argument("--speed", type=_speed, default=1.0, metavar="X|max")
    rep.add_argument("--loop", action="store_true")
    rep.add_argument("--once", action="store_true")
    rep.add_argument("--json", action="store_true")
    rep.add_argument("--theme")
    rep.add_argument("--refresh", type=_positive, metavar="S")
    rep.add_argument("--max-contexts", type=_count, metavar="N")
    rep.add_argument("--no-redact", action="store_true", help="show tag values and event text unredacted")

    rec = sub.add_parser("record", help="headless capture to a .dog file")
    rec.add_argument("file", type=Path)
    rec.add_argument("--listen", action="append", type=_url, metavar="URL")
    rec.add_argument("--forward", type=_url, metavar="URL")
    rec.add_argument("--duration", type=_positive, metavar="S")
    rec.add_argument("--redact-captures", action="store_true", help="mask PII in the recording")

    st = sub.add_parser("stats", help="per-context counts from a capture or a live listen")
    st.add_argument("source", nargs="?", type=Path)
    st.add_argument("--listen", type=_url, metavar="URL")
    st.add_argument("--duration", type=_positive, metavar="S")
    st.add_argument("--json", action="store_true")
    st.add_argument("--top", type=_count, metavar="N")
    st.add_argument("--max-contexts", type=_count, metavar="N")
    st.add_argument("--no-redact", action="store_true", help="show tag values unredacted")

    dm = sub.add_parser("demo", help="simulated at-daemon sending DogStatsD")
    dm.add_argument("--target", type=_url, default=parse_url(DEFAULT_LISTEN), metavar="URL")
    dm.add_argument("--rate", type=_positive, default=20.0, metavar="N", help="requests per second")
    dm.add_argument("--duration", type=_positive, metavar="S")
    dm.add_argument("--seed", type=int, default=7)

    sub.add_parser("themes", help="list the available themes")
    return p


def make_engine(cfg: Config, max_contexts: int | None = None, llm: bool = True, redact: bool = True,
                pricer: CostSource | None = None) -> Engine:
    """An Engine configured from settings (`llm=False`: contexts only, for `stats`).

    Screens and dashboards pass a HelperPricer: the price table then loads beside ingest, not in its way.
    """
    vocab = Vocabulary.with_overrides(cfg.vocab_metrics, cfg.vocab_tags)
    return Engine(max_contexts or cfg.max_contexts, cfg.window_s, vocab, pricer or Pricer(cfg.prices), llm=llm,
                  redactor=Redactor.from_config(cfg.redact, enabled=redact), context_stats=not llm)


def capture_redactor(args: argparse.Namespace, cfg: Config) -> Callable[[bytes], bytes] | None:
    """With --redact-captures, the per-datagram mask the recorder applies."""
    return Redactor.from_config(cfg.redact).datagram if getattr(args, "redact_captures", False) else None


def _warn(msg: str) -> None:
    print(msg, file=sys.stderr)


def _warn_exposure(addrs: list[Address]) -> None:
    for a in addrs:
        if not a.is_loopback:
            _warn(f"warning: listening on {a}, which is reachable from other hosts")


def _dump(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False, default=str) + "\n")
    sys.stdout.flush()


def _stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, so headless commands end cleanly wherever they are."""
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
    return stop


# -- commands -------------------------------------------------------------------------------
def cmd_stats(args: argparse.Namespace, cfg: Config) -> int:
    """`tundra stats`."""
    engine = make_engine(cfg, args.max_contexts, llm=False, redact=not args.no_redact)
    if args.listen is not None:
        if args.source is not None:
            raise UsageError("give a capture file or --listen, not both")
        if args.duration is None:
            raise UsageError("--listen needs --duration S")
        stop = _stop_on_signals()
        session = Session(Tap([args.listen]), engine)
        session.start()
        _warn_exposure([args.listen])
        _warn(f"listening on {session.source.label} for {args.duration:g}s")
        stop.wait(args.duration)
        session.stop()
        label = session.source.label
        status = session.status()
    else:
        if args.source is None:
            raise UsageError("give a capture file, or --listen URL --duration S")
        session = Session(ReplayOnce(args.source, on_warning=_warn), engine)
        session.start()
        session.wait()
        session.stop()
        label = str(args.source)
        status = session.status()
    if args.json:
        _dump(engine.stats_json(label, args.top))
    else:
        from .report import print_stats

        print_stats(engine, label, status, args.top)
    return 0


def cmd_record(args: argparse.Namespace, cfg: Config) -> int:
    """`tundra record`."""
    from .report import progress_line

    stop = _stop_on_signals()
    listen = args.listen or [parse_url(DEFAULT_LISTEN)]
    tap = Tap(listen, forward=args.forward)
    session = Session(tap, make_engine(cfg), record=args.file, record_transform=capture_redactor(args, cfg))
    session.start()
    _warn_exposure(listen)
    _warn(f"recording {tap.label} to {args.file}; Ctrl-C to stop")
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
        _warn(session.record_error)
        return 1
    return 0


def cmd_demo(args: argparse.Namespace, cfg: Config) -> int:
    """`tundra demo`."""
    from .sources.demo import run_demo

    stop = _stop_on_signals()
    _warn(f"demo at-daemon sending to {args.target} at {args.rate:g} requests/s; Ctrl-C to stop")
    try:
        n = run_demo(args.target, args.rate, args.duration, args.seed, stop)
    except OSError as exc:
        raise SourceError(f"cannot send to {args.target}: {exc.strerror or exc}") from None
    _warn(f"sent {n} requests")
    return 0


def _fleet(args: argparse.Namespace, cfg: Config, pricer: CostSource) -> FleetPoller:
    dd = cfg.datadog
    url = args.datadog_url
    if url is not None and not url.startswith(("http://", "https://")):
        raise UsageError(f"--datadog-url must be an http(s) URL, got {url!r}")
    settings = FleetSettings.from_env(url=url, scope=args.datadog_scope or dd.get("scope", "*"),
                                      window_s=int(dd.get("window_s", 900)),
                                      interval_s=float(dd.get("interval_s", 30.0)))
    settings.api_key = settings.api_key or dd.get("api_key")
    settings.app_key = settings.app_key or dd.get("app_key")
    if "site" in dd and not os.environ.get("DD_SITE"):
        settings.site = dd["site"]
    return FleetPoller(settings, pricer, cfg.vocab_metrics, cfg.vocab_tags)


def _live_session(args: argparse.Namespace, cfg: Config) -> tuple[Session, threading.Event | None]:
    listen = args.listen
    if not listen:
        listen = [parse_url("udp://127.0.0.1:0" if args.demo else DEFAULT_LISTEN)]
    agent = None if args.once else AgentProbe(args.agent_url or cfg.agent_url)
    pricer = HelperPricer(cfg.prices)
    engine = make_engine(cfg, args.max_contexts, redact=not args.no_redact, pricer=pricer)
    session = Session(Tap(listen, forward=args.forward), engine,
                      record=args.record, fleet=_fleet(args, cfg, pricer), agent=agent,
                      record_transform=capture_redactor(args, cfg))
    session.start()
    _warn_exposure(listen)
    demo_stop = None
    if args.demo:
        from .sources.demo import run_demo

        demo_stop = threading.Event()
        target = session.source.listeners[0].address  # type: ignore[attr-defined]
        threading.Thread(target=run_demo, args=(target, 20.0, None, 7, demo_stop), daemon=True,
                         name="tundra-demo").start()
    return session, demo_stop


def cmd_top(args: argparse.Namespace, cfg: Config) -> int:
    """`tundra top`."""
    if args.json and not args.once:
        raise UsageError("--json needs --once")
    if args.after is not None and not args.once:
        raise UsageError("--after needs --once")
    stop = _stop_on_signals() if args.once else None
    session, demo_stop = _live_session(args, cfg)
    if stop is not None:
        stop.wait(args.after if args.after is not None else 1.0)
        if demo_stop:
            demo_stop.set()
        doc = session.snapshot()
        session.stop()
        _print_dashboard(doc, args.json)
        return 0
    from .ui.app import run_app

    try:
        return run_app(session, cfg, theme=args.theme, refresh=args.refresh)
    finally:
        if demo_stop:
            demo_stop.set()
        session.stop()


def _print_dashboard(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _dump(doc)
    else:
        from .report import print_dashboard

        print_dashboard(doc)


def cmd_replay(args: argparse.Namespace, cfg: Config) -> int:
    """`tundra replay`."""
    if args.sample:
        path = SAMPLE
    elif args.file is None:
        raise UsageError("give a capture file, or --sample")
    else:
        path = args.file
    if args.json and not args.once:
        raise UsageError("--json needs --once")
    source: Source = (ReplayOnce(path, on_warning=_warn) if args.once
                      else Replay(path, speed=args.speed, loop=args.loop, on_warning=_warn))
    session = Session(source, make_engine(cfg, args.max_contexts, redact=not args.no_redact,
                                          pricer=HelperPricer(cfg.prices)))
    session.start()
    if args.once:
        session.wait()
        doc = session.snapshot()
        session.stop()
        _print_dashboard(doc, args.json)
        return 0
    from .ui.app import run_app

    try:
        return run_app(session, cfg, theme=args.theme, refresh=args.refresh)
    finally:
        session.stop()


def cmd_themes(args: argparse.Namespace, cfg: Config) -> int:
    """`tundra themes`."""
    from .ui.themes import load_themes

    themes, problems = load_themes()
    for name, theme in themes.items():
        print(f"{name:<20} {'dark' if theme.dark else 'light'}")
    for problem in problems:
        _warn(problem)
    return 0


COMMANDS = {"stats": cmd_stats, "record": cmd_record, "demo": cmd_demo, "top": cmd_top, "replay": cmd_replay,
            "themes": cmd_themes}


def main(argv: list[str] | None = None) -> int:
    """Entry point for the `tundra` script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        cfg = load_config()
        for w in cfg.warnings:
            _warn(w)
        return COMMANDS[args.cmd](args, cfg)
    except (UsageError, SourceError, CaptureError, BadURL, ConfigError) as exc:
        _warn(f"tundra {args.cmd}: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        from .crash import write_report

        path = write_report(exc, f"tundra {args.cmd}")
        where = f"; report saved to {path}" if path else ""
        _warn(f"tundra {args.cmd}: internal error ({type(exc).__name__}){where}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
