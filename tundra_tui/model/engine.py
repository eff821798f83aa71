"""The ingest engine: packets -> parser -> store + LLM rollups, plus tap counters. No I/O, no UI.

Hot path: a line whose shape (name and everything after its value) was seen before skips the parser: its raw value
bytes are appended to that shape's Slot. Once per second of packet time (when an LLM rollup keeps 1-s series), and at
the end of each batch, pending values are checked and converted in bulk (one `isdigit` over the joined batch,
usually), folded into the store and into the LLM rollups grouped by plan. The first line of each shape, and any value
the bulk check refuses, goes through the full Agent-grammar parser, which counts and samples what is malformed.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter
from typing import Any

from ..capture.runs import Runs, datagrams_holding, runs_of
from ..protocol import BadLine, Context, Event, Metric, Parser, ServiceCheck
from ..protocol.floats import go_float
from .cost import CostSource
from .dashboard import build, stats_of
from .grouping import build_grouping
from .host_parts import FleetPart
from .llm import Groups, LLMRollup, Plan
from .numbers import bounded, digit_floats, digit_sum, fsum
from .redact import Redactor
from .series import Series
from .slot import Slot, group_samples, set_member
from .snapshot import Dashboard, Grouping, SessionStatus, Stats
from .spans import SpanSummary
from .store import DEFAULT_MAX_CONTEXTS, Store, weight_of
from .vocab import Vocabulary
from .watch import Watch

Packet = tuple[int, bytes]
MAX_SLOTS = 50_000  # contexts cached, and shapes (plain and redacted together): a cardinality bomb stays bounded
_RAW = attrgetter("raw")


class Mode(enum.Enum):
    """What an engine keeps: per-context sums for `stats`, or the LLM rollups for the dashboards."""

    STATS = "stats"  # per-context samples, counts and values; no LLM rollup, no 1-s series
    DASHBOARD = "dashboard"  # the LLM rollups (1-s series, plans); contexts only counted


class Engine:
    """Owns all aggregation state. Thread use: one ingest thread feeds; readers take snapshots."""

    def __init__(self, mode: Mode, max_contexts: int = DEFAULT_MAX_CONTEXTS, window: int = 600,
                 vocab: Vocabulary | None = None, pricer: CostSource | None = None,
                 redactor: Redactor | None = None, rate_window: int = 10) -> None:
        self.mode = mode
        self.rate_window = min(rate_window, window)  # seconds the current rates cover
        self.parser, self.store = Parser(), Store(max_contexts)
        self.redactor = redactor or Redactor(enabled=False)
        self.llm = LLMRollup(vocab, pricer, window)
        self.llm_enabled = mode is Mode.DASHBOARD
        self.context_stats = mode is Mode.STATS  # per-context sums: `stats` shows them; dashboards count contexts
        self.filtered: LLMRollup | None = None  # the UI's tag-filtered rollup, fed beside the full one
        self.watch = Watch()  # alerts and budget, on the full rollup and capture time (model/watch.py)
        self._vocab, self._pricer, self.window = vocab, pricer, window
        self.packets = self.bytes = self.events = self.service_checks = 0
        self.bad_values = 0  # non-finite or out-of-range values, counted and never folded
        self.redacted_datagrams = 0  # datagrams with something shown redacted (metrics, events, checks), each once
        self.first_ts_ns = self.last_ts_ns = 0
        self.datagram_series = Series(window)  # datagrams per second of packet time (dg/s survives seeks)
        self._slots: dict[tuple[bytes, bytes], Slot] = {}
        self._red_slots: dict[tuple[bytes, bytes], Slot] = {}  # shapes shown redacted: their lines take _slow_line
        self._by_ctx: dict[tuple[Context, float], Slot] = {}
        self._dirty: list[Slot] = []
        self._sec = 0

    def __getstate__(self) -> dict[str, Any]:
        """Replay checkpoints copy the engine: leave out caches that are rebuilt on demand."""
        self._flush()
        state = self.__dict__.copy()
        state["_slots"], state["_red_slots"], state["_by_ctx"], state["_dirty"] = {}, {}, {}, []
        return state

    # -- ingest ---------------------------------------------------------------------------------
    def feed(self, packets: Sequence[Packet] | Runs) -> None:
        """Ingest a batch of (ts_ns, datagram), or of runs (a source that joins each second's datagrams itself)."""
        runs = packets if isinstance(packets, Runs) else runs_of(packets)
        slots_get = self._slots.get
        dirty = self._dirty
        dirty_append = dirty.append
        slow = self._slow_line
        marked: list[bytes] = []  # lines of the current run with something shown redacted
        mark = marked.append
        lines = npackets = nbytes = 0
        ts = self.last_ts_ns
        cur = self._sec
        per_second = self.llm_enabled or self.filtered is not None  # 1-s series need it; the store alone does not
        try:
            for run in runs:
                ts = run.last_ns
                self.first_ts_ns = self.first_ts_ns or ts
                self.datagram_series.add(ts // 1_000_000_000, run.datagrams)
                if ts // 1_000_000_000 != cur:
                    if dirty and per_second:
                        self._flush()
                    self._sec = cur = ts // 1_000_000_000
                parts = run.lines
                lines += len(parts)  # empty lines are taken back by the slow path
                npackets += run.datagrams
                nbytes += run.nbytes
                for line in parts:
                    head, _, tail = line.partition(b"|")
                    name, _, value = head.partition(b":")
                    slot = slots_get((name, tail))
                    if slot is None:
                        if slow(line, name, value, tail, ts):
                            mark(line)
                        continue
                    raw = slot.raw
                    if not raw:
                        dirty_append(slot)
                    raw.append(value)
                if marked:  # a datagram counts once, however many of its lines were redacted
                    self.redacted_datagrams += datagrams_holding(run, marked)
                    marked.clear()
        finally:
            self.parser.lines += lines
            self.packets += npackets
            self.bytes += nbytes
            self.last_ts_ns = ts
            if dirty:
                self._flush()

    def _slow_line(self, line: bytes, name: bytes, value: bytes, tail: bytes, ts: int, again: bool = False) -> bool:
        """The full parser for a new shape, an event, a check or anything odd (`again`: a line already counted,
        sent back by the value checks); True if something in it is shown redacted."""
        red = self._red_slots.get((name, tail)) if not again else None
        # a known shape shown redacted, with a value the parser would take too: the hot path's work, and marked
        if red is not None and len(value) < 16 and value.isdigit():
            if not red.raw:
                self._dirty.append(red)
            red.raw.append(value)
            return True
        if line[-1:] == b"\r":
            line = line[:-1]
        if not line:
            self.parser.lines -= 1  # empty lines (and a lone "\r") do not count
            return False
        rec = self.parser.parse_line(line)
        if rec is None:
            return False
        if type(rec) is Metric:
            if not rec.values:
                return False
            slot = self._slot_for(rec, (name, tail) if len(rec.values) == 1 and not rec.timestamp else None)
            values = rec.values if slot.is_set else bounded(rec.values, slot.lim)  # type: ignore[arg-type]
            if len(values) != len(rec.values):
                self._count_bad(slot, len(rec.values) - len(values), line)
            if values:
                if not slot.vals:
                    self._dirty.append(slot)  # may already be there: a flush skips a slot with nothing pending
                slot.vals.extend(values)
            return slot.redacted
        if type(rec) is Event:
            self.events += 1
            event = self.redactor.event(rec)
            for rollup in self._rollups(event.tags):
                rollup.add_event(event, ts)
            return event != rec
        if type(rec) is ServiceCheck:
            self.service_checks += 1
            check = self.redactor.check(rec)
            for rollup in self._rollups(check.tags):
                rollup.add_check(check, ts)
            return check != rec
        return False

    def _rollups(self, tags: tuple[str, ...]) -> tuple[LLMRollup, ...]:
        """The LLM rollups a record with these tags belongs to: the full one, and the filtered one if it matches."""
        flt = self.filtered
        return (self.llm, flt) if flt is not None and flt.accepts(tags) else (self.llm,)

    def _slot_for(self, rec: Metric, key: tuple[bytes, bytes] | None) -> Slot:
        ckey = (rec.context, rec.rate)
        slot = self._by_ctx.get(ckey)
        if slot is None:
            store = self.store
            if len(store.contexts) >= store.max_contexts and rec.context not in store.contexts:
                # past the cap: a throwaway slot, not cached, so a cardinality bomb allocates nothing
                # lasting; the LLM rollups still get the samples (their totals count every request)
                return self._new_slot(rec, None)
            if len(self._by_ctx) >= MAX_SLOTS:
                self._flush()
                self._by_ctx.clear()
                self._slots.clear()
                self._red_slots.clear()
            slot = self._by_ctx[ckey] = self._new_slot(rec, key)
        if key is not None:
            if len(self._slots) + len(self._red_slots) >= MAX_SLOTS:  # one budget for both shape caches
                self._slots.clear()  # emptied in place: feed() holds `self._slots.get`
                self._red_slots.clear()
            slots = self._red_slots if slot.redacted else self._slots  # the hot path never meets a redacted shape
            slots[key] = slot
            slot.key = slot.key or key
        return slot

    def _new_slot(self, rec: Metric, key: tuple[bytes, bytes] | None) -> Slot:
        """Where samples of this context go; redaction and planning happen once per shape."""
        ctx = rec.context
        flt = self.filtered
        # redaction is a dozen regex passes: only a context a rollup folds needs its shown form now (the
        # store keeps raw contexts and redacts what it shows; a redacted name is never a vocabulary name)
        if (self.llm_enabled and self.llm.wants(ctx.name)) or (flt is not None and flt.wants(ctx.name)):
            ctx = self.redactor.context(ctx)
        w = weight_of(rec.rate)
        plan = self.llm.plan(ctx, w) if self.llm_enabled else None
        fplan = self.filtered.plan(ctx, w) if self.filtered is not None else None
        # the store keeps raw contexts (redaction must not merge them) and redacts when it shows them
        st = self.store.slot(rec.context)  # registered (and counted against the cap) either way
        redacted = ctx is not rec.context
        if self.context_stats and st is not None:  # `stats` shows every stored context: judged once, as it comes
            redacted = self.redactor.context(rec.context) is not rec.context  # ctx may be redacted already
        return Slot(ctx, w, st if self.context_stats else None, plan, fplan, key, redacted)

    def _convert(self, slot: Slot, raw: list[bytes]) -> list[Any]:
        """Hot-path value bytes as values; what the quick checks refuse goes back through the parser."""
        if all(raw) and (slot.is_set or b"".join(raw).isdigit()):
            return [v.decode("utf-8", "replace") for v in raw] if slot.is_set else digit_floats(raw)
        out: list[Any] = []
        lim = slot.lim
        for v in raw:
            try:
                if slot.is_set:
                    out.append(set_member(v))
                    continue
                x = float(v) if v.isdigit() else go_float(v)
            except ValueError:  # multi-value, malformed or empty: the parser decides, counts and keeps a sample
                name, tail = slot.key or (b"", b"")
                self._slow_line(name + b":" + v + b"|" + tail, name, v, tail, self.last_ts_ns, again=True)
                continue
            if -lim <= x <= lim:
                out.append(x)
            else:
                self._count_bad(slot, 1, self._line_of(slot, v))
        return out

    def _checked(self, slot: Slot, vals: list[float]) -> tuple[list[float], float]:
        """Values and their sum, once a sum that is not finite or past the slot's limit is looked into:
        digit runs too long for a float (`inf`) or past ±lim are counted as bad values and left out."""
        s = fsum(vals)
        if s <= slot.lim:  # the usual case: one comparison (False for NaN and inf)
            return vals, s
        good = bounded(vals, slot.lim)
        if len(good) != len(vals):
            self._count_bad(slot, len(vals) - len(good), self._line_of(slot, b"(out of range)"))
        return good, fsum(good)

    def _count_bad(self, slot: Slot, n: int, line: bytes) -> None:
        """Count `n` bad values of this context (and keep a sample line, as for a malformed one)."""
        self.bad_values += n
        if slot.stats is not None:
            slot.stats.bad += n
        self.parser.bad_lines.append(BadLine("metric", "value not finite or past ±1e100 (not folded)", line[:512]))

    @staticmethod
    def _line_of(slot: Slot, value: bytes) -> bytes:
        if slot.key is None:
            return slot.ctx.name.encode("utf-8", "replace") + b":" + value
        return slot.key[0] + b":" + value + b"|" + slot.key[1]

    def _flush(self) -> None:
        """Fold pending samples into the store and the LLM rollups."""
        ts, sec = self.last_ts_ns, self._sec
        dirty = self._dirty
        groups: Groups = {}
        fgroups: Groups = {}
        pending: dict[Plan, list[Slot]] = {}
        while dirty:  # a value sent back to the parser can make a slot pending again
            batch = dirty[:]
            dirty.clear()
            for slot in batch:
                vals, raw = slot.vals, slot.raw
                if not vals:
                    if not raw:
                        continue
                    if slot.gather is not None:  # sparse traffic then costs per plan, not per context
                        pending.setdefault(slot.gather, []).append(slot)
                        continue
                    if slot.only_sums and (s := digit_sum(raw)) is not None and s <= slot.lim:
                        slot.raw = []  # `stats`: a count and a sum (a gauge: the last value) are all it keeps
                        slot.stats.add(slot.mtype, raw, s, slot.w, ts)  # type: ignore[union-attr]
                        continue
                slot.vals, slot.raw = [], []  # values the parser gives back land in the fresh lists
                if raw:
                    vals += self._convert(slot, raw)
                if not vals:
                    continue
                if slot.is_set:
                    s = 0.0
                else:
                    vals, s = self._checked(slot, vals)
                    if not vals:
                        continue
                if slot.stats is not None:
                    slot.stats.add(slot.mtype, vals, s, slot.w, ts)
                if slot.plan is not None:
                    group_samples(groups, slot.plan, vals, s)
                if slot.fplan is not None:
                    group_samples(fgroups, slot.fplan, vals, s)
            if pending:
                self._fold_pending(pending, groups)
        if groups:
            self.llm.fold_groups(groups, sec)
        if fgroups and self.filtered is not None:
            self.filtered.fold_groups(fgroups, sec)

    def _fold_pending(self, pending: dict[Plan, list[Slot]], groups: Groups) -> None:
        """Raw values gathered per plan: one bulk check per plan, list work in C; a plan whose values fail it
        is done slot by slot, so anything odd still goes to the parser with its own line."""
        for plan, slots in pending.items():
            raws = list(map(_RAW, slots))
            flat = list(chain.from_iterable(raws))
            if all(flat) and b"".join(flat).isdigit():
                vals = digit_floats(flat)
                s = fsum(vals)
                if s <= slots[0].lim:  # slots of one plan share its weight, so its limit
                    deque(map(list.clear, raws), 0)  # emptied in place: each slot keeps its list
                    group_samples(groups, plan, vals, s)
                    continue
            vals = []
            for slot in slots:
                raw, slot.raw = slot.raw, []
                got = self._convert(slot, raw)
                if got:
                    vals += self._checked(slot, got)[0]
            if vals:
                group_samples(groups, plan, vals, fsum(vals))
        pending.clear()

    def close(self) -> None:
        """Release what the rollups hold (a price helper process, when they ask one)."""
        self.llm.pricer.close()

    # -- rollups and snapshots --------------------------------------------------------------------
    def set_filter(self, terms: frozenset[str]) -> None:
        """Show only contexts carrying every `key:value` term (an empty set clears the filter)."""
        self._flush()
        if not terms:
            self.filtered = None
        else:
            rollup = LLMRollup(self._vocab, self._pricer, self.window)
            rollup.tag_filter = terms
            self.filtered = rollup
        self._slots.clear()  # slots carry the old filter's plans
        self._red_slots.clear()
        self._by_ctx.clear()

    @property
    def shown(self) -> LLMRollup:
        """The rollup the screen shows: the filtered one when a filter is set."""
        return self.filtered if self.filtered is not None else self.llm

    @property
    def pricer(self) -> CostSource:
        """Where the rollups get prices."""
        return self.llm.pricer

    @property
    def lines(self) -> int:
        return self.parser.lines

    def stats(self, source: str, top: int | None = None) -> Stats:
        """The `tundra stats --json` document (docs/json.md)."""
        return stats_of(self, source, top)

    def dashboard(self, now_ns: int | None = None, status: SessionStatus | None = None,
                  fleet: FleetPart | None = None, shown: bool = False, spans: SpanSummary | None = None) -> Dashboard:
        """The `--once --json` document (docs/json.md); `shown`: of the filtered rollup, as on screen. The fleet and
        spans sections come from the session's services (empty without them); alerts and budget from `watch`."""
        now = now_ns if now_ns is not None else (self.last_ts_ns or time.time_ns())
        dash = build(self, self.shown if shown else self.llm, now, status, fleet, spans)
        return self.watch.stamp(dash, self.llm, now // 1_000_000_000)

    def grouping(self, now_ns: int, group: str, sort: str) -> Grouping:
        """The grouped rows of the rollup the screen shows, at `now_ns`."""
        return build_grouping(self.shown, now_ns // 1_000_000_000, self.rate_window, group, sort)

