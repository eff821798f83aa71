"""`python -m tundra_tui` runs the `tundra` command."""

from .commands import entry

entry()
