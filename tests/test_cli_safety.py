"""Nothing a user types destroys data or misleads (issue 14), each point run as a user would: real files, pipes
instead of a terminal; a real process where a signal or the missing terminal is the point."""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tundra_tui.capture import CaptureReader, CaptureWriter
from tundra_tui.commands import COMMANDS, build_parser

from .conftest import run_child, run_cli
from .waits import Output, wait_until


def send(port: int, n: int) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        s.sendto(b"m:%d|c" % i, ("127.0.0.1", port))
    s.close()


# -- 1. captures are never clobbered -------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["record", "{f}", "--duration", "1"],
                                  ["top", "--once", "--record", "{f}", "--listen", "udp://127.0.0.1:0"]])
def test_existing_capture_is_refused_untouched(tmp_path: Path, argv: list[str]) -> None:
    keep = tmp_path / "session.dog"
    keep.write_bytes(os.urandom(44_000))
    before = keep.read_bytes()
    res = run_cli(*[a.format(f=keep) for a in argv])
    assert res.returncode == 2 and "--overwrite" in res.stderr and len(res.stderr.splitlines()) == 1, res.stderr
    assert keep.read_bytes() == before and os.listdir(tmp_path) == ["session.dog"]


def test_recording_takes_its_name_at_the_first_flush_and_overwrite_replaces(tmp_path: Path) -> None:
    out = tmp_path / "session.dog"
    out.write_bytes(b"old capture")

    def user(err: Output) -> None:
        port = err.port()
        assert out.read_bytes() == b"old capture"  # still the old file until the first block is written
        send(port, 100)
        wait_until(lambda: out.read_bytes() != b"old capture", "the recording to take the name")

    done = run_cli("record", str(out), "--overwrite", "--listen", "udp://127.0.0.1:0", "--no-traces", driver=user)
    assert done.returncode == 0, done.stderr
    reader = CaptureReader(out)
    assert len(list(reader)) == 100 and not reader.truncated
    assert os.listdir(tmp_path) == ["session.dog"]  # no temporary file left


def test_writer_never_replaces_a_file_that_appears_meanwhile(tmp_path: Path) -> None:
    out = tmp_path / "race.dog"
    writer = CaptureWriter(out)
    out.write_bytes(b"someone else's")
    writer.write(b"m:1|c")
    with pytest.raises(Exception, match="appeared"):
        writer.close()
    assert out.read_bytes() == b"someone else's" and os.listdir(tmp_path) == ["race.dog"]


# -- 2. no terminal, no TUI ----------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["top", "--listen", "udp://127.0.0.1:0"], ["replay", "--sample"]])
def test_screen_without_a_terminal_exits_2_naming_once(argv: list[str]) -> None:
    res = run_child(*argv, timeout=20, input="")  # a real process whose stdin, stdout and stderr are pipes
    assert res.returncode == 2 and res.stdout == ""
    assert "--once --json" in res.stderr and len(res.stderr.splitlines()) == 1, res.stderr
    assert "\x1b" not in res.stderr


def test_record_progress_is_plain_lines_without_a_terminal(tmp_path: Path) -> None:
    """stderr not a terminal: no `\\r` progress line, only the final line (the loop asks after each wait, the
    one Ctrl-C ends included)."""
    done = run_cli("record", str(tmp_path / "r.dog"), "--listen", "udp://127.0.0.1:0",
                   driver=lambda out: send(out.port(), 10))  # then Ctrl-C
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "\x1b" not in done.stderr and done.stderr.endswith("\n")
    assert "datagrams 10" in done.stderr.splitlines()[-1]


# -- 3. themes are arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["top", "--theme", "nope", "--once", "--listen", "udp://127.0.0.1:0"],
                                  ["replay", "--sample", "--theme", "nope", "--once"]])
def test_unknown_theme_flag_exits_2_listing_names(argv: list[str]) -> None:
    res = run_cli(*argv)
    assert res.returncode == 2 and res.stdout == "" and len(res.stderr.splitlines()) == 1, res.stderr
    assert "'nope'" in res.stderr and "tundra-dark" in res.stderr and "dracula" in res.stderr


def test_unknown_theme_in_config_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('theme = "nope"\n')
    res = run_cli("replay", "--sample", "--once", env={"TUNDRA_CONFIG": str(cfg)})
    assert res.returncode == 2 and str(cfg) in res.stderr and "tundra-light" in res.stderr, res.stderr
    ok = run_cli("top", "--once", "--after", "60", "--listen", "udp://127.0.0.1:0", "--theme", "dracula",
                 driver=Output.port)  # Ctrl-C once it listens
    assert ok.returncode == 0, ok.stderr  # Textual's built-ins are accepted


