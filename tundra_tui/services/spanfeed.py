"""The spans side of a session: a SpanBook fed live by the trace port or replayed from a `.spans` sidecar,
and the sidecar recorder that keeps the decoded records beside a `.dog` recording."""

from __future__ import annotations

import bisect
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..capture import CaptureError
from ..capture.queued import QueuedWriter
from ..capture.spanfile import SpanFileWriter, has_sidecar, read_spanfile, refuse_existing, sidecar_path
from ..model.spans import SpanBook, SpanSummary
from ..traces import LLMSpan
from .traceproxy import TraceProxy, TraceProxyError

SIDECAR_QUEUE = 100_000  # spans waiting for the sidecar's writer; past this they are dropped, counted and shown


class SpanRecorder(QueuedWriter[tuple[int, LLMSpan]]):
    """Writes (receive time, span) records to a sidecar on a thread of its own, one zstd frame a second."""

    what = "recording spans"

    def __init__(self, path: str | Path, max_queue: int | None = None, overwrite: bool = False,
                 hold: bool = False) -> None:
        self._writer = SpanFileWriter(Path(path), overwrite=overwrite, hold=hold)  # refuses an existing sidecar now
        super().__init__(Path(path), SIDECAR_QUEUE if max_queue is None else max_queue, 1.0, "tundra-record-spans")

    @property
    def records(self) -> int:
        """Items written (each other one put is counted in `dropped`)."""
        return self.written

    def release(self) -> None:
        """The session started: an existing sidecar may be replaced at the next flush."""
        self._writer.hold = False

    def put(self, spans: list[LLMSpan], ts_ns: int) -> None:
        """Queue spans received at `ts_ns`."""
        self.put_many([(ts_ns, s) for s in spans])

    def _write(self, item: tuple[int, LLMSpan]) -> None:
        self._writer.write(item[0], item[1].as_dict())

    def _tick(self) -> None:
        self._writer.flush()

    def _close(self) -> None:
        self._writer.close()

    def _abandon(self) -> None:
        self._writer.abandon()

    def _durable(self) -> int:
        return self._writer.flushed


