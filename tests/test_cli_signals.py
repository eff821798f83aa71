"""Signals, terminals and hostile surroundings (issue 19, points 13-14): real processes, a real pty,
a FIFO and /dev/zero as config, an unreadable HOME, a full disk."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tundra_tui.capture import CaptureReader

from .conftest import ROOT, run_cli
from .test_cli_safety import send
from .waits import Tundra

RESTORE = (b"\x1b[?1049l", b"\x1b[?1000l", b"\x1b[?25h")  # alternate screen left, mouse off, cursor shown


def whole(path: Path) -> int:
    """Records in a capture that must end with its trailer."""
    reader = CaptureReader(path)
    n = len(list(reader))
    assert not reader.truncated, "no trailer"
    return n


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_record_stops_cleanly_on_signal(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / "r.dog"
    with Tundra("record", str(out), "--listen", "udp://127.0.0.1:0") as child:
        send(child.port(), 3000)
        done = child.interrupt(sig)
    assert done.returncode == 0, done.stderr
    assert "datagrams 3,000" in done.stderr and whole(out) == 3000, done.stderr


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


class Screen:
    """`tundra top` in a real pty, its output collected."""

    def __init__(self, *args: str, code: str | None = None) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: straight into the CLI (or `code`, which runs it with argv = args)
            os.chdir(ROOT)
            os.environ["TERM"] = "xterm-256color"
            run = ["-c", code] if code is not None else ["-m", "tundra_tui"]
            os.execv(sys.executable, [sys.executable, *run, *args])
        self.out = b""

    def pump(self, until: bytes | None = None, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (until is None or until not in self.out):
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.out += data

    def wait(self) -> int:
        deadline = time.monotonic() + 60  # reached only when broken: a loaded machine can take seconds
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.02)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("the screen did not exit")


@pytest.mark.parametrize("how", ["SIGTERM", "hangup"])
def test_screen_with_recording_ends_cleanly(tmp_path: Path, how: str) -> None:
    out = tmp_path / "top.dog"
    port = free_udp_port()
    screen = Screen("top", "--record", str(out), "--listen", f"udp://127.0.0.1:{port}")
    screen.pump(until=b"\x1b[?1049h")  # the alternate screen is up
    send(port, 2000)
    screen.pump(until=b"REC")
    assert b"REC" in screen.out  # the app is up and recording
    mark = len(screen.out)
    if how == "SIGTERM":
        os.kill(screen.pid, signal.SIGTERM)
        screen.pump(timeout=10)
        code = screen.wait()
        assert code == 128 + signal.SIGTERM
        assert all(seq in screen.out[mark:] for seq in RESTORE), screen.out[mark:][-300:]
    else:
        os.close(screen.fd)  # the terminal goes away: the kernel hangs up the session
        code = screen.wait()
        assert code == 128 + signal.SIGHUP
    if how == "SIGTERM":
        os.close(screen.fd)
    assert whole(out) == 2000


STALLED = ("import sys, threading\n"
           "from textual.drivers.linux_driver import LinuxDriver\n"
           "import tundra_tui.ui.run as run\n"
           "run.HANGUP_GRACE_S = 0.2  # the stall is for good: any grace ends the same way\n"
           "LinuxDriver.stop_application_mode = lambda self: threading.Event().wait()\n"
           "from tundra_tui.commands import main\n"
           "sys.exit(main(sys.argv[1:]))")


def test_hangup_ends_the_screen_even_when_textual_shutdown_stalls(tmp_path: Path) -> None:
    """Textual's shutdown made to block for good: the hang-up watchdog still closes the recording (trailer)
    and ends the process with 129."""
    out = tmp_path / "stalled.dog"
    port = free_udp_port()
    screen = Screen("top", "--record", str(out), "--listen", f"udp://127.0.0.1:{port}", code=STALLED)
    screen.pump(until=b"\x1b[?1049h")
    send(port, 500)
    screen.pump(until=b"REC")
    assert b"REC" in screen.out
    os.close(screen.fd)
    assert screen.wait() == 128 + signal.SIGHUP
    assert whole(out) == 500


def test_refresh_below_the_minimum_is_refused() -> None:
    res = run_cli("top", "--refresh", "0.000001", "--once")
    assert res.returncode == 2 and "0.1" in res.stderr and len(res.stderr.splitlines()) == 1


@pytest.mark.parametrize("kind", ["zero", "fifo", "big"])
def test_config_that_is_not_a_small_file_is_refused(tmp_path: Path, kind: str) -> None:
    path = Path("/dev/zero") if kind == "zero" else tmp_path / "config.toml"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "big":
        path.write_text("# padding\n" * 200_000)
    res = run_cli("themes", env={"TUNDRA_CONFIG": str(path)}, timeout=20)
    assert res.returncode == 2 and res.stdout == "" and len(res.stderr.splitlines()) == 1, res.stderr
    assert str(path) in res.stderr and "Traceback" not in res.stderr


# Each command in turn, in one process (a start-up paid once): [[exit status, stdout, stderr], ...] as JSON.
IN_TURN = ("import contextlib, io, json, sys\n"
           "from tundra_tui.commands import main\n"
           "runs = []\n"
           "for argv in json.loads(sys.argv[1]):\n"
           "    out, err = io.StringIO(), io.StringIO()\n"
           "    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
           "        runs.append([main(argv), out, err])\n"
           "print(json.dumps([[code, out.getvalue(), err.getvalue()] for code, out, err in runs]))")


def run_without_home(tmp_path: Path, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """As root without CAP_DAC_OVERRIDE/READ_SEARCH, so a mode-000 HOME is really unreadable."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    home.chmod(0o000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env["HOME"] = str(home)
    cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-c", IN_TURN,
           json.dumps(commands)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    finally:
        home.chmod(0o700)
    assert res.returncode == 0 and res.stderr == "", res.stderr
    return [subprocess.CompletedProcess(argv, *run) for argv, run in zip(commands, json.loads(res.stdout),
                                                                           strict=True)]


