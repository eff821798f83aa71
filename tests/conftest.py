"""Shared fixtures: real sockets, a real DogStatsd client, isolated config/data dirs."""

from __future__ import annotations

import faulthandler
import io
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

# Bytecode is written (and read) by every process of the suite, even where PYTHONDONTWRITEBYTECODE is set: with
# it, each xdist worker, and each of the ~150 `tundra`, price-helper and receiver children, compiled every module
# it imported (textual, pydantic, tundra_tui...) and re-did pytest's assertion rewriting of every test module.
# Set before tundra_tui is imported below, so the controller's compile serves the workers it then starts.
if sys.dont_write_bytecode:
    sys.dont_write_bytecode = False
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

from hypothesis import settings

from tundra_tui.commands import main

from .waits import Output, wait_until

ROOT = Path(__file__).resolve().parent.parent


# TUNDRA_LEAKS=1: a full garbage collection after each test, so what a test left unclosed (a socket, a session: a
# ResourceWarning, an error here) fails that test, not whichever one runs when the collector next passes;
# TUNDRA_LEAKS=trace also starts tracemalloc (slow), so the failure says where the object was made. Off by default:
# a full collection with Textual loaded costs about 0.1 s of CPU, over a minute across the suite.
LEAKS = os.environ.get("TUNDRA_LEAKS", "")


def pytest_configure(config: pytest.Config) -> None:
    """An xdist worker runs at the price helper's niceness (services/prices.py lowers the helper's to 10, so a
    screen comes first): two busy workers on two cores would otherwise starve the helper a `--once` waits for."""
    if LEAKS == "trace":
        import tracemalloc

        tracemalloc.start(12)  # this process only: the suite's children do not inherit it
    if os.environ.get("PYTEST_XDIST_WORKER") and os.getpriority(os.PRIO_PROCESS, 0) < 10:
        os.setpriority(os.PRIO_PROCESS, 0, 10)
    if not hasattr(config, "workerinput") and config.getoption("numprocesses", None):
        _FIRST_COLLECTS.hold()


class _FirstCollects:
    """gw0 collects first; the other xdist workers wait for it, then find every test module compiled and
    assertion-rewritten on disk. On a fresh checkout (nothing compiled yet) each worker otherwise did all of
    that itself, at the same moment as the others: about 4 s of CPU each. The controller holds an exclusive
    flock from before the workers start until the first one has collected (or is gone); a waiting worker asks
    for a shared lock on the same file, named in its environment."""

    ENV = "TUNDRA_SUITE_COLLECTED"

    def __init__(self) -> None:
        self.fd: int | None = None

    def hold(self) -> None:
        import fcntl
        import tempfile

        self.fd, path = tempfile.mkstemp(prefix="tundra-collect-", suffix=".lock")
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        os.environ[self.ENV] = path

    def release(self) -> None:
        if self.fd is not None:
            os.unlink(os.environ.pop(self.ENV))
            os.close(self.fd)  # drops the lock: the workers waiting on it go on
            self.fd = None

    @staticmethod
    def wait() -> None:
        path = os.environ.get(_FirstCollects.ENV)
        if path is None or os.environ.get("PYTEST_XDIST_WORKER", "gw0") == "gw0":
            return
        import fcntl

        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # released already (a worker started late)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)  # returns once the controller let go
        finally:
            os.close(fd)


_FIRST_COLLECTS = _FirstCollects()


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """A worker other than gw0 waits for gw0's collection first (see _FirstCollects)."""
    _FirstCollects.wait()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: object, ids: list[str]) -> None:
    _FIRST_COLLECTS.release()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    _FIRST_COLLECTS.release()


def pytest_unconfigure(config: pytest.Config) -> None:
    _FIRST_COLLECTS.release()


if LEAKS:
    @pytest.fixture(autouse=True)
    def collect_leaks() -> Iterator[None]:
        """After the test and its fixtures (set up first, torn down last), find what it left unreachable."""
        import gc

        yield
        gc.collect()


