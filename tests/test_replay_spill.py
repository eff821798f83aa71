"""The replay screen's capture on disk: seek equals play on multi-frame and single-frame captures, and the
private spill file never outlives the replay (exit, Ctrl-C, SIGKILL, an internal error)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import zstandard

import tundra_tui.capture.frames as frames_mod
import tundra_tui.capture.spill as spill_mod
from tundra_tui.capture import CaptureWriter, DogMsg, encode, header, read_capture
from tundra_tui.commands.replay import SAMPLE
from tundra_tui.model import Engine
from tundra_tui.model.engine import Mode
from tundra_tui.session import Session
from tundra_tui.sources import Replay

from .paused_replay import checkpoints_built
from .waits import wait_until

PACKETS = [(m.timestamp, m.payload) for m in read_capture(SAMPLE)]
THINNED = PACKETS[::2]  # the sample's 60 s with half its packets: seeks cost half, the same blocks and checkpoint


def _multi_frame(path: Path, packets: list[tuple[int, bytes]]) -> None:
    w = CaptureWriter(path, flush_s=0)  # tundra's way: a frame per flush (here, per record)
    for ts, p in packets:
        w.write(p, ts)
    w.close()


def _single_frame(path: Path, packets: list[tuple[int, bytes]]) -> None:
    body = b"".join(len(r).to_bytes(4, "little") + r for r in (encode(DogMsg(ts, p)) for ts, p in packets))
    path.write_bytes(zstandard.ZstdCompressor().compress(header() + body + b"\0" * 8))  # the Agent's way: one frame


def _merged(packets: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """`packets` with neighbours swapped here and there, as a merged capture has them: timestamps go back."""
    out = list(packets)
    for i in range(0, len(out) - 1, 47):
        out[i], out[i + 1] = out[i + 1], out[i]
    assert any(a[0] > b[0] for a, b in pairwise(out))
    return out


# Seconds into the sample, sought in this order from the end: back (59, 3, 30, 0), each from a different
# place, and forward (31, 45, 17), so both landings are checked: a private engine rebuilt from the start or a
# checkpoint, and the live engine fed ahead.
OFFSETS_S = (59, 3, 31, 30, 45, 0, 17)
_PLAYS: dict[tuple[int, int], dict[int, tuple[int, Any, Any]]] = {}


def straight_play(packets: list[tuple[int, bytes]], start: int) -> dict[int, tuple[int, Any, Any]]:
    """Per offset in OFFSETS_S: how many packets a straight play has fed when the capture clock passes
    start+offset, and the dashboard's totals and models then. One engine fed in file order, stopping at each
    target in turn (what playing is); made once per packet list, as every writer and mode compares with it."""
    key = (id(packets), start)
    if key not in _PLAYS:
        plays, ref, fed = {}, Engine(Mode.DASHBOARD), 0
        for offset_s in sorted(OFFSETS_S):
            target = start + offset_s * 10**9 + 123
            clock, upto = -(2**63), len(packets)
            for i, p in enumerate(packets):  # every packet until the capture clock passes the target
                clock = max(clock, p[0])
                if clock > target:
                    upto = i
                    break
            ref.feed(packets[fed:upto])
            fed = upto
            doc = ref.dashboard(target).to_json()
            plays[offset_s] = (upto, doc["totals"], doc["models"])
        _PLAYS[key] = plays
    return _PLAYS[key]


@pytest.mark.parametrize(("write", "packets"), [(_multi_frame, THINNED), (_single_frame, THINNED),
                                                (_single_frame, _merged(THINNED))], ids=["multi", "single", "merged"])
def test_seek_equals_play(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, subtests: pytest.Subtests, write,
                          packets) -> None:
    """Seeks back and forth land on the numbers of a straight play to the same point, across many blocks: first
    as soon as the capture is indexed (subtest `fresh`), then again once every checkpoint is built, restored from
    the spill (`checkpointed`). One replay serves both: its index and spill are what the seeks read."""
    monkeypatch.setattr(spill_mod, "BLOCK_PACKETS", 47)  # ~90 blocks from the small capture
    monkeypatch.setattr(frames_mod, "ROW_PACKETS", 47)  # and ~90 rows of frames, indexed in place
    monkeypatch.setattr(frames_mod, "FRAME_PACKETS", 1000)  # the capture in one frame is too big for a row
    path = tmp_path / "c.dog"
    write(path, packets)
    session = Session(Replay(path, speed=1.0, spill_dir=tmp_path), Engine(Mode.DASHBOARD))
    session.start()
    try:
        rp, ctl = session.replay, session.replay_control
        assert rp is not None and ctl is not None
        rp.set_paused(True)
        ctl.jump("end")  # likely asked before the index gets there: it lands when it can
        assert ctl.settle(30) and rp.indexed and rp.position_ns == rp.end_ns
        assert rp.count == len(packets) and len(rp.spill.offsets) > 50
        in_place = write is _multi_frame  # tundra's frames are read where they are; the Agent's one frame spilled
        assert (rp.frames_in_place == len(packets) + 1) if in_place else rp.frames_in_place == 0
        assert set(rp.spill.skips) == ({8, 0} if in_place else {-1})
        assert rp.get(0, rp.count) == packets  # play order is file order
        start = rp.start_ns
        want = straight_play(packets, start)
        for checkpoints in (False, True):
            with subtests.test("checkpointed" if checkpoints else "fresh"):
                if checkpoints:  # every checkpoint built first: seeks restore them from the spill
                    checkpoints_built()
                    assert len(ctl._checkpoints) == 1 and ctl.checkpoint_bytes() > 0  # the sample lasts 60 s: one
                for offset_s in OFFSETS_S:
                    target = start + offset_s * 10**9 + 123
                    ctl.seek(target)
                    assert ctl.settle(10)
                    with session.lock:
                        got = session.engine.dashboard(target).to_json()
                    assert (rp.pos, got["totals"], got["models"]) == want[offset_s]
    finally:
        session.stop()


def _spill_fds(pid: int | str, folder: Path) -> list[str]:
    """Where the process's open files in `folder` point (a spill shows as '... (deleted)')."""
    fds = Path(f"/proc/{pid}/fd")
    out = []
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(folder)):
            out.append(target)
    return out


