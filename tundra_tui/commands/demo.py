"""`tundra demo`: a simulated at-daemon sending DogStatsD."""

from __future__ import annotations

import argparse
import socket
from typing import Any

from ..config import Config
from ..sources import DEFAULT_LISTEN, Address, SourceError, parse_url
from .common import add_command, positive, rate, stop_on_signals, url, warn


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    dm = add_command(sub, "demo", "simulated at-daemon sending DogStatsD", """
Sends the metrics and events of a simulated Auto-Tundra LLM daemon (profiles, several models and
providers, errors, latency) to a DogStatsD address, so the monitor has something to show.
With --traces it also sends LLM Observability traces of some requests to a trace port, as ddtrace does.
A target that cannot be reached (no socket at a unix:// path, a name that does not resolve)
is refused with exit 2.""", """
tundra demo
tundra demo --rate 50 --seed 3 --duration 30
tundra demo --traces http://127.0.0.1:8126
tundra demo --target unix:///var/run/datadog/dsd.socket""")
    dm.add_argument("--target", type=url, default=parse_url(DEFAULT_LISTEN), metavar="URL",
                    help="where to send, udp://HOST:PORT or unix:///path")
    dm.add_argument("--rate", type=rate, default=20.0, metavar="N", help="requests per second")
    dm.add_argument("--duration", type=positive, metavar="S", help="stop after S seconds (default: until Ctrl-C)")
    dm.add_argument("--seed", type=int, default=7, metavar="N",
                    help="random seed: the same seed sends the same traffic")
    dm.add_argument("--traces", type=trace_port, metavar="URL",
                    help="also send LLM spans to this trace port, e.g. tundra's http://127.0.0.1:8126 "
                         "(default: none)")


def trace_port(url: str) -> str:
    """`--traces`: an http://HOST:PORT, checked now (argparse turns the error into one line, exit 2)."""
    from ..services.traceproxy import TraceProxyError, parse_http_url

    try:
        parse_http_url(url, "--traces")
    except TraceProxyError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return url


def check_target(target: Address) -> None:
    """Fail now, with one line, if nothing can be sent to `target` (a datagram socket says so at connect)."""
    family = socket.AF_UNIX if target.scheme == "unix" else socket.AF_INET6 if ":" in target.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.connect(target.host if target.scheme == "unix" else (target.host, target.port))
    except OSError as exc:
        raise SourceError(f"cannot send to {target}: {exc.strerror or exc}") from None
    finally:
        sock.close()


def run(args: argparse.Namespace, cfg: Config) -> int:
    """Send until Ctrl-C or --duration."""
    from ..services.demo import run_demo
    from ..services.demo_traces import DemoTracer

    check_target(args.target)
    stop = stop_on_signals()
    tracer = DemoTracer(args.traces, args.seed) if args.traces else None
    traces = f", spans to {args.traces}" if args.traces else ""
    warn(f"demo at-daemon sending to {args.target}{traces} at {args.rate:g} requests/s; Ctrl-C to stop")
    try:
        n = run_demo(args.target, args.rate, args.duration, args.seed, stop, tracer)
    except OSError as exc:
        raise SourceError(f"cannot send to {args.target}: {exc.strerror or exc}") from None
    if tracer is None:
        warn(f"sent {n} requests")
    else:
        lost = tracer.failed + tracer.dropped
        warn(f"sent {n} requests and {tracer.sent} traces" + (f" ({lost} not taken by {args.traces})" if lost else ""))
    return 0
