"""`python -m tundra_tui` runs the `tundra` command."""

from .launch import entry

entry()
