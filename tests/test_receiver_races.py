"""The receiver's restart racing the rest: a death as the stop begins, a failed spawn, a stop during a restart,
a pipe thread that outlives the stop. Real receiver processes and sockets; every wait is on an event."""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tundra_tui.sources import Tap, child, listener, parse_url
from tundra_tui.sources.child import ReceiverChild

from .test_receiver import flood
from .test_receiver_death import kill_receiver, receiver_pid
from .waits import wait_until


def test_a_receiver_that_dies_as_the_stop_begins_is_tallied_and_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pipe thread is held (ingest not reading) when the receiver is killed and the stop begins: the end of
    its pipe is seen only while stopping; still its exit is said and every datagram is read or counted."""
    monkeypatch.setattr(listener, "MAX_PENDING_BYTES", 64 << 10)
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.start()
    lst = tap.listeners[0]
    sent, got = 3000, 0
    try:
        flood(lst.address.port, sent)
        wait_until(lambda: lst.counter("received") + (tap.kernel_drops() or 0) == sent, "the socket emptied")
        wait_until(lambda: lst.appended - lst.taken >= listener.MAX_PENDING_BYTES, "the pipe thread held")
        kill_receiver(tap)
        lst.begin_stop()  # before the pipe thread, held, can see the pipe end

        def ended() -> bool:
            nonlocal got
            got += len(tap.read(0.05))
            return not lst._thread.is_alive()

        wait_until(ended, "the pipe thread to reach the end of the pipe")
    finally:
        tap.stop()
    got += len(tap.read(0))
    status = tap.status()
    assert status.receiver.last_exit == "killed by SIGKILL" and status.receiver.restarts == 0
    assert got > 0 and got + status.exit_dropped + status.stop_dropped + (status.kernel_drops or 0) == sent


def open_fds() -> set[str]:
    """This process's open fds (less the one listing them)."""
    return set(os.listdir("/proc/self/fd"))


def free_fds(n: int) -> list[int]:
    """The n lowest fd numbers not open now: the ones the next n new fds take, in order."""
    free: list[int] = []
    fd = 0
    while len(free) < n:
        try:
            os.fstat(fd)
        except OSError:
            free.append(fd)
        fd += 1
    return free


@contextlib.contextmanager
def fd_limit(spare: int) -> Iterator[None]:
    """RLIMIT_NOFILE lowered so that exactly `spare` more fds can be opened (the real EMFILE of a starved
    machine). A new fd takes the lowest free number, and the limit bounds that number: so the limit is the
    number the next fd past `spare` would take (fds open at higher numbers, inherited, stay usable)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (free_fds(spare + 1)[-1], hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.parametrize("spare", [2, 3, 4, 5])
def test_a_receiver_that_cannot_be_started_leaves_no_fd_open(spare: int) -> None:
    """Out of fds at each step of a start (its pipe, counters, mmap, the spawn): EMFILE, and nothing kept."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        before = open_fds()
        with fd_limit(spare), pytest.raises(OSError) as exc:
            ReceiverChild(sock.fileno(), [], "udp://127.0.0.1:0")
        assert exc.value.errno == errno.EMFILE and open_fds() == before
    finally:
        sock.close()


@pytest.fixture
def receivers(monkeypatch: pytest.MonkeyPatch) -> list[ReceiverChild | None]:
    """Every receiver start the listeners try from now on, in order: the receiver, or None for a start that
    failed (out of fds, or it never said "ready")."""
    tried: list[ReceiverChild | None] = []
    real = listener.ReceiverChild

    def start(*args: Any) -> ReceiverChild:
        tried.append(None)
        tried[-1] = child = real(*args)
        return child

    monkeypatch.setattr(listener, "ReceiverChild", start)
    return tried


def test_a_failed_restart_counts_against_the_limit_and_does_not_end_the_listener_early(
        receivers: list[ReceiverChild | None]) -> None:
    """A receiver killed while fds run out: each start that fails is one of the minute's tries, not the end."""
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.start()
    lst = tap.listeners[0]
    try:
        with fd_limit(0):  # the dead receiver's 3 fds come back: still too few for a new one's
            kill_receiver(tap)
            wait_until(lambda: lst.down, "the listener to give up")
        assert receivers[1:] == [None] * listener.RESTARTS_PER_MINUTE and lst.restarts == 0  # each tried, failed
        assert tap.status().receiver.last_exit == "killed by SIGKILL"
    finally:
        tap.stop()


