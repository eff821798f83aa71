"""The `tundra` command: one module per subcommand (flags, wiring), this one parses and dispatches.

Errors a user can cause are one line on stderr and exit 2; our own bugs are exit 1 with a crash report.
"""

from __future__ import annotations

import errno
import gc
import os
import sys

from .. import __version__
from ..capture import CaptureError
from ..config import ConfigError, load_config
from ..sources import BadURL, SourceError
from . import completion, demo, record, replay, stats, themes, top
from .common import Parser, UsageError, warn

COMMANDS = {m.__name__.rpartition(".")[2]: m for m in (top, replay, record, stats, demo, themes, completion)}

OVERVIEW = """\
tundra watches the local DogStatsD stream (or a .dog capture) and shows what LLM workloads are
doing: profiles, tokens and cost per model, throughput, errors, latency and events.

Run 'tundra COMMAND --help' for a command's options and examples."""

EXAMPLES = """\
Examples:
  tundra top                               # the monitor on udp://127.0.0.1:8125
  tundra top --demo                        # the monitor on a built-in simulated LLM daemon
  tundra top --once --after 10 --json      # one dashboard as JSON, for scripts
  tundra record session.dog --duration 60  # a headless capture
  tundra replay session.dog --speed 4      # the monitor, fed by a capture
  tundra stats session.dog --top 20        # per-context counts
  tundra completion bash                   # shell completion (bash, zsh, fish)"""


def build_parser() -> Parser:
    """The argparse tree for every subcommand."""
    p = Parser(prog="tundra", description=f"htop for LLM workloads: a live DogStatsD monitor.\n\n{OVERVIEW}",
               epilog=EXAMPLES)
    p.add_argument("--version", action="version", version=f"tundra {__version__}", help="print the version and exit")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", title="commands", parser_class=Parser)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return p


def entry() -> None:
    """The `tundra` script (and `python -m tundra_tui`): the process-wide tuning a command line wants, then main.

    Here, not in Session: tests run sessions inside pytest, whose collector must stay as it is."""
    gc.freeze()  # start-up objects (imports, config, the parser) leave the collector's full passes
    gc.set_threshold(50_000, 20, 20)  # ingest allocates in bursts of short-lived objects: collect less often
    sys.exit(main())


def main(argv: list[str] | None = None) -> int:
    """Run one `tundra` command line; return its exit status."""
    parser = build_parser()
    completion.autocomplete(parser)
    args = parser.parse_args(argv)
    if args.cmd is None:
        parser.print_help()
        return 0
    try:
        cfg = load_config()
        for w in cfg.warnings:
            warn(w)
        if cfg.keys:
            from ..ui.keys import check_keys  # the screen's binding ids (imports textual only when needed)

            check_keys(cfg.keys)
        code: int = COMMANDS[args.cmd].run(args, cfg)
        return code
    except (UsageError, SourceError, CaptureError, BadURL, ConfigError) as exc:
        warn(f"tundra {args.cmd}: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        if exc.errno not in OUTPUT_FULL:
            return internal_error(exc, args.cmd)
        # stdout on a full disk (or a failing device): not a bug of ours, so no crash report, which would only
        # add a file where space is short; what was printed so far may be cut
        warn(f"tundra {args.cmd}: cannot write the output: {exc.strerror or exc}")
        quiet_stdout()
        return 1
    except Exception as exc:
        return internal_error(exc, args.cmd)


OUTPUT_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def internal_error(exc: BaseException, cmd: str) -> int:
    """Our own bug: a crash report, one line naming it, exit 1."""
    from ..crash import write_report

    path = write_report(exc, f"tundra {cmd}")
    where = f"; report saved to {path}" if path else "; no report could be saved"
    warn(f"tundra {cmd}: internal error ({type(exc).__name__}){where}")
    return 1


def quiet_stdout() -> None:
    """Point stdout at /dev/null, so what is still buffered does not fail again at exit, in a second message."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (tests capture it in memory)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)


if __name__ == "__main__":
    entry()