def test_themes_lists_ours_and_textuals_and_marks_the_current() -> None:
    res = run_cli("themes")
    rows = {line[2:].split()[0]: line for line in res.stdout.splitlines()}
    assert res.returncode == 0 and {"tundra-dark", "tundra-light", "tundra-ansi", "dracula", "nord"} <= set(rows)
    assert rows["dracula"].split()[-1] == "textual" and rows["tundra-dark"].startswith("* ")
    assert [r for r in rows.values() if r.startswith("*")] == [rows["tundra-dark"]]


# -- 4. --help that teaches ----------------------------------------------------------------------------
def test_every_option_has_help_with_its_default_and_every_command_examples() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)
    for name, cmd in sub.choices.items():
        text = cmd.format_help()
        assert "Examples:\n  tundra " + name in text and cmd.description and len(cmd.description) > 60, name
        for action in cmd._actions:
            if isinstance(action, argparse._HelpAction | argparse._VersionAction):
                continue
            shown = cmd._get_formatter()._expand_help(action) if action.help else ""
            assert shown, f"{name} {action.dest}: no help"
            if action.nargs != 0 and not action.choices and not action.required:  # what happens when not given
                assert "default" in shown, f"{name} {action.dest}: {shown!r}"


def test_plain_tundra_prints_the_overview_and_version_works_everywhere() -> None:
    res = run_cli()
    assert res.returncode == 0 and "Examples:" in res.stdout and "record" in res.stdout and res.stderr == ""
    for name in COMMANDS:
        v = run_cli(name, "--version")
        assert v.returncode == 0 and v.stdout.startswith("tundra "), (name, v.stderr)


def test_shell_completion_for_bash_zsh_fish_and_it_completes(tmp_path: Path) -> None:
    for shell, needle in (("bash", "complete "), ("zsh", "compdef"), ("fish", "complete ")):
        res = run_cli("completion", shell)
        assert res.returncode == 0 and needle in res.stdout and "tundra" in res.stdout, shell
    answer = tmp_path / "answer"
    line = "tundra rec"  # argcomplete answers and ends the process: the shell runs a real one
    res = run_child(env={"_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
                       "_ARGCOMPLETE_STDOUT_FILENAME": str(answer), "_ARGCOMPLETE_IFS": "\n"})
    assert res.returncode == 0 and answer.read_text().split() == ["record"]
    line = "tundra record x.dog --ov"
    run_child(env={"_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
                 "_ARGCOMPLETE_STDOUT_FILENAME": str(answer), "_ARGCOMPLETE_IFS": "\n"})
    assert answer.read_text().split() == ["--overwrite"]
    # global completion (activate-global-python-argcomplete) completes a script only if its entry point's module
    # carries the marker: argcomplete's own check, on the installed `tundra` script (tundra_tui.launch)
    script = Path(sys.executable).with_name("tundra")
    check = subprocess.run([sys.executable, "-W", "ignore", "-m", "argcomplete._check_console_script", str(script)],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


# -- 5. honest small things ----------------------------------------------------------------------------
def test_demo_to_an_unreachable_target_exits_2(tmp_path: Path) -> None:
    res = run_cli("demo", "--target", f"unix://{tmp_path}/nonexistent.sock", "--duration", "1")
    assert res.returncode == 2 and "sent" not in res.stderr and len(res.stderr.splitlines()) == 1, res.stderr


def test_duration_with_a_file_exits_2() -> None:
    res = run_cli("stats", "tundra_tui/data/sample.dog", "--duration", "3")
    assert res.returncode == 2 and "--duration" in res.stderr and res.stdout == ""


def test_once_reports_the_chosen_port() -> None:
    res = run_cli("top", "--once", "--json", "--after", "60", "--listen", "udp://127.0.0.1:0",
                  driver=Output.port)  # Ctrl-C once it listens
    assert res.returncode == 0, res.stderr
    found = re.search(r"listening on udp://127\.0\.0\.1:(\d+)", res.stderr)
    assert found and int(found.group(1)) > 0, res.stderr
    json.loads(res.stdout)


def test_cut_and_empty_captures_are_read_with_one_warning(tmp_path: Path) -> None:
    whole = tmp_path / "whole.dog"
    writer = CaptureWriter(whole)
    for i in range(3000):
        writer.write(b"m:%d|c|#model:gpt-4o" % i, 1_700_000_000_000_000_000 + i)
    writer.close()
    data = whole.read_bytes()
    for size, words in ((0, "no records"), (500, "ends"), (2000, "ends"), (6, "ends")):
        cut = tmp_path / f"cut{size}.dog"
        cut.write_bytes(data[:size])
        res = run_cli("stats", str(cut), "--json")
        assert res.returncode == 0, res.stderr
        assert res.stderr.count("warning:") == 1 and words in res.stderr and "not a" not in res.stderr
        assert json.loads(res.stdout)["lines"] < 3000
    bad = tmp_path / "text.dog"
    bad.write_text("hello\n")
    assert run_cli("stats", str(bad)).returncode == 2
