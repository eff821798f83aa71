"""What every command shares: argument types, the engine factory, stderr lines, JSON output, signals."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, NoReturn

from ..config import Config
from ..model import Engine, Pricer, Vocabulary
from ..model.cost import CostSource
from ..model.numbers import finite_json
from ..model.redact import Redactor
from ..model.spans import SpanBook
from ..services.spanfeed import SpanFeed
from ..services.traceproxy import DEFAULT_TRACES, TraceProxy, TraceProxyError
from ..session import Session
from ..sources import Address, BadURL, Tap, parse_url


class UsageError(Exception):
    """A bad argument found after parsing."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def error(self, message: str) -> NoReturn:
        """One line, exit 2 (argparse's default adds a usage block)."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive(text: str) -> float:
    """A positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def count(text: str) -> int:
    """A whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}")
    return value


def url(text: str) -> Address:
    """A listen/forward address (udp://HOST:PORT or unix:///path)."""
    try:
        return parse_url(text)
    except BadURL as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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


def warn(msg: str) -> None:
    """One line on stderr."""
    print(msg, file=sys.stderr)


def warn_exposure(addrs: list[Address]) -> None:
    """Warn for every address reachable from other hosts."""
    for a in addrs:
        if not a.is_loopback:
            warn(f"warning: listening on {a}, which is reachable from other hosts")


def add_passive(parser: Any) -> None:
    """The --passive flag, shared by the commands that listen."""
    parser.add_argument("--passive", action="store_true",
                        help="watch the UDP port with a packet socket even if it is free (needs CAP_NET_RAW); "
                             "the default when another process (the Agent) holds it")


def make_tap(args: argparse.Namespace, listen: list[Address]) -> Tap:
    """The live tap: passive when asked, or when the port is held and --forward is not given."""
    forward = getattr(args, "forward", None)
    if args.passive and forward is not None:
        raise UsageError("--passive and --forward do not mix: watched passively, the Agent already gets every datagram")
    return Tap(listen, forward=forward, passive=True if args.passive else None)


def announce_tap(tap: Tap) -> None:
    """Before anything else is shown: say which ports are watched passively, and who holds them."""
    for lst in tap.listeners:
        if lst.mode == "passive":
            warn(f"{lst.holder_line}: watching {lst.address} passively (packet socket; the holder still gets "
                 "every datagram)")


def span_feed(args: argparse.Namespace, cfg: Config) -> SpanFeed:
    """The trace port, started: `--traces URL` (an error if it cannot be had), else the default when it is free."""
    book = SpanBook(Redactor.from_config(cfg.redact, enabled=not args.no_redact))
    if args.no_traces:
        if args.traces or args.traces_forward:
            raise UsageError("--no-traces cannot go with --traces or --traces-forward")
        return SpanFeed(book)
    try:
        proxy = TraceProxy(args.traces or DEFAULT_TRACES, book, forward=args.traces_forward)
    except TraceProxyError as exc:
        raise UsageError(str(exc)) from None
    try:
        proxy.start()
    except TraceProxyError as exc:
        if args.traces or args.traces_forward:
            raise UsageError(f"{exc} (give another with --traces URL)") from None
        return SpanFeed(book, note=f"traces off: {DEFAULT_TRACES.removeprefix('http://')} in use")
    if not proxy_is_loopback(proxy.host):
        warn(f"warning: trace port on {proxy.url}, which is reachable from other hosts")
    return SpanFeed(book, proxy)


def proxy_is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    return Address("udp", host, 0).is_loopback


def answers_as_agent(spans: SpanFeed, agent_url: str) -> bool:
    """True when tundra's own minimal Agent sits where the Agent probe would look (probing it says nothing)."""
    from urllib.parse import urlsplit

    proxy = spans.proxy
    if proxy is None or proxy.forward:
        return False
    parts = urlsplit(agent_url)
    try:
        return parts.port == proxy.port and proxy_is_loopback(parts.hostname or "")
    except ValueError:
        return False


def dump(doc: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(finite_json(doc), indent=2, allow_nan=False, default=str) + "\n")
    sys.stdout.flush()


def stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, so headless commands end cleanly wherever they are."""
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
    return stop


def print_once(session: Session, as_json: bool) -> int:
    """`--once`: end the input, print the dashboard of everything that arrived (JSON or text), stop."""
    session.drain()
    doc = session.snapshot()
    session.stop()
    if as_json:
        dump(doc)
    else:
        from .report import print_dashboard

        print_dashboard(doc)
    return 0


def run_screen(session: Session, cfg: Config, args: argparse.Namespace,
               on_exit: Callable[[], None] | None = None) -> int:
    """Run the monitor on a started session; stop the session (after `on_exit`) however the screen ends."""
    from ..ui.app import run_app

    try:
        return run_app(session, cfg, theme=args.theme, refresh=args.refresh)
    finally:
        if on_exit is not None:
            on_exit()
        session.stop()
