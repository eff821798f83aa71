"""What a careless or hostile user types (file names with terminal controls, folders where files belong, a busy
port under --overwrite) gets one clear line, exit 2, and leaves every file as it was. In-process (run_cli)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import zstandard

from tundra_tui.capture import CaptureWriter
from tundra_tui.capture.spanfile import SpanFileWriter

from .conftest import ROOT, run_cli

CONTROLS = ["\x1b]0;pwn\x07", "a\nb", "\x1b[2J\u202e"]


def snapshot(folder: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every entry under `folder` with its mode and, for a file, its bytes."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(folder))] = (st.st_mode, p.read_bytes() if p.is_file() and not p.is_symlink() else None)
    return out


def one_clear_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and not any(c in stderr for c in "\x1b\x07\u202e"), repr(stderr)
    return lines[0]


@pytest.mark.parametrize("name", CONTROLS)
@pytest.mark.parametrize("argv", [["stats", "{f}missing.dog"], ["stats", "{f}junk.dog", "--json"],
                                  ["replay", "{f}dir.dog", "--once"],
                                  ["record", "{f}junk.dog", "--listen", "udp://127.0.0.1:0", "--no-traces"]])
def test_a_file_name_with_terminal_controls_is_shown_escaped_on_one_line(tmp_path: Path, name: str,
                                                                         argv: list[str]) -> None:
    (tmp_path / f"{name}junk.dog").write_bytes(os.urandom(300))
    (tmp_path / f"{name}dir.dog").mkdir()
    before = snapshot(tmp_path)
    res = run_cli(*[a.format(f=f"{tmp_path}/{name}") for a in argv])
    assert res.returncode == 2 and res.stdout == ""
    line = one_clear_line(res.stderr)
    assert ("\\x1b" if "\x1b" in name else "\\x0a") in line  # shown, not obeyed
    assert snapshot(tmp_path) == before


def test_a_long_argument_is_cut_in_the_error_line() -> None:
    res = run_cli("stats", "--top", "9" * 50_000 + "x")
    assert res.returncode == 2
    assert len(one_clear_line(res.stderr)) <= 1000 and res.stderr.rstrip().endswith("…")


@pytest.mark.parametrize("target, why", [("nodir/x.dog", "its folder {d}/nodir does not exist"),
                                         ("afile/x.dog", "its folder {d}/afile is not a directory"),
                                         ("sub", "it is a directory"), ("sub/", "it is a directory")])
@pytest.mark.parametrize("cmd", [["record", "--duration", "5"], ["top", "--once", "--after", "5"]])
@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_recording_into_a_folder_that_cannot_take_it_exits_2_and_makes_none(
        tmp_path: Path, target: str, why: str, cmd: list[str], overwrite: list[str]) -> None:
    (tmp_path / "afile").write_bytes(b"keep")
    (tmp_path / "sub").mkdir()
    before = snapshot(tmp_path)
    flag = [] if cmd[0] == "record" else ["--record"]
    argv = [cmd[0], *flag, str(tmp_path / target), *cmd[1:], *overwrite, "--listen", "udp://127.0.0.1:0",
            "--traces", "http://127.0.0.1:0"]
    res = run_cli(*argv)
    assert res.returncode == 2, res.stderr
    assert why.format(d=tmp_path) in one_clear_line(res.stderr)
    assert snapshot(tmp_path) == before  # no folder made, no temporary file left


@pytest.mark.parametrize("cmd", [["record", "{f}", "--duration", "5"], ["top", "--once", "--record", "{f}"]])
def test_a_start_that_fails_under_overwrite_keeps_the_capture_and_its_sidecar(tmp_path: Path,
                                                                             cmd: list[str]) -> None:
    cap = tmp_path / "x.dog"
    cap.write_bytes(os.urandom(4000))
    (tmp_path / "x.dog.spans").write_bytes(os.urandom(3000))
    before = snapshot(tmp_path)
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    try:  # a held port with --forward is busy: the start fails after both files were begun
        res = run_cli(*[a.format(f=cap) for a in cmd], "--overwrite", "--traces", "http://127.0.0.1:0",
                      "--listen", f"udp://127.0.0.1:{holder.getsockname()[1]}", "--forward", "udp://127.0.0.1:9")
    finally:
        holder.close()
    assert res.returncode == 2 and "busy" in one_clear_line(res.stderr)
    assert snapshot(tmp_path) == before  # the sidecar was truncated at once, then deleted


def test_a_sidecar_name_taken_by_a_folder_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "x.dog.spans").mkdir()
    before = snapshot(tmp_path)
    res = run_cli("record", str(tmp_path / "x.dog"), "--overwrite", "--duration", "5", "--listen",
                  "udp://127.0.0.1:0", "--traces", "http://127.0.0.1:0")
    assert res.returncode == 2 and "x.dog.spans: it is a directory" in one_clear_line(res.stderr)
    assert snapshot(tmp_path) == before  # the capture's temporary file was left behind


@pytest.mark.parametrize("kind", ["capture", "sidecar"])
def test_a_held_recording_replaces_nothing_until_released(tmp_path: Path, kind: str) -> None:
    """The session holds its writers' names until the source started: a flush meanwhile (a slow start on a busy
    machine) must not put the new file over the old one, and abandoning then leaves the old one."""
    old = os.urandom(2000)
    for release in (False, True):
        path = tmp_path / f"{kind}-{release}"
        path.write_bytes(old)
        writer: CaptureWriter | SpanFileWriter
        if kind == "capture":
            writer = CaptureWriter(path, overwrite=True, flush_s=0, hold=True)
            writer.write(b"m:1|c", 1)
        else:
            writer = SpanFileWriter(path, overwrite=True, hold=True)
            writer.write(1, {"name": "s"})
        writer.flush()
        assert path.read_bytes() == old  # flushed, under the temporary name
        if release:
            writer.hold = False
            writer.flush()
            writer.close()
            assert path.read_bytes() != old
        else:
            writer.abandon()
            assert path.read_bytes() == old
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]


@pytest.mark.parametrize("argv", [["stats", "--listen", "udp://127.0.0.1:0", "--duration", "1e308"],
                                  ["top", "--once", "--after", "1e10", "--listen", "udp://127.0.0.1:0"],
                                  ["record", "{d}/x.dog", "--duration", "1e300", "--listen", "udp://127.0.0.1:0"],
                                  ["top", "--refresh", "1e300"],
                                  ["demo", "--rate", "1e308", "--duration", "1"]])
def test_a_finite_but_huge_number_is_refused_not_overflowed(tmp_path: Path, argv: list[str]) -> None:
    res = run_cli(*[a.format(d=tmp_path) for a in argv])  # 1e308 s once ended in OverflowError: exit 1, a report
    assert res.returncode == 2 and "expected at most" in one_clear_line(res.stderr)
    assert os.listdir(tmp_path) == []


def test_a_demo_rate_past_what_can_be_sent_still_ends_on_time() -> None:
    from tundra_tui.services.demo import run_demo
    from tundra_tui.sources import parse_url

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    done: list[int] = []
    try:  # it once tried to catch up on rate x elapsed requests in one go (1e12/s: never done), duration unseen
        t = threading.Thread(target=lambda: done.append(run_demo(parse_url(f"udp://127.0.0.1:{sink.getsockname()[1]}"),
                                                                 rate=1e12, duration=0.2)), daemon=True)
        t.start()
        t.join(30)
        assert not t.is_alive() and done and done[0] > 0
    finally:
        sink.close()


LONG_UNIX = "unix:///tmp/" + "a" * 120 + ".sock"


@pytest.mark.parametrize("argv, says", [
    (["stats", "--listen", "udp://[::1", "--duration", "1"], "Invalid IPv6 URL"),
    (["stats", "--listen", LONG_UNIX, "--duration", "1"], "at most 107 bytes"),  # was "...: None"
    (["top", "--once", "--listen", "udp://127.0.0.1:0", "--forward", LONG_UNIX], "at most 107 bytes"),  # was exit 0
    (["demo", "--target", "udp://127.0.0.1:8125/x?y", "--duration", "1"], "nothing more"),
    (["stats", "--listen", "udp://user:pw@127.0.0.1:0", "--duration", "1"], "nothing more"),
    (["stats", "--listen", "udp://127.0.0.1\t:0", "--duration", "1"], "control characters"),  # urlsplit drops \t
    (["top", "--once", "--traces", "http://[::1"], "Invalid IPv6 URL"),  # these two: internal error, exit 1
    (["record", "{d}/x.dog", "--traces", "http://127.0.0.1:0", "--traces-forward", "http://[::1"], "Invalid IPv6"),
    (["record", "{d}/x.dog", "--traces", "http://127.0.0.1:0", "--traces-forward", "http://h:99999"], "0-65535"),
    (["top", "--once", "--agent-url", "ftp://x/info"], "expected http(s)://HOST[:PORT]"),  # was ignored
    (["record", "{d}/x.dog", "--duration", "1", "--traces", "http://127.0.0.1:1\t0"], "control"),  # was served on :10
    (["record", "{d}/x.dog", "--duration", "1", "--traces", "http://127.0.0.1:0", "--traces-forward", "http://h:1\n2"],
     "control"),
    (["top", "--once", "--datadog-url", "http://[::1"], "Invalid IPv6 URL"),  # was a fleet error, exit 0
])
def test_an_address_that_cannot_work_is_refused_on_one_line(tmp_path: Path, argv: list[str], says: str) -> None:
    res = run_cli(*[a.format(d=tmp_path) for a in argv])
    assert res.returncode == 2 and says in one_clear_line(res.stderr)
    assert os.listdir(tmp_path) == []


def test_a_config_agent_url_that_cannot_work_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[agent]\nurl = "http://[::1"\n')
    res = run_cli("themes", env={"TUNDRA_CONFIG": str(cfg)})
    assert res.returncode == 2 and "'agent.url'" in one_clear_line(res.stderr)


@pytest.mark.parametrize("toml, key", [
    ("window_s = 99999999999999", "'window_s'"),  # was MemoryError: exit 1 and a crash report
    ("refresh_s = inf", "'refresh_s'"),
    ('[prices."m"]\ninput_mtok = inf\noutput_mtok = 1', "'prices.m.input_mtok'"),
    ("[datadog]\ninterval_s = nan", "'datadog.interval_s'"),  # was "retrying in nans"
    ('"\\u001b]0;pwn\\u0007" = 1', "unknown key '\\x1b]0;pwn\\x07'"),  # the key, shown escaped
])
def test_a_config_number_or_key_that_cannot_work_is_one_line(tmp_path: Path, toml: str, key: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(toml + "\n")
    res = run_cli("stats", "tundra_tui/data/sample.dog", env={"TUNDRA_CONFIG": str(cfg)})
    assert res.returncode == 2 and key in one_clear_line(res.stderr)


@pytest.mark.parametrize("make, says", [
    (lambda p: os.mkfifo(p), "is a FIFO"),  # open() waited for a writer forever
    (lambda p: p.symlink_to("/dev/zero"), "is a device"),  # read_bytes() never ended, memory grew
    (lambda p: p.mkdir(), "is a directory"),
])
def test_a_sidecar_that_is_not_a_file_is_named_and_the_replay_goes_on(tmp_path: Path, make: Any, says: str) -> None:
    cap = tmp_path / "s.dog"
    cap.write_bytes(Path("tundra_tui/data/sample.dog").read_bytes())
    make(tmp_path / "s.dog.spans")
    res = run_cli("replay", str(cap), "--once", "--json", timeout=60)
    assert res.returncode == 0 and says in one_clear_line(res.stderr) and '"packets"' in res.stdout


def test_a_sidecar_zstd_bomb_stops_at_the_budget_keeping_the_whole_frames_before() -> None:
    from tundra_tui.capture.spanfile import _whole_frames

    good = zstandard.ZstdCompressor().compress(b'{"t": 1}\n')
    bomb = zstandard.ZstdCompressor().compress(b"\0" * (64 << 20))  # ~2 KB that would be 64 MiB
    out, cut = _whole_frames(good + bomb + good, budget=1 << 20)
    assert (out, cut) == (b'{"t": 1}\n', True)
    assert _whole_frames(good + good, budget=1 << 20) == (b'{"t": 1}\n' * 2, False)


@pytest.mark.parametrize("argv", [["stats", "{f}"], ["stats", "{f}", "--json"], ["replay", "{f}", "--once", "--json"]])
def test_a_capture_name_with_terminal_controls_is_shown_escaped_in_the_report(tmp_path: Path,
                                                                            argv: list[str]) -> None:
    cap = tmp_path / "\x1b]0;pwn\x07\u202e.dog"
    cap.write_bytes(Path("tundra_tui/data/sample.dog").read_bytes())
    res = run_cli(*[a.format(f=cap) for a in argv], env={"COLUMNS": "200"})
    assert res.returncode == 0, res.stderr
    assert not any(c in res.stdout for c in "\x1b\x07\u202e") and "\\u001b" not in res.stdout  # JSON: not raw
    assert "\\x1b]0;pwn\\x07\\u202e.dog" in res.stdout.replace("\\\\", "\\")


@pytest.mark.parametrize("env, says", [
    ({"DD_API_KEY": "SECRETKEY\x1b]0;pwn\x07\n", "DD_APP_KEY": "app"}, "DD_API_KEY"),  # was "Datadog API: ValueError"
    ({"DD_API_KEY": "api", "DD_APP_KEY": "SECRETKEY with space"}, "DD_APP_KEY"),
    ({"DD_API_KEY": "api", "DD_APP_KEY": "app", "DD_SITE": "127.0.0.1:9/x?"}, "DD_SITE"),
])
def test_keys_or_a_site_no_request_can_carry_are_refused_never_shown(env: dict[str, str], says: str) -> None:
    res = run_cli("top", "--once", "--json", "--listen", "udp://127.0.0.1:0", "--no-traces", env=env)
    assert res.returncode == 2 and says in one_clear_line(res.stderr)
    assert "SECRETKEY" not in res.stderr + res.stdout


@pytest.mark.parametrize("argv", [["themes"], ["stats", "tundra_tui/data/sample.dog", "--json"]])
def test_output_to_a_full_disk_is_one_line_and_no_crash_report(tmp_path: Path, argv: list[str]) -> None:
    """A real process: what is still buffered is flushed again at its exit, which once added a second error."""
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    with open("/dev/full", "w") as full:
        res = subprocess.run([sys.executable, "-m", "tundra_tui", *argv], stdout=full, stderr=subprocess.PIPE,
                             text=True, timeout=60, env=env, cwd=ROOT)
    assert res.returncode == 1 and "cannot write the output: No space left" in one_clear_line(res.stderr)
    assert not (tmp_path / "data").exists()  # was 'internal error (OSError)' and a crash report written


@pytest.mark.parametrize("argv, says", [
    (["replay", "{d}/x.dog", "--sample", "--once"], "not both"),  # played the sample, FILE unsaid
    (["replay", "--sample", "--loop", "--once", "--json"], "--loop does not go with --once"),  # ignored
    (["stats", "{d}/x.dog", "--passive"], "--passive only applies to --listen"),  # ignored
])
def test_flags_that_would_be_ignored_are_refused(tmp_path: Path, argv: list[str], says: str) -> None:
    (tmp_path / "x.dog").write_bytes(b"")
    res = run_cli(*[a.format(d=tmp_path) for a in argv])
    assert res.returncode == 2 and says in one_clear_line(res.stderr) and res.stdout == ""
