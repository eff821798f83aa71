"""`tundra themes`: list the available themes."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Config
from .common import warn


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    sub.add_parser("themes", help="list the available themes")


def run(args: argparse.Namespace, cfg: Config) -> int:
    """One theme a line, with dark/light; a bad theme file gives a warning."""
    from ..ui.themes import load_themes

    themes, problems = load_themes()
    for name, theme in themes.items():
        print(f"{name:<20} {'dark' if theme.dark else 'light'}")
    for problem in problems:
        warn(problem)
    return 0
