"""Replay control: the one place that plays, pauses, seeks and re-filters a capture in the monitor.

The app talks only to `ReplayController`; the Session keeps ingest, the lock and recording. Engine
checkpoints every CHECKPOINT_S of capture time (built by a prescan thread, off the ingest thread) make
a seek anywhere cost at most that much re-ingest. Where the capture's errors are (the timeline's marks)
is found by a byte scan on its own thread, never on the UI's. No Textual here.

Seeks and re-filters run on one seek thread and never read the capture with the session lock held: the
ingest thread is held (the Replay hands out nothing), a private engine is built from a checkpoint or from the
start outside the lock, and only the swap (and the head's new place) happens under it. A forward seek with no
nearer checkpoint feeds the live engine instead, a batch at a time: each batch read unlocked, fed locked.
"""

from __future__ import annotations

import copy
import pickle
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from .model.engine import Engine
from .model.snapshot import TimelinePart
from .model.timeline import error_seconds
from .sources import Replay

if TYPE_CHECKING:
    from .session import Session

CHECKPOINT_S = 30
_END = 2**63 - 1  # "the end", asked before the index knows where it is
MIN_SPEED, MAX_SPEED = 0.125, 64.0


class ReplayController:
    """Owns a session's Replay: checkpoints, prescan, seek, speed, pause and the error marks."""

    def __init__(self, session: Session, replay: Replay) -> None:
        self.session = session
        self.replay = replay
        self._blank = copy.deepcopy(session.engine)  # the empty engine a replay restarts from
        # checkpoint slot (CHECKPOINT_S of capture time) -> (packets fed, where the engine state after them is
        # kept: pickled and compressed in the replay's private spill, so checkpoints cost no memory)
        self._checkpoints: dict[int, tuple[int, tuple[int, int]]] = {}
        self._fed = 0  # packets fed into the session's engine
        self._prescan_gen = 0
        self._errors: tuple[tuple[int, int], ...] | None = None  # (second, error marks), once scanned
        self._asked = threading.Condition()  # guards the seek asked for (`_want`), the seek thread waits on it
        self._want: int | None = None
        self._refilter: frozenset[str] | None = None  # a new filter, applied by the seek thread
        self._landed = threading.Event()
        self._landed.set()
        self._seeker: threading.Thread | None = None

    def start(self) -> None:
        """After the source has loaded: scan for error marks and build checkpoints, each on its own thread."""
        threading.Thread(target=self._scan_errors, name="tundra-error-scan", daemon=True).start()
        self._start_prescan()

    def _scan_errors(self) -> None:
        found = Counter[int]()
        for _, batch in self._follow(8192, lambda: self.session.stopping):  # a block at a time, behind the index
            found.update(error_seconds(batch))
        self._errors = tuple(sorted(found.items()))

    def _follow(self, size: int, stale: Callable[[], bool]) -> Iterator[tuple[int, list[tuple[int, bytes]]]]:
        """(end, packets) in steps of `size` from the start, following the index as it grows, until its end."""
        rp, i = self.replay, 0
        spill = rp.spill
        while spill is not None and not stale():
            if not spill.wait_for(i + 1, 0.5):
                continue
            n = rp.count
            if i >= n:
                return  # complete, and all of it read
            end = min(i + size, n)
            yield end, rp.get(i, end)
            i = end

    # -- what the screen shows ------------------------------------------------------------
    def timeline(self) -> TimelinePart:
        """The head's position and where the errors are (None until the scan is done)."""
        rp = self.replay
        here = rp.position()
        if self._want is not None:  # the head shows where it is going; the numbers follow when it lands
            here = replace(here, position_ns=min(self.position_ns, rp.end_ns))
        return TimelinePart(here, self._errors, rp.indexed_fraction, self.waiting)

    # -- ingest (called by the Session's ingest thread, with the session lock held) ----------------
    def ingest(self, batch: list[tuple[int, bytes]]) -> None:
        """Feed a batch the ingest thread just read, unless a seek since then already placed the engine."""
        rp = self.replay
        if rp.read_generation != rp.generation:
            return
        self.session.feed_locked(batch)
        self._fed = rp.read_end

    # -- control (from the UI thread) -----------------------------------------------------------
    @property
    def paused(self) -> bool:
        """Whether playback is paused."""
        return self.replay.paused

    @property
    def speed(self) -> float | None:
        """Playback speed (None: as fast as possible)."""
        return self.replay.speed

    @property
    def position_ns(self) -> int:
        """Capture time of the head, or where a seek still under way is going."""
        want = self._want
        if want is None:
            return self.replay.position_ns
        rp = self.replay
        return max(want if not rp.indexed else min(want, rp.end_ns), rp.start_ns)

    def toggle_pause(self) -> bool:
        """Pause or resume; the new state."""
        self.replay.set_paused(not self.replay.paused)
        return self.replay.paused

    def scale_speed(self, factor: float) -> float:
        """Multiply the speed (max speed counts as MAX_SPEED), within [MIN_SPEED, MAX_SPEED]; the new speed."""
        speed = max(MIN_SPEED, min(MAX_SPEED, (self.replay.speed or MAX_SPEED) * factor))
        self.replay.set_speed(speed)
        return speed

    def step(self, seconds: int) -> None:
        """Pause, then move `seconds` of capture time."""
        self.replay.set_paused(True)
        self.seek(self.position_ns + seconds * 1_000_000_000)

    def seek_by(self, seconds: int) -> None:
        """Move `seconds` of capture time, playing on if playing."""
        self.seek(self.position_ns + seconds * 1_000_000_000)

    def jump(self, where: str) -> None:
        """To the `start` or the `end` of the capture."""
        rp = self.replay
        self.seek(rp.start_ns - 1 if where == "start" else rp.end_ns if rp.indexed else _END)

    def seek(self, ts_ns: int) -> None:
        """Ask for capture time `ts_ns`. The seek thread lands it (everything up to it ingested, nothing after);
        asks made meanwhile coalesce, only the last counts, and keys keep being answered. Past the index, it
        waits there (the timeline says "indexing… N%") and lands when the index reaches it."""
        with self._asked:
            self._want = ts_ns
            self._ask()

    def _ask(self) -> None:
        """With `_asked` held: wake the seek thread (started on the first ask)."""
        self._landed.clear()
        self._asked.notify()
        if self._seeker is None:
            self._seeker = threading.Thread(target=self._seek_loop, name="tundra-seek", daemon=True)
            self._seeker.start()

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until the last seek asked has landed; whether it has."""
        return self._landed.wait(timeout)

    @property
    def waiting(self) -> bool:
        """A seek waits for the index to reach its target."""
        want = self._want
        return want is not None and not self.replay.indexed and want > self.replay.end_ns

    def _seek_loop(self) -> None:
        rp, session = self.replay, self.session
        while not session.stopping:
            with self._asked:
                self._asked.wait_for(lambda: self._want is not None or self._refilter is not None
                                     or session.stopping, 0.5)
                target, terms = self._want, self._refilter
            if target is None and terms is None:
                continue
            if target is not None and not rp.indexed and target > rp.end_ns and rp.spill is not None:
                rp.spill.wait_for(rp.count + 1, 0.2)  # past the index: look again as it grows, or at a new ask
                continue
            try:  # a landing builds its engine with the new filter too (the old one's checkpoints are gone)
                self._land(target, live=terms is None) if target is not None else self._rebuild()
            except Exception as exc:  # our own bug: this seek is dropped, the screen goes on
                session.report_internal_error(exc, "seek")
            finally:
                if not rp.done:
                    session.resume_ingest()
            with self._asked:
                if self._want == target:
                    self._want = None
                if terms is not None and self._refilter is terms:
                    self._refilter = None
                if self._want is None and self._refilter is None:
                    self._landed.set()
            if terms is not None:
                self._start_prescan()

    def _land(self, ts_ns: int, live: bool = True) -> None:
        """Move to capture time `ts_ns`: everything up to it is ingested, nothing after. The capture is read
        with no lock held; a newer ask abandons this one between batches."""
        rp, session = self.replay, self.session
        asked, ts_ns = ts_ns, min(ts_ns, rp.end_ns)
        target = rp.index_at(ts_ns) if ts_ns >= rp.start_ns else 0
        best = self._best(target)
        with session.lock:
            rp.hold(drop=True)  # the ingest thread stops here; a batch it read before is dropped
            fed = self._fed
        landed = False
        try:
            if live and fed <= target and (best is None or best[0] <= fed):  # ahead, nearer than any checkpoint
                for i in range(fed, target, 4096):
                    if self._want != asked:
                        return  # a newer ask: it starts from here
                    batch = rp.get(i, min(i + 4096, target))
                    with session.lock:
                        session.feed_locked(batch)
                        self._fed = i + len(batch)
                engine = None
            else:
                restored = self._restore(best[1]) if best is not None else None
                engine, start = (restored, best[0]) if best is not None and restored is not None else (
                    self._fresh(), 0)
                for i in range(start, target, 4096):  # a private engine: no lock
                    if self._want != asked:
                        return
                    engine.feed(rp.get(i, min(i + 4096, target)))
            landed = True
            with session.lock:
                if engine is not None:
                    session.replace_engine_locked(engine)
                self._fed = target
                rp.rewind_to(target, ts_ns)
        finally:
            if not landed:  # the head goes back to what the engine holds, and waits for the next ask
                clock = rp.clock_at(self._fed - 1) if self._fed else rp.start_ns - 1
                with session.lock:
                    rp.rewind_to(self._fed, clock)
            rp.release()

    def _rebuild(self) -> None:
        """A new filter: the engine is rebuilt up to the head outside the lock, then swapped in. Paced play
        goes on where it was: the ingest thread catches up whatever time passed meanwhile."""
        rp, session = self.replay, self.session
        with session.lock:
            rp.hold(drop=False)  # the batch the ingest thread may hold is fed; none after it
            fed = self._fed
        try:
            engine = self._fresh()
            start = 0
            while True:
                _feed_range(engine, rp, start, fed)
                with session.lock:
                    if self._fed == fed:
                        session.replace_engine_locked(engine)
                        return
                    start, fed = fed, self._fed  # that one batch: read it outside the lock too
        finally:
            rp.release()

    def _best(self, target: int) -> tuple[int, tuple[int, int]] | None:
        """The checkpoint nearest before packet `target`, if any."""
        return max((cp for cp in list(self._checkpoints.values()) if cp[0] <= target), default=None,
                   key=lambda cp: cp[0])

    def _restore(self, where: tuple[int, int]) -> Engine | None:
        """A checkpoint's engine, read back from the spill (None if the replay is closing). The spill is ours
        alone (nameless, 0600, written by this process), so unpickling it trusts nothing from outside."""
        spill = self.replay.spill
        data = spill.kept(where) if spill is not None else None
        return pickle.loads(data) if data is not None else None

    def checkpoint_bytes(self) -> int:
        """Disk the checkpoints take (compressed) in the spill; they take no memory."""
        spill = self.replay.spill
        return spill.kept_bytes if spill is not None else 0

    def refilter(self, terms: frozenset[str]) -> None:
        """A new tag filter: the seek thread rebuilds the engine up to the head (a replay shows the past
        filtered); `settle` waits for it."""
        with self.session.lock:
            self._checkpoints.clear()
            self._prescan_gen += 1  # a prescan under way keeps none of the old filter's
        with self._asked:
            self._refilter = terms
            self._ask()

    # -- checkpoints ----------------------------------------------------------------------------
    def _fresh(self, terms: frozenset[str] | None = None) -> Engine:
        engine = copy.deepcopy(self._blank)
        engine.set_filter(self.session.filter if terms is None else terms)
        return engine

    def _start_prescan(self) -> None:
        """Build every checkpoint in the background, so a seek anywhere costs < CHECKPOINT_S of ingest."""
        rp = self.replay
        if rp.speed is None or not rp.count:
            return
        self._prescan_gen += 1
        threading.Thread(target=self._prescan, args=(self._prescan_gen,), name="tundra-prescan",
                         daemon=True).start()

    def _prescan(self, gen: int) -> None:
        """The only place checkpoints are made: off the ingest thread, outside the lock while copying."""
        rp, session = self.replay, self.session
        spill = rp.spill
        if spill is None:
            return
        engine = self._fresh()
        next_slot = 1
        for end, batch in self._follow(2048, lambda: gen != self._prescan_gen or session.stopping):
            engine.feed(batch)
            slot = (rp.clock_at(end - 1) - rp.start_ns) // (CHECKPOINT_S * 1_000_000_000)
            if slot >= next_slot:
                where = spill.keep(pickle.dumps(engine, pickle.HIGHEST_PROTOCOL))  # no lock: a private file
                if where is None:
                    return  # the replay is closing
                with session.lock:
                    if gen == self._prescan_gen:
                        self._checkpoints.setdefault(slot, (end, where))
                next_slot = slot + 1
            time.sleep(0)  # let the screen and the player have the GIL between chunks


def _feed_range(engine: Engine, rp: Replay, start: int, end: int, size: int = 4096) -> None:
    """Feed replay packets [start, end) in batches."""
    for i in range(start, end, size):
        engine.feed(rp.get(i, min(i + size, end)))
