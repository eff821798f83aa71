"""`tundra completion SHELL`: the shell code that completes tundra's commands and options (argcomplete)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..config import Config
from .common import add_command

SHELLS = ("bash", "zsh", "fish")


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    cp = add_command(sub, "completion", "print shell completion code for bash, zsh or fish", """
Prints the code that makes your shell complete tundra's commands, options and file names.
Completion is done by argcomplete, asked by the shell at each Tab: the code only has to be loaded.""", """
tundra completion bash >> ~/.bashrc
tundra completion zsh >> ~/.zshrc                   # after compinit
tundra completion fish > ~/.config/fish/completions/tundra.fish""")
    cp.add_argument("shell", choices=SHELLS, help="the shell to print code for")


def autocomplete(parser: argparse.ArgumentParser) -> None:
    """Answer a completion request from the shell (and exit); a no-op on an ordinary run."""
    if "_ARGCOMPLETE" not in os.environ:
        return  # the usual case: no import, no start-up cost
    import argcomplete

    argcomplete.autocomplete(parser)


def run(args: argparse.Namespace, cfg: Config) -> int:
    """Print the shell code."""
    from argcomplete.shell_integration import shellcode

    print(shellcode(["tundra"], shell=args.shell), end="")
    return 0
