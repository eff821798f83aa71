"""`tundra themes`: list the available themes."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import Config
from .common import add_command, starting_theme, warn


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    add_command(sub, "themes", "list the available themes", """
Lists every theme --theme, the config's 'theme' and the 't' picker accept: tundra's own (the
themes/ folder), yours (themes/ in the config dir) and Textual's built-in ones. The theme the
monitor would start with is marked with '*'.""", """
tundra themes
tundra top --theme tundra-light""")


def run(args: argparse.Namespace, cfg: Config) -> int:
    """One theme a line: name, dark/light, where it comes from; a bad theme file gives a warning."""
    from textual.theme import BUILTIN_THEMES

    from ..ui.themes import bundled_dir, load_themes

    themes, problems = load_themes()
    current = starting_theme(None, cfg)
    ours = {p.stem for p in bundled_dir().glob("*.toml")}
    rows = [(name, t.dark, "tundra" if name in ours else "user") for name, t in themes.items()]
    rows += [(name, t.dark, "textual") for name, t in BUILTIN_THEMES.items() if name not in themes]
    for name, dark, origin in rows:
        mark = "*" if name == current else " "
        print(f"{mark} {name:<22} {'dark' if dark else 'light':<6} {origin}")
    for problem in problems:
        warn(problem)
    return 0
