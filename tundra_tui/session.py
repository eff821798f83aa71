"""A running session: one Source feeding the Engine on an ingest thread, optionally recording.

Shared by `record`, `stats --listen`, `top` (headless and UI) and `replay`. No Textual here.
The Session keeps ingest, the lock and recording; a replay's play, pause, seek and checkpoints
belong to its ReplayController (replay_control.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from .first_sight import PRICE_WAIT_S as PRICE_WAIT_S  # re-exported: the commands' default
from .first_sight import FirstSight, settled
from .model import Engine
from .model.detail import build_detail
from .model.fleet import host_check
from .model.host_parts import DdAgentPart, FleetPart
from .model.snapshot import Dashboard, Frame, SessionStatus, Stats
from .model.spans import SpanSummary
from .replay_control import ReplayController
from .services.agent import AgentProbe
from .services.expvar import ExpvarPoller
from .services.fleet import FleetPoller
from .services.spanfeed import SpanFeed
from .sources import Replay, Source
from .sources.recorder import Recorder

DATADOG_DELAY_S = 120  # Datadog's newest points are still filling: compare only what is older
FEED_SLICE = 512  # datagrams fed per lock hold: readers (the screen, a snapshot) wait at most this long
FEED_SLACK_S = 1.0  # after the source stopped: how long ingest may go on feeding what it already holds
BEHIND_BYTES = 8 << 20  # recording while this much waits for ingest: batches go to the file only, counted
RECORD_GRACE_S = 10.0  # a recording's stop lets this long for what is in flight (it only has to be written)


class Session:
    """Owns the ingest thread. Readers use `dashboard()`/`frame()`; they never touch the engine unlocked."""

    def __init__(self, source: Source, engine: Engine, record: Path | None = None,
                 clock_ns: Callable[[], int] = time.time_ns, fleet: FleetPoller | None = None,
                 agent: AgentProbe | None = None, record_transform: Callable[[bytes], bytes] | None = None,
                 spans: SpanFeed | None = None, expvar: ExpvarPoller | None = None,
                 record_overwrite: bool = False) -> None:
        self.record_transform = record_transform
        self.spans = spans  # LLM spans (trace port or sidecar): their own source, never in the engine's counts
        self.source = source
        self.fleet = fleet
        self.agent = agent
        self.expvar = expvar
        self.clock_ns = clock_ns
        self.engine = engine
        self.lock = threading.Lock()
        if record and spans is not None:
            spans.check_record(record, record_overwrite)  # refused before the capture is begun: no file touched
        # held: a start that fails (a busy port) must leave an existing FILE as it was, however long it takes
        self.recorder: Recorder | None = (Recorder(record, transform=record_transform, overwrite=record_overwrite,
                                                   hold=True) if record else None)
        self.record_error: str | None = None
        self.last_recording: Recorder | None = None  # the closed one: a writer given up on may count on
        self.filter: frozenset[str] = frozenset()
        self.internal_errors = 0
        self.internal_error_report: Path | None = None
        self.ingest_stopped = False  # the ingest thread ended on an internal error: nothing more is shown
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # a replay is played, paused, sought and re-filtered by its controller; the app talks only to it
        self.replay_control = ReplayController(self, source) if isinstance(source, Replay) else None
        self._closing = False
        self._first_stop = threading.Lock()  # acquired once, never released: which stop() does the stopping
        self._stopped = threading.Event()  # that stop() has finished
        self._started_s: int | None = None  # wall second the source started (live: the fleet check's start)
        self._services_started = False
        self.after_start: list[Callable[[], None]] = []  # run by start_services, in order
        self._sight = FirstSight()  # told when live ingest sees a new model, or a first price
        self.stop_dropped = 0  # datagrams read from the source but not fed because the session was stopping
        self.unparsed = 0  # datagrams recorded but not parsed: ingest was behind, and the recording comes first
        if record:
            source.stop_grace = max(source.stop_grace, RECORD_GRACE_S)
        if record and spans is not None:
            self._record_spans(record, record_overwrite, hold=True)

    @property
    def replay(self) -> Replay | None:
        """The Replay source, if this session plays one (its controller is `replay_control`)."""
        return self.source if isinstance(self.source, Replay) else None

    def start(self, services: bool = True) -> None:
        """Start the source and the ingest thread, and with `services` the rest (start_services)."""
        try:
            self.source.start()
        except BaseException:
            if self.recorder is not None:  # a failed start leaves no file behind
                self.recorder.abandon()
                self.recorder = None
            if self.spans is not None:
                self.spans.abandon_recording()
            raise
        if self.recorder is not None:  # started: the recording may now take its name
            self.recorder.release()
        if self.spans is not None:
            self.spans.release_recording()
        self._started_s = int(self.clock_ns() // 1_000_000_000)
        self._thread = threading.Thread(target=self._run, name="tundra-ingest", daemon=True)
        self._thread.start()
        if services:
            self.start_services()

    def start_services(self) -> None:
        """What the first screen does not need, started once: the fleet poller, the Agent probe and counters, a
        replay's checkpoints and error marks, then `after_start` (the trace port's server, the demo). The screen
        calls this after its first frame, so none of their imports or threads delay it; the rest at start()."""
        if self._services_started or self._closing:
            return
        self._services_started = True
        for extra in (self.fleet, self.agent, self.expvar):
            if extra is not None:
                extra.start()
        if self.replay_control is not None:
            self.replay_control.start()
        for hook in self.after_start:
            hook()

    def _run(self) -> None:
        src, lock, ctl = self.source, self.lock, self.replay_control
        try:
            while not self._stop.is_set():  # after source.stop() a tap is drained, then done
                batch = src.read(0.1)
                if batch:
                    rec = self.recorder
                    if rec is not None:
                        rec.put_many(batch)
                    if self._closing and rec is not None and rec.active:  # quitting while recording: all to the file
                        self.unparsed += len(batch)
                        continue
                    if rec is not None and rec.active and src.backlog() > BEHIND_BYTES:
                        self.unparsed += len(batch)  # parsing would make the receiver drop what the file wants
                        continue
                    if ctl is not None:
                        with lock:
                            ctl.ingest(batch)  # a batch read just before a seek is dropped there
                        continue
                    step = FEED_SLICE if type(batch) is list else len(batch)  # a replay's Runs go whole
                    for i in range(0, len(batch), step):
                        if self._stop.is_set():  # stopped mid-batch: the rest is counted (or was recorded), not fed
                            self.stop_dropped += len(batch) - i if rec is None else 0
                            break
                        with lock:
                            self.feed_locked(batch[i : i + step] if step < len(batch) else batch)
                        self._sight.tell(self.engine.llm.keys)
                elif src.done:
                    break
        except Exception as exc:  # our own bug outside a batch's feed (a decoder, a seek): ingest cannot go on
            self.ingest_stopped = True
            self.report_internal_error(exc, "ingest")
        finally:
            self.finished.set()

    def feed_locked(self, batch: list[tuple[int, bytes]]) -> None:
        """Feed (with the lock held), surviving our own bugs: the tap must outlive any one batch (the report
        says what broke)."""
        try:
            self.engine.feed(batch)
        except Exception as exc:
            self.report_internal_error(exc, "ingest")

    def report_internal_error(self, exc: Exception, where: str) -> None:
        """Count one of our own bugs that the session survived; the first one gets a scrubbed report."""
        self.internal_errors += 1
        if self.internal_errors == 1:
            from .crash import write_report

            self.internal_error_report = write_report(exc, where)

    def wait(self, seconds: float | None = None) -> bool:
        """Wait until the source is exhausted (or `seconds` pass); True if it finished."""
        return self.finished.wait(seconds)

    def resume_ingest(self) -> None:
        """After a replay seek: the ingest thread runs again if it had finished at the end of the capture."""
        self.finished.clear()
        if self._thread is not None and not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="tundra-ingest", daemon=True)
            self._thread.start()

    def replace_engine_locked(self, engine: Engine) -> None:
        """Put `engine` in place (replay seeks and filters; call with the lock held). Readers never keep a
        reference: they read through `dashboard()`, `frame()` and `stats()`, which take the lock."""
        self.engine = engine

    @property
    def stopping(self) -> bool:
        """True once the session is being stopped."""
        return self._stop.is_set()

    def set_filter(self, terms: frozenset[str]) -> None:
        """Filter the display by tags. A replay re-ingests up to its position; live starts from now."""
        self.filter = terms
        if self.replay_control is not None:
            self.replay_control.refilter(terms)
            return
        with self.lock:
            self.engine.set_filter(terms)

    # -- recording ------------------------------------------------------------------------
    def start_recording(self, path: Path, overwrite: bool = False) -> None:
        """Begin recording to `path` (stopping any recording first)."""
        self.stop_recording()
        if self.spans is not None:
            self.spans.check_record(path, overwrite)
        self.recorder = Recorder(path, transform=self.record_transform, overwrite=overwrite)
        if self.spans is not None:
            self._record_spans(path, overwrite)

    def _record_spans(self, path: Path, overwrite: bool, hold: bool = False) -> None:
        """Begin the span sidecar beside the capture just begun; if it cannot be, the capture goes too (no
        temporary file left behind)."""
        assert self.spans is not None
        try:
            self.spans.record(path, overwrite, hold)
        except BaseException:
            if self.recorder is not None:
                self.recorder.abandon()
                self.recorder = None
            raise

    def stop_recording(self) -> Path | None:
        """Close the recording cleanly (trailer written); return its path."""
        rec, self.recorder = self.recorder, None
        if self.spans is not None:
            self.spans.stop_recording()
        if rec is None:
            return None
        rec.close()
        self.last_recording = rec
        if rec.error:
            self.record_error = rec.error
        return rec.path

    # -- reading ----------------------------------------------------------------------------
    def status(self) -> SessionStatus:
        """Source status plus recording facts (packets and lines are filled in with a snapshot)."""
        rec = self.recorder
        if rec is not None and rec.error:
            self.record_error = rec.error
        counted = rec if rec is not None else self.last_recording  # kept past stop: the final line
        recorded = counted.records if counted is not None else 0
        rec_dropped = counted.dropped if counted is not None else 0
        in_flight = counted.in_flight if counted is not None else 0
        report = self.internal_error_report
        traces = self.spans.status() if self.spans is not None else {}
        source = self.source.status()
        return SessionStatus(
            source, self.engine.packets, self.engine.lines,
            recording=str(rec.path) if rec is not None else None, recorded=recorded,
            recorder_dropped=rec_dropped, recorder_in_flight=in_flight, stop_dropped=self.stop_dropped,
            unparsed=self.unparsed,
            record_error=self.record_error,
            filter=tuple(sorted(self.filter)), redacted_datagrams=self.engine.redacted_datagrams,
            internal_errors=self.internal_errors, ingest_stopped=self.ingest_stopped,
            internal_error_report=str(report) if report else None,
            agent=self.agent.state.summary() if self.agent is not None else None,
            traces=traces.get("traces"), traces_forward=traces.get("traces_forward"),
            traces_note=traces.get("traces_note"), spans_record_error=traces.get("spans_record_error"),
            spans_record_dropped=traces.get("spans_record_dropped", 0),
            spans_record_in_flight=traces.get("spans_record_in_flight", 0),
            dd_agent=self._dd_agent(source.agent_socket) if source.kind == "live" else None)

    def _dd_agent(self, sock: dict[str, Any] | None) -> DdAgentPart:
        """The `dd_agent` part: its DogStatsD socket (/proc), its own counters (expvar), its /info facts."""
        info = self.agent.state if self.agent is not None else None
        counters = self.expvar.counters if self.expvar is not None else None
        return DdAgentPart(dict(sock) if sock is not None else None, dict(counters) if counters is not None else None,
                           info.reachable if info else None, info.version if info else None,
                           tuple(info.endpoints) if info else ())

    def span_summary(self) -> SpanSummary:
        """The LLM spans as of the session clock (empty when there is no trace port or sidecar)."""
        if self.spans is None:
            return SpanSummary()
        return self.spans.summary(self.now_ns() if self.replay is not None else None)

    def fleet_part(self) -> FleetPart:
        """The poller's last state (`off` without a poller, no keys); live, with this host's check against the tap."""
        if self.fleet is None:
            return FleetPart()
        fleet = self.fleet.state
        if self.replay is not None or self._started_s is None or fleet.host is None:
            return fleet
        now_s = int(self.clock_ns() // 1_000_000_000)
        with self.lock:  # a short read of one series, no I/O
            series = self.engine.llm.req_series
            since = max(self._started_s + 1, now_s - series.window + 1)
            check = host_check(fleet, since, now_s - DATADOG_DELAY_S, series.total)
        return replace(fleet, this_host=check)

    def data_start_s(self) -> int | None:
        """The second data starts: a replay's capture start, a live session's start, or the first datagram if
        older (traffic fed before start); None before any. Held with the lock (reads the engine)."""
        start = self.replay.start_ns // 1_000_000_000 if self.replay is not None else self._started_s
        first = self.engine.first_ts_ns // 1_000_000_000 if self.engine.first_ts_ns else None
        known = [s for s in (start, first) if s]
        return min(known) if known else None

    def now_ns(self) -> int:
        """The session clock: capture time for a replay, wall time when live."""
        ts = self.source.clock_ns()
        return ts if ts is not None else self.clock_ns()

    def dashboard(self) -> Dashboard:
        """A consistent dashboard (unfiltered: the JSON contract). Models still being priced say so."""
        status, fleet, spans = self.status(), self.fleet_part(), self.span_summary()  # I/O before the lock
        with self.lock:
            return self.engine.dashboard(self.now_ns(), status, fleet, spans=spans)

    def on_first_sight(self, callback: Callable[[], object]) -> None:
        """`callback` (another thread, no lock held; it must not wait) on a new live model or a first price."""
        self._sight.add(callback, self.engine.pricer)

    def settled_dashboard(self, timeout: float = PRICE_WAIT_S) -> Dashboard:
        """The dashboard once the price helper answered for every model, else `prices` "timed_out" (no lock held)."""
        return settled(self.dashboard, lambda: self.engine.pricer, timeout)

    def frame(self, group: str = "model", sort: str = "requests",
              detail: tuple[str, str, int] | None = None) -> Frame:
        """What one screen refresh draws: the filtered dashboard, its grouped rows, the status; with
        `detail` (grouping, key, span in seconds) also that key's detail part."""
        status, fleet, spans = self.status(), self.fleet_part(), self.span_summary()
        part = None
        with self.lock:
            engine = self.engine
            now = self.now_ns()
            status = replace(status, packets=engine.packets, lines=engine.lines)
            dash = engine.dashboard(now, status, fleet, shown=True, spans=spans)
            grouping = engine.grouping(now, group, sort)
            if detail is not None:
                group_of, key, span_s = detail
                part = build_detail(engine.shown, group_of, key, now // 1_000_000_000, span_s,
                                    dash.profiles.switches, dash.alerts_log, spans, self.data_start_s())
        ctl = self.replay_control
        return Frame(dash, grouping, status, ctl.timeline() if ctl is not None else None, part)

    def stats(self, source: str, top: int | None = None) -> Stats:
        """The `stats` document: per-context counts, under the lock."""
        with self.lock:
            return self.engine.stats(source, top)

    def bad_lines(self, n: int = 3) -> list[str]:
        """The last `n` malformed lines, redacted, as `kind: reason: line`."""
        with self.lock:
            bad = list(self.engine.parser.bad_lines)[-n:]
            redact = self.engine.redactor.line
            return [f"{b.kind}: {b.reason}: {redact(b.text)}" for b in bad]

    def drain(self, timeout: float = 10.0) -> None:
        """End the input and let what is in flight land (bounded: what cannot is counted as dropped),
        a fleet request already sent is folded, the Agent's counters are read once (each within `timeout`).
        A snapshot then is final."""
        self._end_ingest()
        for poller in (self.fleet, self.expvar):
            if poller is not None:
                poller.stop(wait=timeout)
        if self.spans is not None:
            self.spans.drain(timeout)

    def _end_ingest(self) -> None:
        """Stop the source (bounded: a tap lets what is in flight land for its stop_grace), let ingest feed what
        it still holds for FEED_SLACK_S (a recording: until written), then end it: what was never fed is
        counted, and every count is final before anyone reads it."""
        self.source.stop()
        if self._thread is not None:
            self._thread.join(timeout=30 if self.recorder is not None else FEED_SLACK_S)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()  # at most one slice more

    def stop(self) -> None:
        """Stop ingesting, close the source and any recording (which first gets every datagram). A stop asked
        meanwhile (a hang-up watchdog, the screen's own end) waits for this one to finish: it returns only once
        the recording has its trailer, so no caller ends the process while it is being written."""
        if not self._first_stop.acquire(blocking=False):
            self._stopped.wait()
            return
        try:
            self._closing = True
            for extra in (self.fleet, self.agent, self.expvar):
                if extra is not None:
                    extra.stop()
            self._end_ingest()
            if self.spans is not None:
                self.spans.stop()  # the trace port first: what it already received is decoded into the sidecar
            self.stop_recording()
            self.engine.close()
        finally:
            self._stopped.set()
