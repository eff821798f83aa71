"""`tundra top`: the live monitor of the local DogStatsD stream (or `--once` as text/JSON)."""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config
from ..model.cost import CostSource
from ..model.engine import Mode
from ..services.agent import AgentProbe
from ..services.expvar import ExpvarPoller
from ..services.fleet import FleetPoller, FleetSettings
from ..services.spanfeed import SpanFeed
from ..session import Session
from ..sources import DEFAULT_LISTEN, Address, PortBusy, parse_url
from ..sources.procnet import describe_holder
from ..sources.urls import http_url
from .common import (
    UsageError,
    add_command,
    add_passive,
    add_traces,
    announce_tap,
    answers_as_agent,
    capture_redactor,
    check_themes,
    count,
    exposure_warnings,
    launch_pricer,
    make_engine,
    make_tap,
    need_terminal,
    positive,
    print_once,
    refresh_interval,
    run_screen,
    span_feed,
    stop_on_signals,
    url,
    warn,
    warn_exposure,
)
from .record import refuse_existing


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    top = add_command(sub, "top", "live monitor of the local DogStatsD stream", f"""
Listens for DogStatsD datagrams (default {DEFAULT_LISTEN}) and shows LLM profiles, tokens and
cost per model, throughput, errors, latency and events; '?' in the monitor lists the keys.
It needs a terminal: for scripts and pipes use --once (text) or --once --json.
With --forward it sits in front of the Agent and passes every datagram on.""", """
tundra top
tundra top --demo
tundra top --listen udp://127.0.0.1:8126 --forward udp://127.0.0.1:8125
tundra top --record session.dog --theme tundra-light
tundra top --once --after 10 --json""")
    top.add_argument("--listen", action="append", type=url, metavar="URL",
                     help="address to listen on, udp://HOST:PORT (port 0: a free one) or unix:///path; "
                          f"repeatable (default: {DEFAULT_LISTEN}; with --demo a free port)")
    top.add_argument("--forward", type=url, metavar="URL",
                     help="send every datagram on to this address, e.g. the Agent (default: no forwarding)")
    top.add_argument("--demo", action="store_true",
                     help="run the simulated LLM daemon in-process: DogStatsD and LLM spans, sent only to ports "
                          "tundra binds itself; a --listen port another process holds is refused (default: off)")
    top.add_argument("--record", type=Path, metavar="FILE",
                     help="record to a .dog capture while monitoring; an existing FILE is refused (default: off)")
    top.add_argument("--overwrite", action="store_true", help="with --record: replace FILE if it exists")
    top.add_argument("--theme", metavar="NAME",
                     help="colour theme, see 'tundra themes' (default: the last picked with 't', "
                          "else the config's, else tundra-dark)")
    top.add_argument("--refresh", type=refresh_interval, metavar="S",
                     help="screen refresh interval in seconds, at least 0.1 (default: the config's, 1)")
    top.add_argument("--once", action="store_true", help="print one dashboard and exit, no screen (default: off)")
    top.add_argument("--after", type=positive, metavar="S",
                     help="with --once: collect for S seconds first (default: 1)")
    top.add_argument("--json", action="store_true", help="with --once: print JSON instead of text (default: off)")
    top.add_argument("--max-contexts", type=count, metavar="N",
                     help="cardinality cap; past it contexts are only counted (default: the config's, 20000)")
    top.add_argument("--no-redact", action="store_true",
                     help="show tag values and event text unredacted (default: redacted)")
    top.add_argument("--redact-captures", action="store_true",
                     help="mask PII in recordings too (default: record datagrams as received)")
    top.add_argument("--datadog-url", metavar="URL",
                     help="Datadog API base URL, for tests and proxies (default: from DD_SITE, datadoghq.com)")
    top.add_argument("--datadog-scope", metavar="TAGS",
                     help="fleet query scope, e.g. env:production (default: the config's, else *)")
    top.add_argument("--agent-url", metavar="URL",
                     help="the local Agent's /info (default: the config's, http://127.0.0.1:8126/info)")
    add_traces(top, demo=True)
    add_passive(top)


def _fleet(args: argparse.Namespace, cfg: Config, pricer: CostSource) -> FleetPoller:
    dd = cfg.datadog
    api = args.datadog_url  # checked by run
    settings = FleetSettings.from_env(url=api, scope=args.datadog_scope or dd.get("scope", "*"),
                                      window_s=int(dd.get("window_s", 900)),
                                      interval_s=float(dd.get("interval_s", 30.0)))
    settings.api_key = settings.api_key or dd.get("api_key")
    settings.app_key = settings.app_key or dd.get("app_key")
    if "site" in dd and not os.environ.get("DD_SITE"):
        settings.site = dd["site"]
    problem = settings.problem()
    if problem:
        raise UsageError(problem)
    return FleetPoller(settings, pricer, cfg.vocab_metrics, cfg.vocab_tags)


