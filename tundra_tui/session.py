"""A running session: one Source feeding the Engine on an ingest thread, optionally recording.

Shared by `record`, `stats --listen`, `top` (headless and UI) and `replay`. No Textual here.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from .model import Engine
from .sources import Replay, Source
from .sources.recorder import Recorder


class Session:
    """Owns the ingest thread. Readers call `snapshot()`; they never touch the engine unlocked."""

    def __init__(self, source: Source, engine: Engine, record: Path | None = None) -> None:
        self.source = source
        self.engine = engine
        self.lock = threading.Lock()
        self.recorder: Recorder | None = Recorder(record) if record else None
        self.record_error: str | None = None
        self.last_recording: tuple[str, int] | None = None  # (path, records) of the closed recording
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.finished = threading.Event()

    def start(self) -> None:
        """Start the source and the ingest thread."""
        self.source.start()
        self._thread = threading.Thread(target=self._run, name="tundra-ingest", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        src, feed, lock = self.source, self.engine.feed, self.lock
        try:
            while not self._stop.is_set():  # after source.stop() a tap is drained, then done
                batch = src.read(0.1)
                if batch:
                    rec = self.recorder
                    if rec is not None:
                        rec.put_many(batch)
                    with lock:
                        feed(batch)
                elif src.done:
                    break
        finally:
            self.finished.set()

    def wait(self, seconds: float | None = None) -> bool:
        """Wait until the source is exhausted (or `seconds` pass); True if it finished."""
        return self.finished.wait(seconds)

    def start_recording(self, path: Path) -> None:
        """Begin recording to `path` (stopping any recording first)."""
        self.stop_recording()
        self.recorder = Recorder(path)

    def stop_recording(self) -> Path | None:
        """Close the recording cleanly (trailer written); return its path."""
        rec, self.recorder = self.recorder, None
        if rec is None:
            return None
        rec.close()
        self.last_recording = (str(rec.path), rec.records)
        if rec.error:
            self.record_error = rec.error
        return rec.path

    def status(self) -> dict[str, Any]:
        """Source status plus recording facts."""
        st = dict(self.source.status())
        rec = self.recorder
        if rec is not None:
            if rec.error:
                self.record_error = rec.error
            st.update(recording=str(rec.path), recorded=rec.records, recorder_dropped=rec.dropped)
        elif self.last_recording is not None:
            st["recorded"] = self.last_recording[1]
        st["record_error"] = self.record_error
        return st

    def now_ns(self) -> int:
        """The session clock: capture time for a replay, wall time when live."""
        if isinstance(self.source, Replay):
            return self.source.position_ns if self.source.speed is not None else self.engine.last_ts_ns
        return time.time_ns()

    def snapshot(self) -> dict[str, Any]:
        """A consistent dashboard document."""
        status = self.status()
        with self.lock:
            return self.engine.dashboard(self.now_ns(), status)

    def stop(self) -> None:
        """Stop ingesting, close the source and any recording."""
        self.source.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._stop.set()
        self.stop_recording()
