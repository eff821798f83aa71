"""The receiver process: a private stop, forwarding before shipping, and counters read before sockets close."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tundra_tui.model.engine import Engine, Mode
from tundra_tui.session import Session
from tundra_tui.sources import Tap, parse_url

from .conftest import run_cli
from .waits import Output, wait_records, wait_until

SYSTEM_PY = "/usr/bin/python3"  # readable by any user, unlike a virtualenv under /root

ATTACKER = r"""
import os, signal, socket, sys
pid, port = int(sys.argv[1]), int(sys.argv[2])
argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = 0
for arg in argv:
    for guess in {arg, arg.split(b"=")[-1]}:
        candidates = [guess]
        try:
            candidates.append(bytes.fromhex(guess.decode()))
        except ValueError:
            pass
        for c in candidates:
            s.sendto(c, ("127.0.0.1", port))
            sent += 1
signalled = 0
for sig in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
    try:
        os.kill(pid, sig)
        signalled += 1
    except PermissionError:
        pass
print(sent, signalled)
"""


def agent_socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("127.0.0.1", 0))
    return s


def flood(port: int, n: int) -> None:
    """n datagrams of 1400 bytes to the tap: more than its pipe and what the pipe thread may keep."""
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"x:1|c|#" + b"t" * 1393
    for _ in range(n):
        sender.sendto(payload, ("127.0.0.1", port))
    sender.close()


def recv_all(s: socket.socket, want: int, timeout: float = 5.0) -> list[bytes]:
    s.settimeout(timeout)
    got = []
    while len(got) < want:
        try:
            got.append(s.recv(65536))
        except TimeoutError:
            break
    return got


@pytest.mark.skipif(not os.path.exists(SYSTEM_PY), reason="needs a system python for the unprivileged user")
def test_an_unprivileged_user_cannot_stop_or_blind_the_tap() -> None:
    agent = agent_socket()
    tap = Tap([parse_url("udp://127.0.0.1:0")], forward=parse_url(f"udp://127.0.0.1:{agent.getsockname()[1]}"))
    tap.start()
    try:
        lst = tap.listeners[0]
        port, pid = lst.address.port, lst._proc.pid
        res = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", SYSTEM_PY, "-c",
                              ATTACKER, str(pid), str(port)], capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stderr
        attack, signalled = map(int, res.stdout.split())
        assert signalled == 0 and attack > 0
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(500):
            sender.sendto(b"after.attack:%d|c" % i, ("127.0.0.1", port))
        sender.close()
        engine = Engine(Mode.DASHBOARD)
        deadline = time.monotonic() + 10
        while tap.status().datagrams < attack + 500 and time.monotonic() < deadline:
            engine.feed(tap.read(0.05))
        alive = lst._proc.poll() is None
        status = tap.status()
    finally:
        tap.stop()
    forwarded = recv_all(agent, attack + 500)
    agent.close()
    assert alive
    assert status.datagrams == attack + 500  # nothing after the attack was ignored...
    assert len(forwarded) == attack + 500 and status.forward_dropped == 0  # ...nor kept from the Agent
    assert forwarded[-1] == b"after.attack:499|c"


def test_the_agent_gets_its_copy_even_if_the_main_process_never_reads() -> None:
    agent = agent_socket()
    tap = Tap([parse_url("udp://127.0.0.1:0")], forward=parse_url(f"udp://127.0.0.1:{agent.getsockname()[1]}"))
    tap.start()
    try:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent = [b"m%d:%d|c\nn:2|g" % (i, i) for i in range(2000)]
        for d in sent:
            sender.sendto(d, ("127.0.0.1", tap.listeners[0].address.port))
        sender.close()
        got = recv_all(agent, len(sent))  # tap.read() is never called
        status = tap.status()
    finally:
        tap.stop()
        agent.close()
    assert got == sent  # identical bytes, in order
    assert status.forward_sent == len(sent) and status.forward_dropped == 0


# A unix Agent as a process of its own, as the real one is: it reads the socket it is handed and writes each
# datagram back length-prefixed. Not a thread of the test's: the receiver gives a unix Agent 50 ms per send to make
# room (forward.Sender.WAIT_S), and a reader thread of the niced, GIL-shared test worker missed that on a loaded
# machine (its sends then dropped for a second: `u11` was followed by `u887`).
UNIX_AGENT = r"""
import socket, struct, sys
sock = socket.socket(fileno=int(sys.argv[1]))
sock.settimeout(30)
out = sys.stdout.buffer
out.write(b"ready\n")
out.flush()
for _ in range(int(sys.argv[2])):
    data = sock.recv(65536)
    out.write(struct.pack("<I", len(data)) + data)