def test_unreadable_home_degrades(tmp_path: Path) -> None:
    themes, stats, rec = run_without_home(
        tmp_path, ["themes"], ["stats", "tundra_tui/data/sample.dog", "--json"],
        ["record", str(tmp_path / "home" / "x.dog"), "--duration", "1", "--listen", "udp://127.0.0.1:0"])
    assert themes.returncode == 0 and "tundra-dark" in themes.stdout, themes.stderr
    assert "internal error" not in themes.stderr and "Permission denied" in themes.stderr
    assert stats.returncode == 0 and '"lines"' in stats.stdout, stats.stderr
    assert rec.returncode == 2 and rec.stderr.splitlines()[-1].endswith("Permission denied"), rec.stderr
    assert "internal error" not in rec.stderr


def test_once_record_to_a_full_disk_says_so(tmp_path: Path) -> None:
    full = tmp_path / "full.dog"
    full.symlink_to("/dev/full")  # every write: ENOSPC; sidecars land in tmp_path, never in /dev
    res = run_cli("top", "--once", "--after", "60", "--record", str(full), "--listen", "udp://127.0.0.1:0",
                  driver=lambda out: out.port())  # Ctrl-C once it listens: the capture is written as it stops
    assert res.returncode == 1 and "disk full" in res.stderr, res.stderr


def test_internal_error_is_exit_1_naming_the_report(tmp_path: Path) -> None:
    code = ("import sys; import tundra_tui.commands.themes as t\n"
            "def boom(args, cfg): raise ZeroDivisionError('x')\n"
            "t.run = boom\nfrom tundra_tui.commands import main\nsys.exit(main(['themes']))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert res.returncode == 1 and len(res.stderr.splitlines()) == 1, res.stderr
    report = Path(res.stderr.split("report saved to ")[1].strip())
    assert "ZeroDivisionError" in report.read_text()


def test_a_terminal_that_vanished_mid_write_ends_the_screen_not_its_writer() -> None:
    """Textual's output thread dies on a failed write and the app's shutdown then blocks on its queue: the
    driver's output swallows the failure, and the process gets the hang-up that ends the screen."""
    from tundra_tui.ui.run import VanishingOutput

    r, w = os.pipe()
    os.close(r)  # the terminal is gone: writing fails (EPIPE here, EIO on a pty)
    got: list[int] = []
    old = signal.signal(signal.SIGHUP, lambda sig, frame: got.append(sig))
    terminal = os.fdopen(w, "w")
    try:
        out = VanishingOutput(terminal)
        assert out.write("frame" * 10_000) == 50_000 or out.gone
        out.flush()
        assert out.gone and got == [signal.SIGHUP]
        assert out.write("more") == 4 and got == [signal.SIGHUP]  # dropped, and one hang-up only
    finally:
        signal.signal(signal.SIGHUP, old)
        try:
            terminal.close()  # its buffer cannot be flushed anywhere: the fd is closed all the same
        except OSError:
            pass


@pytest.mark.parametrize("fmt", [[], ["--json"]])
def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path: Path, fmt: list[str]) -> None:
    """`tundra stats big.dog | head -1`: exit 0 and nothing on stderr, text or JSON (rich's own answer was
    exit 1, which says "internal error", with no report)."""
    from tundra_tui.capture import CaptureWriter

    cap = tmp_path / "many.dog"
    w = CaptureWriter(cap)
    for i in range(300):  # a table of 300 rows (20 kB of text, 46 kB of JSON): five times what this pipe holds
        w.write(b"m.%d:1|c|#a:%d" % (i, i), 1_700_000_000 * 10**9 + i)
    w.close()
    read, write = os.pipe()
    fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 4096)  # the smallest pipe: a small table overflows it already
    with open(read, "rb", buffering=0) as stdout:
        proc = subprocess.Popen([sys.executable, "-m", "tundra_tui", "stats", str(cap), *fmt], cwd=ROOT,
                                stdout=write, stderr=subprocess.PIPE)
        os.close(write)
        assert proc.stderr is not None
        assert stdout.read(1)
    # the reader is gone before the rest is written
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0 and err == b"", err