class SpanFeed:
    """Owns the SpanBook of a session and what fills it: a TraceProxy (live) or sidecar records (replay)."""

    def __init__(self, book: SpanBook, proxy: TraceProxy | None = None,
                 recorded: list[tuple[int, LLMSpan]] | None = None, note: str | None = None) -> None:
        self.book = book
        self.proxy = proxy
        self.note = note  # why there is no trace port, for the status bar
        self.recorder: SpanRecorder | None = None
        self.record_error: str | None = None  # why the last sidecar stopped, kept after it is closed
        self._last: SpanRecorder | None = None  # the last sidecar closed: its counts are kept (a stuck one settles)
        self._recorded = sorted(recorded or [], key=lambda r: r[0])
        self._times = [t for t, _ in self._recorded]
        self._pos = 0
        self._lock = threading.Lock()
        if proxy is not None:
            proxy.on_spans = self._on_spans

    @classmethod
    def from_sidecar(cls, book: SpanBook, capture: str | Path) -> tuple[SpanFeed | None, str | None]:
        """The feed replaying `capture`'s `.spans` sidecar (None when there is none), and a warning if it was cut."""
        path = sidecar_path(capture)
        if not path.exists():
            return None, None
        try:
            lines, truncated = read_spanfile(path)
        except CaptureError as exc:
            return None, f"spans not replayed: {exc}"
        records = [(t, s) for t, raw in lines if (s := LLMSpan.from_dict(raw)) is not None]
        warning = f"{path.name}: ends mid-frame; {len(records)} spans kept" if truncated else None
        return cls(book, recorded=records), warning

    def _on_spans(self, spans: list[LLMSpan], ts_ns: int) -> None:
        rec = self.recorder
        if rec is not None:
            rec.put(spans, ts_ns)

    def record(self, capture: str | Path, overwrite: bool = False, hold: bool = False) -> None:
        """Keep the live spans in `capture`'s sidecar from now on (CaptureExists rather than replace one; with
        `hold`, an existing one is replaced only after `release_recording`)."""
        self.stop_recording()
        if self.proxy is not None and has_sidecar(capture):
            self.recorder = SpanRecorder(sidecar_path(capture), overwrite=overwrite, hold=hold)
            self._last = None

    def release_recording(self) -> None:
        """The session started: the sidecar may replace the one it is to replace."""
        if self.recorder is not None:
            self.recorder.release()

    def check_record(self, capture: str | Path, overwrite: bool = False) -> None:
        """CaptureExists now if `record(capture)` would have to replace a sidecar: before the capture is begun."""
        if self.proxy is not None and has_sidecar(capture):
            refuse_existing(capture, overwrite)

    def abandon_recording(self) -> None:
        """Drop the sidecar being begun (the session never started): no file left behind."""
        rec, self.recorder = self.recorder, None
        if rec is not None:
            rec.abandon()

    def stop_recording(self) -> None:
        """Close the sidecar, if one is being written."""
        rec, self.recorder = self.recorder, None
        if rec is not None:
            rec.close()
            self.record_error = rec.error or self.record_error
            self._last = rec

    def summary(self, now_ns: int | None = None) -> SpanSummary:
        """The book as of now; a replay first takes in the records up to `now_ns` (all of them for None)."""
        if self._recorded:
            with self._lock:  # one replay position at a time: a seek back rebuilds from the start
                end = len(self._times) if now_ns is None else bisect.bisect_right(self._times, now_ns)
                if end < self._pos:
                    self.book.reset()
                    self._pos = 0
                if end > self._pos:
                    batch = [s for _, s in self._recorded[self._pos:end]]
                    self.book.add_spans(batch, received=len(batch))
                    self._pos = end
        dropped, in_flight = self.sidecar_counts()
        summary = self.book.summary()
        return replace(summary, record_dropped=dropped, record_in_flight=in_flight) if dropped or in_flight \
            else summary

    def sidecar_counts(self) -> tuple[int, int]:
        """Of the sidecar (being written, else the last one): the spans it could not keep (its queue full, or it
        had stopped), and those a stuck write given up on holds (in the file only if that write returns)."""
        rec = self.recorder if self.recorder is not None else self._last
        return (rec.dropped, rec.in_flight) if rec is not None else (0, 0)

    def status(self) -> dict[str, Any]:
        """For the status bar: where the trace port is, and its forward errors."""
        st: dict[str, Any] = dict(self.proxy.status()) if self.proxy is not None else {}
        if self.note:
            st["traces_note"] = self.note
        rec = self.recorder
        error = rec.error if rec is not None and rec.error else self.record_error
        if error:
            st["spans_record_error"] = error
        dropped, in_flight = self.sidecar_counts()
        if dropped:
            st["spans_record_dropped"] = dropped
        if in_flight:
            st["spans_record_in_flight"] = in_flight
        return st

    def serve(self) -> None:
        """Answer on the trace port bound at start (TraceProxy.start(serve=False)), from a thread of its own: the
        screen asks after its first frame. If the server cannot start, the port closes and the note says why."""
        proxy = self.proxy
        if proxy is None:
            return

        def run() -> None:
            try:
                proxy.serve()
            except TraceProxyError as exc:
                self.note = f"traces off: {exc}"
                self.proxy = None

        threading.Thread(target=run, name="tundra-traces-start", daemon=True).start()

    def drain(self, timeout: float = 10.0) -> None:
        """Let every body the trace port already received be decoded (a snapshot then holds its spans)."""
        if self.proxy is not None:
            self.proxy.drain(timeout)

    def stop(self) -> None:
        """Close the trace port (decoding what it already received), then the sidecar."""
        if self.proxy is not None:
            self.proxy.stop()
        self.stop_recording()
