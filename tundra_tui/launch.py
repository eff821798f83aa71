# PYTHON_ARGCOMPLETE_OK  (argcomplete looks for this marker in the entry point's module)
"""The `tundra` script: the price helper started before anything else loads, then the command run."""

from __future__ import annotations

import sys


def entry() -> None:
    """Start the price helper for `top`/`replay` (its table loads while tundra's quarter second of imports
    does), then run the command line as `tundra_tui.commands.entry`; a helper no pricer took is then reaped."""
    from .services.helper_proc import drop_early, start_early

    start_early(sys.argv[1:])
    try:
        from .commands import entry as run

        run()
    finally:
        drop_early()