@pytest.fixture
def one_frame_spills(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled sample is one small zstd frame: too big for a row here, so it is spilled as an Agent's is."""
    monkeypatch.setattr(frames_mod, "FRAME_PACKETS", 1000)


def test_spill_is_private_nameless_and_closed_on_stop(tmp_path: Path, one_frame_spills: None) -> None:
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    rp = Replay(SAMPLE, spill_dir=spill_dir)
    rp.start()
    assert rp.spill is not None and rp.spill.wait_for(2**62, 30)  # indexed to the end
    assert rp.count == len(PACKETS) and rp.indexed and rp.indexed_fraction == 1.0
    assert list(spill_dir.iterdir()) == []  # it never has a name: nothing to find, nothing to leave behind
    (target,) = _spill_fds("self", spill_dir)
    assert target.endswith("(deleted)")
    fd = rp.spill._fd
    assert os.fstat(fd).st_mode & 0o777 == 0o600 and os.fstat(fd).st_size == rp.spill.spilled_bytes > 0
    rp.stop()
    assert _spill_fds("self", spill_dir) == []


@pytest.mark.parametrize("in_place", [False, True], ids=["spilled", "frames"])
def test_spill_goes_on_an_internal_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_place: bool) -> None:
    """A fault while indexing ends the index where it is (the replay plays that, marked truncated); the spill
    and the capture opened for reading in place go when the replay stops."""
    name = "add_row" if in_place else "append"
    real = getattr(spill_mod.Spill, name)

    def broken(self: spill_mod.Spill, *args: object) -> None:
        if self.count:
            raise RuntimeError("boom")
        real(self, *args)

    monkeypatch.setattr(spill_mod, "BLOCK_PACKETS", 100)
    monkeypatch.setattr(frames_mod, "ROW_PACKETS", 100)
    monkeypatch.setattr(frames_mod, "FRAME_PACKETS", 1000)  # the one frame is spilled
    monkeypatch.setattr(spill_mod.Spill, name, broken)
    path = tmp_path / "c.dog"
    (_multi_frame if in_place else _single_frame)(path, PACKETS)
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    rp = Replay(path, spill_dir=spill_dir)
    rp.start()
    assert rp.spill is not None and rp.spill.wait_for(2**62, 30)
    assert rp.index_error == "indexing stopped: boom" and rp.truncated and 0 < rp.count < len(PACKETS)
    assert rp.get(0, rp.count) == PACKETS[: rp.count]
    assert len(_spill_fds("self", spill_dir)) == 1
    assert len(_spill_fds("self", path)) == (1 if in_place else 0)
    rp.stop()
    assert _spill_fds("self", tmp_path) == [] and list(spill_dir.iterdir()) == []


