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

from ..config import MIN_REFRESH_S, Config, load_state
from ..model import Engine, Pricer, Vocabulary
from ..model.alerts import AlertBook
from ..model.budget import BudgetBook
from ..model.cost import CostSource
from ..model.engine import Mode
from ..model.numbers import finite_json
from ..model.redact import Redactor
from ..model.spans import SpanBook
from ..model.watch import Watch
from ..services.prices import HelperPricer
from ..services.spanfeed import SpanFeed
from ..services.traceproxy import DEFAULT_TRACES, TraceProxy, TraceProxyError
from ..session import PRICE_WAIT_S, Session
from ..sources import Address, BadURL, Tap, parse_url
from ..text import clean


class UsageError(Exception):
    """A bad argument found after parsing."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and `Examples:` as written; every option's default said once in its help line."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "default" in text or default in (None, False, argparse.SUPPRESS) or isinstance(action, _NO_DEFAULT):
            return text
        shown = "%(default)s" if not isinstance(default, list) else ", ".join(map(str, default))
        return f"{text} (default: {shown})"


_NO_DEFAULT = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """One line, exit 2 (argparse's default adds a usage block)."""
        self.exit(2, one_line(f"{self.prog}: error: {message}") + "\n")


def add_command(sub: Any, name: str, summary: str, description: str, examples: str) -> Parser:
    """A subcommand with its one-line summary, a description, an `Examples:` block and --version."""
    from .. import __version__

    epilog = "Examples:\n" + "\n".join(f"  {line}" for line in examples.strip().splitlines())
    parser: Parser = sub.add_parser(name, help=summary, description=f"{summary}.\n\n{description.strip()}",
                                    epilog=epilog)
    parser.add_argument("--version", action="version", version=f"tundra {__version__}",
                        help="print the version and exit")
    return parser


def refresh_interval(text: str) -> float:
    """A UI refresh interval: at least MIN_REFRESH_S seconds, as in the config file."""
    value = positive(text)
    if value < MIN_REFRESH_S:
        raise argparse.ArgumentTypeError(f"expected at least {MIN_REFRESH_S:g} seconds, got {text!r}")
    return value


def need_terminal(command: str) -> None:
    """The screen needs a terminal on stdin and stdout; without one, say what to run instead (exit 2)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(f"no terminal for the monitor; use 'tundra {command} --once --json' "
                         f"(or --once for text)")


def starting_theme(flag: str | None, cfg: Config) -> str:
    """--theme, else the last pick with `t` (while the config's theme is what it was then), else the config's."""
    from ..ui.themes import DEFAULT_THEME, theme_names

    if flag:
        return flag
    state = load_state()
    picked = state.get("theme")
    if isinstance(picked, str) and state.get("over") == cfg.theme and picked in theme_names():
        return picked
    return cfg.theme or DEFAULT_THEME


def check_themes(args: argparse.Namespace, cfg: Config) -> None:
    """--theme and the config's theme must both name a theme (exit 2 listing the valid ones)."""
    check_theme(args.theme, "--theme")
    check_theme(cfg.theme, f"'theme' in {cfg.path}")


def check_theme(name: str | None, where: str) -> None:
    """An unknown theme name (from `where`: the flag or the config) is a usage error listing the valid ones."""
    if name is None:
        return
    from ..ui.themes import theme_names

    names = theme_names()
    if name not in names:
        raise UsageError(f"unknown theme {name!r} ({where}); valid: {', '.join(names)}")


MAX_SECONDS = 10 * 365 * 86400  # ten years: past about 292 years a wait overflows (OverflowError), not ends
MAX_RATE = 1_000_000.0  # demo requests per second: far past what one process sends


def positive(text: str, unit: str = "seconds", most: float = MAX_SECONDS) -> float:
    """A positive, finite number of seconds (or `unit`), at most `most`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of {unit}, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    if value > most:
        raise argparse.ArgumentTypeError(f"expected at most {most:,.0f} {unit}, got {text!r}")
    return value


def rate(text: str) -> float:
    """Requests per second: positive, at most MAX_RATE."""
    return positive(text, "requests per second", MAX_RATE)


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


def make_engine(cfg: Config, mode: Mode, max_contexts: int | None = None, redact: bool = True,
                pricer: CostSource | None = None) -> Engine:
    """An Engine configured from settings, in `mode`.

    Screens and dashboards pass a HelperPricer: the price table then loads beside ingest, not in its way.
    """
    vocab = Vocabulary.with_overrides(cfg.vocab_metrics, cfg.vocab_tags)
    engine = Engine(mode, max_contexts or cfg.max_contexts, cfg.window_s, vocab, pricer or Pricer(cfg.prices),
                    redactor=Redactor.from_config(cfg.redact, enabled=redact), rate_window=cfg.rate_window_s)
    engine.watch = Watch(AlertBook(cfg.alerts, engine.llm), BudgetBook(cfg.budget) if cfg.budget else None)
    return engine


def launch_pricer(cfg: Config, interactive: bool = True) -> HelperPricer:
    """The price helper, started now: its table loads on the other core while the session starts. Niced behind a
    screen (`interactive`) while it loads genai-prices; at normal priority for `--once`, which waits for prices."""
    pricer = HelperPricer(cfg.prices, interactive)
    pricer.prefetch()
    return pricer


def capture_redactor(args: argparse.Namespace, cfg: Config) -> Callable[[bytes], bytes] | None:
    """With --redact-captures, the per-datagram mask the recorder applies."""
    return Redactor.from_config(cfg.redact).datagram if getattr(args, "redact_captures", False) else None


MAX_LINE = 1000  # characters in one stderr line: an echoed argument or config value can be any length


def one_line(msg: str) -> str:
    """`msg` as one line fit for a terminal: control characters (newlines too) shown as escapes, not obeyed
    (a file name or config key can hold any of them), and cut to MAX_LINE."""
    text = clean(msg)
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"


def warn(msg: str) -> None:
    """One line on stderr."""
    print(one_line(msg), file=sys.stderr)


def exposure_warnings(addrs: list[Address]) -> list[str]:
    """One warning per address reachable from other hosts (bound addresses: the chosen port, not :0)."""
    return [f"warning: listening on {a}, which is reachable from other hosts" for a in addrs if not a.is_loopback]


def warn_exposure(addrs: list[Address]) -> None:
    """Warn for every address reachable from other hosts."""
    for line in exposure_warnings(addrs):
        warn(line)


def add_passive(parser: Any) -> None:
    """The --passive flag, shared by the commands that listen."""
    parser.add_argument("--passive", action="store_true",
                        help="watch the UDP port with a packet socket even if it is free (needs CAP_NET_RAW); "
                             "the default when another process (the Agent) holds it")


def make_tap(args: argparse.Namespace, listen: list[Address], bound: bool = False) -> Tap:
    """The live tap: passive when asked, or when the port is held and --forward is not given.
    `bound`: every port is tundra's own socket, never watched (a held one is PortBusy at start)."""
    forward = getattr(args, "forward", None)
    if args.passive and forward is not None:
        raise UsageError("--passive and --forward do not mix: watched passively, the Agent already gets every datagram")
    return Tap(listen, forward=forward, passive=False if bound else True if args.passive else None)


def announce_tap(tap: Tap) -> None:
    """Before anything else is shown: say which ports are watched passively, and who holds them."""
    for lst in tap.listeners:
        if lst.mode == "passive":
            warn(f"{lst.holder_line}: watching {lst.address} passively (packet socket; the holder still gets "
                 "every datagram)")


def add_traces(parser: Any, demo: bool = False) -> None:
    """--traces, --traces-forward and --no-traces (top and record; `demo`: top, whose --demo takes a free port)."""
    also = "; with --demo a free port" if demo else ""
    parser.add_argument("--traces", metavar="URL",
                        help=f"serve the trace port here (default: {DEFAULT_TRACES}, if it is free{also})")
    parser.add_argument("--traces-forward", metavar="URL",
                        help="pass the trace port's traffic on to this Agent (default: not passed on)")
    parser.add_argument("--no-traces", action="store_true", help="no trace port (default: one, see --traces)")


def span_feed(args: argparse.Namespace, cfg: Config, redact: bool = True, serve: bool = True,
              default: str | None = None) -> SpanFeed:
    """The trace port, started: `--traces URL` (an error if it cannot be had), else `default` (DEFAULT_TRACES)
    when it is free.
    `serve=False`: bound now, answered once the screen calls SpanFeed.serve (after its first frame)."""
    book = SpanBook(Redactor.from_config(cfg.redact, enabled=redact))
    default = default or DEFAULT_TRACES
    if args.no_traces:
        if args.traces or args.traces_forward:
            raise UsageError("--no-traces cannot go with --traces or --traces-forward")
        return SpanFeed(book)
    try:
        proxy = TraceProxy(args.traces or default, book, forward=args.traces_forward)
    except TraceProxyError as exc:
        raise UsageError(str(exc)) from None
    try:
        proxy.start(serve=serve)
    except TraceProxyError as exc:
        if args.traces or args.traces_forward:
            raise UsageError(f"{exc} (give another with --traces URL)") from None
        return SpanFeed(book, note=f"traces off: {default.removeprefix('http://')} in use")
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


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C, SIGTERM or SIGHUP, so headless commands end cleanly (trailer written)."""
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            signal.signal(sig, handler)
    return stop


def internal_error_exit(session: Session, cmd: str) -> int:
    """1 with one line on stderr (and where the report is) if ingest met an internal error; else 0."""
    if not session.internal_errors:
        return 0
    report = session.internal_error_report
    what = "stopped" if session.ingest_stopped else "skipped a batch"
    warn(f"tundra {cmd}: ingest {what} after an internal error; "
         + (f"report saved to {report}" if report else "no report could be saved"))
    return 1


def print_once(session: Session, as_json: bool, price_wait: float = PRICE_WAIT_S) -> int:
    """`--once`: end the input, print the dashboard of everything that arrived (JSON or text), stop.

    Prices still not known after `price_wait` seconds are one line on stderr (and `prices` in the JSON).
    A recording that failed (a full disk) is one line and exit 1."""
    session.drain()
    dash = session.settled_dashboard(price_wait)
    session.stop()
    if dash.prices == "timed_out":
        unpriced = sum(m.pricing for m in dash.models)
        warn(f"tundra: prices not ready after {price_wait:g} s: no cost for {unpriced} "
             f"model{'s' if unpriced != 1 else ''} (JSON: \"prices\": \"timed_out\", their \"pricing\": true)")
    if as_json:
        dump(dash.to_json())
    else:
        from .report import print_dashboard

        print_dashboard(dash)
    error = (session.record_error or (session.recorder.error if session.recorder else None)
             or session.status().spans_record_error)
    if error:
        warn(f"tundra: {error}")
        return 1
    return internal_error_exit(session, "--once")


def run_screen(session: Session, cfg: Config, args: argparse.Namespace,
               on_exit: Callable[[], None] | None = None, notices: list[str] | None = None) -> int:
    """Run the monitor on a started session; stop the session (after `on_exit`) however the screen ends."""
    from ..ui.run import run_app

    try:
        return run_app(session, cfg, theme=starting_theme(args.theme, cfg), refresh=args.refresh, notices=notices)
    finally:
        if on_exit is not None:
            on_exit()
        session.stop()
