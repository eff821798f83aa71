"""The `tundra` command: one module per subcommand (flags, wiring), this one parses and dispatches.

Errors a user can cause are one line on stderr and exit 2; our own bugs are exit 1 with a crash report.
"""

from __future__ import annotations

import sys

from .. import __version__
from ..capture import CaptureError
from ..config import ConfigError, load_config
from ..sources import BadURL, SourceError
from . import demo, record, replay, stats, themes, top
from .common import Parser, UsageError, warn

COMMANDS = {m.__name__.rpartition(".")[2]: m for m in (top, replay, record, stats, demo, themes)}


def build_parser() -> Parser:
    """The argparse tree for every subcommand."""
    p = Parser(prog="tundra", description="htop for LLM workloads: a live DogStatsD monitor.")
    p.add_argument("--version", action="version", version=f"tundra {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=Parser)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point for the `tundra` script."""
    args = build_parser().parse_args(argv)
    try:
        cfg = load_config()
        for w in cfg.warnings:
            warn(w)
        code: int = COMMANDS[args.cmd].run(args, cfg)
        return code
    except (UsageError, SourceError, CaptureError, BadURL, ConfigError) as exc:
        warn(f"tundra {args.cmd}: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        from ..crash import write_report

        path = write_report(exc, f"tundra {args.cmd}")
        where = f"; report saved to {path}" if path else ""
        warn(f"tundra {args.cmd}: internal error ({type(exc).__name__}){where}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