_CHILD = """
import sys
import tundra_tui.capture.frames as frames
from tundra_tui.sources import Replay
frames.FRAME_PACKETS = 1000  # the sample's one frame is spilled
rp = Replay(sys.argv[1], spill_dir=sys.argv[2])
rp.start()
rp.spill.wait_for(2**62)
print(rp.count, flush=True)
sys.stdin.read()
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_spill_goes_on_ctrl_c_and_kill(tmp_path: Path, sig: signal.Signals) -> None:
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    with subprocess.Popen([sys.executable, "-c", _CHILD, str(SAMPLE), str(spill_dir)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        try:
            assert child.stdout is not None
            assert int(child.stdout.readline()) == len(PACKETS)  # spilled and playing
            assert [t.endswith("(deleted)") for t in _spill_fds(child.pid, spill_dir)] == [True]
            child.send_signal(sig)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert child.returncode != 0
    assert list(spill_dir.iterdir()) == []


def test_seeks_coalesce_and_never_block_the_asker(tmp_path: Path) -> None:
    """120 Home/End presses while the engine is busy: each ask returns at once, and only the last lands."""
    session = Session(Replay(SAMPLE, speed=1.0, spill_dir=tmp_path), Engine(Mode.DASHBOARD))
    session.start()
    try:
        rp, ctl = session.replay, session.replay_control
        assert rp is not None and ctl is not None and rp.spill is not None
        rp.set_paused(True)
        assert rp.spill.wait_for(2**62, 30)
        landed: list[int] = []
        real = ctl._land
        ctl._land = lambda ts, **kw: (landed.append(ts), real(ts, **kw))[1]  # type: ignore[method-assign]
        with session.lock:  # the engine is busy: a landing cannot get past this
            for _ in range(60):
                ctl.jump("start")
                ctl.jump("end")  # the asks return: this thread holds the lock they would need
            assert ctl.position_ns == rp.end_ns  # the head already shows where it is going
        assert ctl.settle(30)
        assert len(landed) <= 2 and landed[-1] == rp.end_ns  # the one under way when asked, then the last
        assert rp.position_ns == rp.end_ns and session.engine.packets == len(PACKETS)
    finally:
        session.stop()


async def test_timeline_shows_how_far_the_index_reaches() -> None:
    from textual.app import App

    from tundra_tui.model.snapshot import ReplayPosition, TimelinePart
    from tundra_tui.ui.widgets.timeline import Timeline

    class One(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield Timeline(id="t")

    t0 = 1_700_000_000 * 10**9
    pos = ReplayPosition("c.dog", t0 + 30 * 10**9, t0, t0 + 60 * 10**9, 1.0, False, 10, 20, False, 0)
    async with One().run_test(size=(80, 3)) as pilot:
        timeline = pilot.app.query_one(Timeline)
        timeline.show(TimelinePart(pos, (), indexed=0.25, waiting=True))
        text = timeline._last.plain if timeline._last else ""
        assert "00:30/01:00" in text and "indexing… 25%" in text
        bar = text[1 : text.index("▏")]
        assert bar.count("┄") >= len(bar) * 0.7  # three quarters of the capture not indexed yet
        assert "●" in bar[: len(bar) // 4 + 1]  # the head at the end of the index, a quarter of the way
        timeline.show(TimelinePart(pos, ()))
        text = timeline._last.plain if timeline._last else ""
        assert "indexing" not in text and "┄" not in text


@pytest.mark.parametrize("write", [_multi_frame, _single_frame], ids=["multi", "single"])
def test_refilter_while_playing_equals_a_filtered_play(tmp_path: Path, write) -> None:
    """A new filter rebuilds the engine outside the lock while the replay plays on: once swapped in, it holds
    exactly a filtered straight play of what was fed, and play goes on from there."""
    path = tmp_path / "c.dog"
    write(path, PACKETS)
    session = Session(Replay(path, speed=32.0, spill_dir=tmp_path), Engine(Mode.DASHBOARD))  # ~4,500 packets/s
    session.start()
    try:
        rp, ctl = session.replay, session.replay_control
        assert rp is not None and ctl is not None
        wait_until(lambda: rp.pos > 1000, "a thousand packets played")
        session.set_filter(frozenset({"model:gpt-4o"}))
        assert ctl.settle(30)
        wait_until(lambda: ctl._fed > 2000, "more played after the swap")  # the ingest thread goes on
        with session.lock:
            fed, engine = ctl._fed, session.engine
            at = rp.clock_at(fed - 1)
            got = engine.grouping(at, "model", "requests").rows
        ref = Engine(Mode.DASHBOARD)
        ref.set_filter(frozenset({"model:gpt-4o"}))
        ref.feed(PACKETS[:fed])
        want = ref.grouping(at, "model", "requests").rows
        assert got == want and [r.key for r in got] == ["gpt-4o"] and got[0].requests > 0
    finally:
        session.stop()


PAIRS = 8


async def test_home_end_pairs_coalesce_and_keys_keep_answering(tmp_path: Path) -> None:
    """Home/End pairs pressed in a row while the engine is busy (another thread holds the session lock):
    every key is handled at once (none needs the lock), the head shows the last target, and only the last
    seek lands, with the numbers of a straight play to the end. Eight pairs in one press: 16 seeks asked and
    at most 2 landed is coalescing already (Pilot waits for the app to idle after each key); the 120 asks of
    `test_seeks_coalesce_and_never_block_the_asker` are the volume."""
    from tests.ui_fixtures import make_app

    session = Session(Replay(SAMPLE, speed=1.0, spill_dir=tmp_path), Engine(Mode.DASHBOARD))
    session.start()
    rp, ctl = session.replay, session.replay_control
    assert rp is not None and ctl is not None and rp.spill is not None and rp.spill.wait_for(2**62, 30)
    landed: list[int] = []
    real = ctl._land
    ctl._land = lambda ts, **kw: (landed.append(ts), real(ts, **kw))[1]  # type: ignore[method-assign]
    busy, done = threading.Event(), threading.Event()
    released_by_test: list[bool] = []

    def engine_busy() -> None:  # the lock held as a long ingest would; let go when the test says so
        with session.lock:
            busy.set()
            released_by_test.append(done.wait(60))

    holder = threading.Thread(target=engine_busy)
    try:
        async with make_app(session).run_test(size=(80, 24)) as pilot:
            await pilot.press("space")
            assert rp.paused
            holder.start()
            assert busy.wait(10)
            await pilot.press(*("home", "end") * PAIRS)
            assert ctl.position_ns == rp.end_ns  # the head already shows where it is going
            await pilot.press("space")  # and keys still act at once
            assert not rp.paused
            await pilot.press("space")
            done.set()
            holder.join()
            assert released_by_test == [True]  # the keys all went through while the lock was held
            assert ctl.settle(30)
            assert len(landed) <= 2 and landed[-1] == rp.end_ns  # the one under way when asked, then the last
            assert rp.position_ns == rp.end_ns
            with session.lock:
                assert session.engine.packets == len(PACKETS)
    finally:
        done.set()
        if holder.is_alive():
            holder.join()
        session.stop()