def _live_session(args: argparse.Namespace, cfg: Config) -> tuple[Session, threading.Event | None, list[str]]:
    """The started session, the demo's stop (with --demo) and the notices the screen repeats."""
    listen = args.listen or [parse_url("udp://127.0.0.1:0" if args.demo else DEFAULT_LISTEN)]
    screen = not args.once  # the screen starts what its first frame does not need after that frame
    # the demo's trace port, like its DogStatsD port, is a free one: the Agent's 8126 is neither taken nor needed
    spans = span_feed(args, cfg, redact=not args.no_redact, serve=not screen,
                      default="http://127.0.0.1:0" if args.demo else None)
    pricer = None
    try:  # the trace port is already serving, then the price helper: whatever fails from here on closes them
        agent_url = args.agent_url or cfg.agent_url
        # the demo's own trace port is on a free one: the Agent's /info says nothing about simulated traffic
        agent = None if args.once or args.demo or answers_as_agent(spans, agent_url) else AgentProbe(agent_url)
        pricer = launch_pricer(cfg, interactive=screen)  # at launch (#17): its table loads before the first model
        engine = make_engine(cfg, Mode.DASHBOARD, args.max_contexts, redact=not args.no_redact, pricer=pricer)
        tap = make_tap(args, listen, bound=args.demo)  # the demo sends to its port: only one tundra holds
        session = Session(tap, engine, record=args.record, fleet=_fleet(args, cfg, pricer), agent=agent,
                          record_transform=capture_redactor(args, cfg), spans=spans,
                          expvar=ExpvarPoller(cfg.expvar_url), record_overwrite=args.overwrite)
        if screen:
            session.after_start.append(spans.serve)
        try:
            session.start(services=not screen)
        except PortBusy as exc:
            if not args.demo:
                raise
            raise UsageError(f"--demo sends simulated traffic to the port it listens on, and "
                             f"{describe_holder(exc.port)[0]}: refused, so no demo figure reaches it "
                             "(drop --listen: the demo takes a free port)") from None
    except BaseException:
        spans.stop()
        if pricer is not None:
            pricer.close()
        raise
    announce_tap(tap)
    warn_exposure(tap.addresses)
    demo_stop = None
    notices = exposure_warnings(tap.addresses)
    if args.demo:
        demo_stop = threading.Event()
        traces, why_not = demo_traces(spans)
        if why_not:
            warn(why_not)
            notices.append(why_not)
        start = _demo_starter(tap.addresses[0], demo_stop, traces)
        if screen:
            session.after_start.append(start)  # its `datadog` import would compete with the first frame
        else:
            start()
    return session, demo_stop, notices


def demo_traces(spans: SpanFeed) -> tuple[str | None, str | None]:
    """Where the demo sends its traces (tundra's own trace port, never one passing traffic on to an Agent), and
    why it sends none when it does not say so itself."""
    proxy = spans.proxy
    if proxy is None:
        return None, None  # --no-traces: asked for
    if proxy.forward:
        return None, f"demo spans not sent: the trace port passes its traffic on to {proxy.forward}"
    return proxy.url, None


def _demo_starter(address: Address, stop: threading.Event, traces: str | None) -> Callable[[], None]:
    """Starts the simulated daemon on a thread of its own, sending to `address` (and its traces to `traces`)
    until `stop`."""
    def start() -> None:
        from ..services.demo import run_demo
        from ..services.demo_traces import DemoTracer

        tracer = DemoTracer(traces, 7) if traces else None
        threading.Thread(target=run_demo, args=(address, 20.0, None, 7, stop, tracer), daemon=True,
                         name="tundra-demo").start()
    return start


def run(args: argparse.Namespace, cfg: Config) -> int:
    """The screen, or with --once one dashboard after --after seconds."""
    if args.json and not args.once:
        raise UsageError("--json needs --once")
    if args.after is not None and not args.once:
        raise UsageError("--after needs --once")
    if args.overwrite and args.record is None:
        raise UsageError("--overwrite needs --record FILE")
    if args.demo and args.passive:
        raise UsageError("--demo sends simulated traffic to the port it listens on: it never watches one "
                         "passively (drop --passive)")
    check_themes(args, cfg)
    for flag, value in (("--datadog-url", args.datadog_url), ("--agent-url", args.agent_url)):
        if value is not None:
            http_url(value, flag)  # BadURL: one line, before anything starts
    if not args.once:
        need_terminal("top")
    if args.record is not None:
        refuse_existing(args.record, args.overwrite)
    stop = stop_on_signals() if args.once else None
    session, demo_stop, notices = _live_session(args, cfg)
    if stop is not None:
        after = args.after if args.after is not None else 1.0
        proxy = session.spans.proxy if session.spans is not None else None
        traces = f" (traces on {proxy.url})" if proxy is not None else ""
        warn(f"listening on {session.source.label} for {after:g}s{traces}")
        stop.wait(after)
        if demo_stop:
            demo_stop.set()
        return print_once(session, args.json)
    return run_screen(session, cfg, args, on_exit=demo_stop.set if demo_stop else None, notices=notices)