_HOMES = itertools.count()  # this process's test homes, numbered


def _shared_cache(factory: pytest.TempPathFactory) -> Path:
    """One cache dir for the whole run (all workers): the price helper's derived table is learnt once, not by
    every helper of every test (each then loaded genai-prices whole, ~1 s of CPU). Tests of the cache itself,
    or of a helper with no cache, give their own XDG_CACHE_HOME."""
    base = factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "price-cache"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep tests away from the user's config and data dirs: a home of this test's own, made only if something
    is written there (tundra makes the dirs it writes to). Most tests write nothing, and every directory costs
    again when pytest removes old runs at a session's end (about 3 ms each on a disk with online discard)."""
    home = tmp_path_factory.getbasetemp() / "homes" / str(next(_HOMES))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_shared_cache(tmp_path_factory)))
    monkeypatch.delenv("TUNDRA_CONFIG", raising=False)
    for key in ("DD_API_KEY", "DD_APP_KEY", "DD_SITE"):
        monkeypatch.delenv(key, raising=False)
    return home


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run_cli(*args: str, env: dict[str, str | None] | None = None, input: str | None = None,
            timeout: float = 60, cwd: Path = ROOT,
            driver: Callable[[Output], object] | None = None) -> subprocess.CompletedProcess[str]:
    """`tundra ARGS` in this process, as the script runs it but without a Python start-up to pay: its exit
    status (argparse's exits included), stdout and stderr. stdin, stdout and stderr are pipes, not a terminal;
    `env` is set for the call only (None unsets a variable); the command runs in `cwd` (the checkout). What a
    command may change process-wide (signal handlers, cwd, environment) is put back; a thread it leaves
    running fails the call; one still running after `timeout` ends pytest with every thread's traceback
    (a hang must not stall CI). Tests where the process boundary is the point (signals, a terminal, a crash's
    exit code) run the real script: `run_child`, or `waits.Tundra`.

    `driver(stderr)` plays the user while the command runs: it runs on another thread, can wait for what the
    command prints (`stderr.port()`, `stderr.wait_output(...)`), and when it returns the command gets Ctrl-C
    (its SIGINT handler is called; a command without one runs to its end); what the driver raises is raised
    here."""
    assert "_ARGCOMPLETE" not in (env or {}), "argcomplete ends the process it answers from: use run_child"
    out, err = io.StringIO(newline=""), Output()
    saved_env, here = dict(os.environ), os.getcwd()
    saved_signals = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    threads, children = set(threading.enumerate()), _children()
    user: threading.Thread | None = None  # the driver's
    failed: list[BaseException] = []  # what the driver raised
    ended = threading.Event()  # the command returned: no more Ctrl-C
    try:
        for key, value in (env or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        os.chdir(cwd)
        faulthandler.dump_traceback_later(timeout, exit=True)
        if driver is not None:
            user = threading.Thread(target=_drive, args=(driver, err, failed, ended, saved_signals[signal.SIGINT]),
                                    name="run_cli-driver")
            user.start()
        with redirect_stdout(out), redirect_stderr(err), _stdin(input or ""):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse: --help, --version, usage errors
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        ended.set()
        if user is not None:
            user.join(timeout)
        faulthandler.cancel_dump_traceback_later()
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(here)
        for sig, handler in saved_signals.items():
            signal.signal(sig, handler)
    if failed:
        raise failed[0]
    left = [t.name for t in threading.enumerate() if t not in threads and not t.daemon]
    assert not left, f"tundra {' '.join(args)} left threads running: {left}"
    assert _children() <= children, f"tundra {' '.join(args)} left child processes: {_children() - children}"
    return subprocess.CompletedProcess(["tundra", *args], code, out.getvalue(), err.getvalue())


def _drive(driver: Callable[[Output], object], err: Output, failed: list[BaseException],
           ended: threading.Event, before: object) -> None:
    """Run the driver, keep what it raised, then do what Ctrl-C does until the command ends: call the SIGINT
    handler it installed (`before` was there first). Called, not signalled: CPython may run the handler of a
    signal that lands just before the main thread blocks only once that wait is over (a Ctrl-C right after
    `stats --listen` printed its port was handled when --duration ran out). A real signal's way in is what
    the child-process tests (waits.Tundra) check."""
    try:
        driver(err)
    except BaseException as exc:
        failed.append(exc)
    finally:
        while not ended.is_set():
            handler = signal.getsignal(signal.SIGINT)
            if handler is not before and callable(handler):
                handler(signal.SIGINT, None)
            ended.wait(0.05)


def _children() -> set[int]:
    """This process's child processes, from every thread (zombies included: nobody waited for them)."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            found.update(int(pid) for pid in (task / "children").read_text().split())
        except OSError:  # the thread ended meanwhile
            pass
    return found


@contextmanager
def _stdin(text: str) -> Iterator[None]:
    """A pipe holding `text` as stdin (pytest's own stdin may be a terminal under `-s`)."""
    saved = sys.stdin
    sys.stdin = io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved


def run_child(*args: str, timeout: float = 60, env: dict[str, str] | None = None,
              input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `tundra` in a subprocess, as a user would: for tests of what only a real process shows."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "tundra_tui", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=ROOT, input=input)


def _clean_run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`tundra ARGS` with default settings: its own config/data dirs, no keys, whatever the caller's env."""
    drop: dict[str, str | None] = {k: None for k in ("TUNDRA_CONFIG", "DD_API_KEY", "DD_APP_KEY", "DD_SITE")}
    return run_cli(*args, env={**drop, "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data"),
                               "XDG_STATE_HOME": str(home / "state"), "XDG_CACHE_HOME": str(home / "cache")})


# Outputs several tests read: each run costs a start-up (and the demo a wait), so each is made once per session.
@pytest.fixture(scope="session")
def sample_replay_json(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """`tundra replay --sample --once --json` with default settings."""
    return _clean_run(tmp_path_factory.mktemp("sample-home"), "replay", "--sample", "--once", "--json")


@pytest.fixture(scope="session")
def demo_once_json(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """`tundra top --demo --once --after 1.5 --json` with default settings (the demo sends 20 requests/s),
    run while this process holds udp 127.0.0.1:8125 if it can: the demo must pick a free port of its own."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        holder.bind(("127.0.0.1", 8125))
    except OSError:
        pass  # someone (an Agent) already holds it: just as good
    try:
        return _clean_run(tmp_path_factory.mktemp("demo-home"), "top", "--demo", "--once", "--after", "1.5",
                          "--json")
    finally:
        holder.close()


@pytest.fixture(scope="session")
def played() -> Iterator[object]:
    """The bundled sample played whole (`ui_fixtures.replay_session()`), once per worker: for screens and frames
    that only read it (a test that changes the session, its engine or its filter plays its own)."""
    from .ui_fixtures import replay_session

    session = replay_session()
    # The services a first frame starts (the error-mark scan) start here, and are waited for: otherwise the
    # first test on a worker sees a timeline without marks and the later ones with, and the order matters.
    session.start_services()
    ctl = session.replay_control
    assert ctl is not None
    wait_until(lambda: ctl.timeline().errors is not None, "the sample's error marks")
    yield session
    session.stop()


# Fuzz budgets: `everyday` keeps `uv run pytest` fast; .ci/run adds a `thorough` pass over the fuzz and
# soak tests. No deadline: a loaded machine must not turn a slow example into a failure.
settings.register_profile("everyday", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=300, deadline=None)
settings.load_profile("everyday")  # `--hypothesis-profile=thorough` overrides it


def _svg_snapshots() -> None:
    """pytest-textual-snapshot 1.0 names its extension with syrupy<5's attribute; syrupy 7 reads
    `file_extension`, so without this the SVGs would be saved as `.raw`."""
    import pytest_textual_snapshot

    pytest_textual_snapshot.SVGImageExtension.file_extension = "svg"


_svg_snapshots()