out.flush()
"""


def test_forward_to_a_unix_agent(tmp_path: Path) -> None:
    path = tmp_path / "dsd.socket"
    agent = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    agent.bind(str(path))
    tap = Tap([parse_url("udp://127.0.0.1:0")], forward=parse_url(f"unix://{path}"))
    tap.start()
    sent = [b"u%d:1|c" % i for i in range(2000)]  # far more than a unix queue holds (10 by default)
    # at an Agent's priority, not the worker's (conftest lowers it to 10); `nice` runs it as is where it may not
    reader = subprocess.Popen(["nice", "-n", "-10", sys.executable, "-c", UNIX_AGENT, str(agent.fileno()),
                               str(len(sent))], pass_fds=(agent.fileno(),), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    assert reader.stdout is not None
    try:
        assert reader.stdout.readline() == b"ready\n"  # a reading Agent: the receiver waits for room, not drops
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for d in sent:
            sender.sendto(d, ("127.0.0.1", tap.listeners[0].address.port))
        sender.close()
        raw = reader.stdout.read()
        reader.wait(30)
    finally:
        reader.kill()
        reader.wait()
        reader.stdout.close()
        tap.stop()
        agent.close()
    got = []
    while raw:
        (n,) = struct.unpack_from("<I", raw)
        got.append(raw[4:4 + n])
        raw = raw[4 + n:]
    assert got == sent
    assert tap.status().forward_sent == len(sent)  # still readable after stop


def test_kernel_drops_are_read_before_the_socket_closes(tmp_path: Path) -> None:
    """A stalled receiver and a tiny buffer make the kernel drop; the count must survive stop()."""
    session = Session(Tap([parse_url("udp://127.0.0.1:0")]), Engine(Mode.DASHBOARD), record=tmp_path / "drops.dog")
    session.start()
    tap = session.source
    assert isinstance(tap, Tap)
    lst = tap.listeners[0]
    os.kill(lst._proc.pid, signal.SIGSTOP)
    try:
        lst._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        n = 3000
        for i in range(n):
            sender.sendto(b"d:%d|c" % i, ("127.0.0.1", lst.address.port))
        sender.close()
    finally:
        os.kill(lst._proc.pid, signal.SIGCONT)
    wait_until(lambda: tap.status().datagrams + (tap.kernel_drops() or 0) >= n, "every datagram accounted")
    session.stop()
    status = session.status()
    assert status.source.kernel_drops is not None and status.source.kernel_drops > 0
    assert (status.source.kernel_drops or 0) + status.recorded == n  # every datagram is either recorded or counted


def test_record_forward_counts_what_never_reached_the_agent(tmp_path: Path) -> None:
    out = tmp_path / "fwd.dog"

    def user(err: Output) -> None:
        port = err.port()
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i in range(300):
            sender.sendto(b"f:%d|c" % i, ("127.0.0.1", port))
        sender.close()
        wait_records(out, 300)  # on disk (progress lines are for terminals only)

    res = run_cli("record", str(out), "--listen", "udp://127.0.0.1:0", "--forward",
                  f"unix://{tmp_path}/absent.socket", driver=user)  # then Ctrl-C
    assert res.returncode == 0, res.stderr
    final = res.stderr.rstrip().rsplit("\r", 1)[-1]
    assert "recorded 300" in final and "forwarded 0" in final and "forward drops 300" in final


def test_the_portable_loop_counts_forwards_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where there is no recvmmsg (macOS) the receiver falls back to a plain loop: same counts, same forwarding."""
    from tundra_tui.sources import listener as tap_module

    monkeypatch.setattr(tap_module, "RECEIVER_LOOP", "plain")
    agent = agent_socket()
    tap = Tap([parse_url("udp://127.0.0.1:0")], forward=parse_url(f"udp://127.0.0.1:{agent.getsockname()[1]}"))
    tap.start()
    try:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent = [b"p%d:1|c" % i for i in range(1000)]
        for d in sent:
            sender.sendto(d, ("127.0.0.1", tap.listeners[0].address.port))
        sender.close()
        got = recv_all(agent, len(sent))
        engine = Engine(Mode.STATS)
        wait_until(lambda: engine.feed(tap.read(0.05)) or engine.lines >= len(sent), "every line")
    finally:
        tap.stop()
        agent.close()
    assert got == sent and engine.lines == len(sent)
    assert tap.status().forward_sent == len(sent)


def test_a_tap_nobody_reads_stays_bounded_and_counts_what_it_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest that stops reading costs counted datagrams, never unbounded memory (pipe chunks, receiver backlog)."""
    from tundra_tui.sources import listener as tap_module

    monkeypatch.setattr(tap_module, "MAX_PENDING_BYTES", 64 << 10)
    monkeypatch.setattr(tap_module, "RECEIVER_BACKLOG", 64 << 10)
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.start()
    lst = tap.listeners[0]
    sent = 4000
    try:
        flood(lst.address.port, sent)  # 5.6 MB in all, past 64 KiB + one read + pipe + 64 KiB
        wait_until(lambda: tap.status().queue_dropped > 0, "the receiver refusing batches")
        assert lst.appended - lst.taken <= (64 << 10) + (1 << 20)  # stopped reading at its cap (plus one read)
        got = 0
        def drained() -> bool:
            nonlocal got
            got += len(tap.read(0.05))
            st = tap.status()
            return got + st.queue_dropped + (st.kernel_drops or 0) == sent
        wait_until(drained, "every datagram read or counted")
        status = tap.status()
    finally:
        tap.stop()
    assert 0 < status.queue_dropped < sent and got > 0
