"""A flood from a hostile neighbour: memory stays bounded, a stop ends in bounded time, and every datagram
sent is accounted for (ingested, or counted as dropped by the kernel, the receiver's backlog or the stop).

The fast tests stop a tap with datagrams in flight; the soak test floods a real `tundra stats --listen` with
unique metric names from tests/apps/flood.py, in a child whose address space is capped with `resource`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tundra_tui.capture import CaptureReader
from tundra_tui.model.engine import Engine, Mode
from tundra_tui.session import Session
from tundra_tui.sources import Tap, listener, parse_url

from .waits import ROOT

FLOOD = ROOT / "tests" / "apps" / "flood.py"


def flood(port: int, seconds: float) -> int:
    """Run the flood sender at 127.0.0.1:port for `seconds`; how many datagrams it sent."""
    done = subprocess.run([sys.executable, str(FLOOD), str(port), str(seconds)], capture_output=True, text=True,
                          check=True)
    return int(done.stdout.split()[1])


def _send(port: int, n: int, pad: int = 0) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        s.sendto(b"flood.u%d:1|c|#id:%d" % (i, i) + b"x" * pad, ("127.0.0.1", port))
    s.close()


def _read_all(tap: Tap) -> int:
    got = 0
    while not tap.done:
        got += len(tap.read(0.05))
    return got


def _accounted(tap: Tap) -> int:
    st = tap.status()
    return st.datagrams + st.stop_dropped + st.queue_dropped + (st.kernel_drops or 0)


def test_a_stop_with_everything_in_flight_keeps_it_for_reading_and_counts_what_is_not() -> None:
    """Stopped before anyone read: what was in flight waits (bounded) for reads after the stop, and at every
    moment what was unpacked plus what was counted is every datagram sent."""
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.stop_grace = 0.0
    tap.start()
    lst = tap.listeners[0]
    n = 3000
    os.kill(lst._proc.pid, signal.SIGSTOP)  # the datagrams wait in the kernel's queue
    try:
        _send(lst.address.port, n)
    finally:
        os.kill(lst._proc.pid, signal.SIGCONT)
    tap.stop()
    assert tap.status().datagrams == 0 and _accounted(tap) == n
    got = _read_all(tap)
    assert got == tap.status().datagrams and _accounted(tap) == n


def test_past_the_stop_deadline_the_rest_is_thrown_away_and_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """More in flight than ingest may hold and no time left: the rest goes, counted as stop_dropped."""
    from tundra_tui.sources import listener

    monkeypatch.setattr(listener, "MAX_PENDING_BYTES", 64 << 10)
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.stop_grace = 0.0
    tap.start()
    lst = tap.listeners[0]
    n = 4000
    os.kill(lst._proc.pid, signal.SIGSTOP)
    try:
        _send(lst.address.port, n, pad=1400)  # 5.6 MB: past 64 KiB + a read + the pipe
    finally:
        os.kill(lst._proc.pid, signal.SIGCONT)
    tap.stop()
    got = _read_all(tap)
    st = tap.status()
    assert got == st.datagrams < n and st.stop_dropped > 0
    assert _accounted(tap) == n


def test_what_is_left_in_the_socket_at_close_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A receiver that is gone (and not restarted) leaves datagrams in the socket's queue: close counts them."""
    monkeypatch.setattr(listener, "RESTARTS_PER_MINUTE", 0)
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.start()
    lst = tap.listeners[0]
    lst._proc.kill()
    lst._proc.wait()
    n = 500
    _send(lst.address.port, n)
    tap.stop()
    st = tap.status()
    assert st.datagrams == 0 and lst.left == n and st.stop_dropped == n and tap.done


def test_a_session_stopped_mid_flood_adds_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest slower than the sender: after stop, packets fed + every drop == datagrams sent, exactly."""
    from tundra_tui import session as session_module

    monkeypatch.setattr(session_module, "FEED_SLACK_S", 0.2)  # ingest's slack after the stop: still far behind
    engine = Engine(Mode.STATS)
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.stop_grace = 0.05
    session = Session(tap, engine)
    session.start()
    port = tap.listeners[0].address.port
    sent = flood(port, 0.25)  # a quarter second of unique names already outruns ingest
    session.stop()
    status = session.status()
    assert status.packets == engine.packets
    assert engine.packets + status.dropped == sent, (engine.packets, status)
    assert engine.packets < sent  # unique names, 25 a datagram: ingest cannot keep up, and says so


def test_a_recording_under_a_flood_keeps_every_datagram_parsing_what_it_can(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest far behind while recording: batches go to the file only (counted as not parsed), so the
    receiver never drops what the recording wants; sent == recorded + dropped, each recorded one unparsed."""
    from tundra_tui import session as session_module

    monkeypatch.setattr(session_module, "BEHIND_BYTES", -1)  # always "behind": every batch is file-only
    engine = Engine(Mode.DASHBOARD)
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    session = Session(tap, engine, record=tmp_path / "flood.dog")
    session.start()
    port = tap.listeners[0].address.port
    sent = flood(port, 0.25)
    session.stop()
    status = session.status()
    assert status.recorded == status.source.datagrams and sent == status.recorded + status.dropped
    assert engine.packets == 0 and status.unparsed == status.recorded > 0
    assert sum(1 for _ in CaptureReader(tmp_path / "flood.dog")) == status.recorded


def _hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0


@pytest.mark.soak
def test_stats_listen_under_a_unique_name_flood_is_bounded_and_adds_up(tmp_path: Path) -> None:
    """`stats --listen` flooded with unique names: within 768 MiB of address space (a 1 GB growth once),
    ends soon after --duration, and packets + dropped == datagrams sent."""
    limit = 768 << 20
    launcher = (f"import os, resource, sys; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
                f"resource.setrlimit(resource.RLIMIT_CPU, (120, 120)); "
                f"os.execv(sys.executable, [sys.executable, '-m', 'tundra_tui', *sys.argv[1:]])")
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_DATA_HOME=str(tmp_path / "d"))
    proc = subprocess.Popen([sys.executable, "-c", launcher, "stats", "--listen", "udp://127.0.0.1:0",
                             "--duration", "6", "--json"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def watch() -> None:  # VmHWM is monotonic: the last reading before exit is the peak
        while not done.is_set():
            peak[0] = max(peak[0], _hwm_kib(proc.pid))
            done.wait(0.02)

    try:
        assert proc.stderr is not None and proc.stdout is not None
        port = None
        for line in proc.stderr:
            found = re.search(r"listening on udp://[^ ]*:(\d+)", line)
            if found:
                port = int(found.group(1))
                break
        assert port is not None, "tundra never listened"
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        sent = flood(port, 4)
        out = proc.stdout.read()
        err = proc.stderr.read()
        # 6 s of listening, the 2 s stop grace and a slice: a run past this is a hang, not a slow machine
        assert proc.wait(timeout=60) == 0, err
    finally:
        done.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    doc = json.loads(out)
    assert doc["packets"] + doc.get("dropped", 0) == sent, (doc["packets"], doc.get("dropped"), sent)
    assert doc["packets"] > 0 and doc.get("dropped", 0) > 0
    assert peak[0] < 450 << 10, f"peak RSS {peak[0] >> 10} MiB"