@pytest.fixture
def receivers_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it, and every receiver started from then on stops itself (SIGSTOP) before it can say "ready": a start
    that hangs, as under a swap storm. The receivers are real; only their Python's site hook differs."""
    (tmp_path / "sitecustomize.py").write_text(
        "import os, signal, sys\n"
        "if sys.argv and sys.argv[0].endswith('receiver.py'):\n"
        "    os.kill(os.getpid(), signal.SIGSTOP)\n")
    return lambda: monkeypatch.setenv("PYTHONPATH", str(tmp_path))


def no_receiver_left() -> bool:
    return receiver_pid(os.getpid()) is None


def test_a_restart_that_hangs_before_ready_is_killed_and_counted(receivers_hang: Callable[[], None],
                                                                 receivers: list[ReceiverChild | None],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.start()
    lst = tap.listeners[0]
    try:
        receivers_hang()
        monkeypatch.setattr(child, "READY_TIMEOUT_S", 0.0)  # (the hang is for good: no need to wait it out)
        kill_receiver(tap)
        wait_until(lambda: lst.down, "the listener to give up")
        assert len(receivers) == 1 + listener.RESTARTS_PER_MINUTE and lst.restarts == 0  # each restart tried
        assert tap.status().receiver.last_exit == "killed by SIGKILL" and no_receiver_left()
    finally:
        tap.stop()


def test_a_stop_during_a_restart_that_hangs_leaves_no_receiver_and_frees_the_port(
        receivers_hang: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> None:
    """The stop gives up on the receiver being started (it never says "ready"): that one is killed, not only the
    one that died; none is left holding the socket, so the port can be bound again."""
    monkeypatch.setattr(listener, "KILL_GRACE_S", 0.0)
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.stop_grace = 0.0
    tap.start()
    lst = tap.listeners[0]
    port = lst.address.port
    try:
        receivers_hang()
        dead = kill_receiver(tap)
        hung = wait_until(lambda: receiver_pid(os.getpid(), dead), "the restart to be spawned")
        wait_until(lambda: Path(f"/proc/{hung}/stat").read_text().split(") ")[1][0] == "T", "the restart to hang")
    finally:
        tap.stop()
    wait_until(lambda: not lst._thread.is_alive(), "the pipe thread to end")
    assert no_receiver_left() and not lst.down and lst.restarts == 0
    again = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    again.bind(("127.0.0.1", port))  # free: no receiver kept the socket
    again.close()


def test_a_pipe_thread_that_outlives_the_stop_keeps_its_fd_until_it_ends(monkeypatch: pytest.MonkeyPatch,
                                                                          receivers: list[ReceiverChild | None]
                                                                          ) -> None:
    """Something else holds the receiver's pipe open (here the test, through /proc), so its reader sees no end
    when the receiver dies and outlives the stop: its fd stays its own (closed under it, the number could be
    reused and another file read as the receiver's) until it reads the end and closes it itself."""
    monkeypatch.setattr(listener, "KILL_GRACE_S", 0.0)
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.stop_grace = 0.0
    tap.start()
    lst = tap.listeners[0]
    (child,) = receivers
    assert child is not None
    fd = child.pipe.fileno()  # the read end, the pipe thread's
    pipe = os.fstat(fd).st_ino
    pid = child.proc.pid
    w = next(a for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a.startswith(b"pipe="))
    hold = os.open(f"/proc/{pid}/fd/{int(w[5:])}", os.O_WRONLY)  # the receiver's write end, opened again
    try:
        kill_receiver(tap)
        tap.stop()
        assert lst._thread.is_alive() and same_pipe(fd, pipe)  # still the reader's, still its pipe
    finally:
        os.close(hold)
    wait_until(lambda: not lst._thread.is_alive(), "the reader to see the end of its pipe")
    assert not same_pipe(fd, pipe) and no_receiver_left()


def same_pipe(fd: int, inode: int) -> bool:
    """fd is open on the pipe `inode` (not closed, nor reused for another file)."""
    try:
        return os.fstat(fd).st_ino == inode
    except OSError:
        return False
