"""The ingest engine: packets -> parser -> store + LLM view, plus tap counters. No I/O, no UI.

Hot path: a line whose shape (name and everything after its value) was seen before skips the
full parser. Its value is checked and appended to that shape's Slot; slots are folded into
the store and the LLM views once per second of packet time and at the end of each batch.
The first line of each shape, and anything unusual, goes through the full Agent-grammar parser.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..protocol import Context, Event, Metric, Parser, ServiceCheck
from ..protocol.floats import go_float
from .cost import Pricer
from .dashboard import build
from .llm import Handler, LLMView, TagMap
from .redact import Redactor
from .store import DEFAULT_MAX_CONTEXTS, ContextStats, Store, weight_of
from .vocab import Vocabulary

Packet = tuple[int, bytes]
MAX_SLOTS = 50_000


class Slot:
    """One line shape: its context, weight, where its samples go, and the samples not yet folded."""

    __slots__ = ("ctx", "fplan", "is_set", "mtype", "plan", "stats", "vals", "w")

    def __init__(self, ctx: Context, w: float, stats: ContextStats | None,
                 plan: tuple[Handler, TagMap] | None,
                 fplan: tuple[Handler, TagMap] | None) -> None:
        self.ctx = ctx
        self.mtype = ctx.mtype
        self.is_set = ctx.mtype == "s"
        self.w = w
        self.stats = stats
        self.plan = plan
        self.fplan = fplan
        self.vals: list[Any] = []


class Engine:
    """Owns all aggregation state. Thread use: one ingest thread feeds; readers take snapshots."""

    def __init__(self, max_contexts: int = DEFAULT_MAX_CONTEXTS, window: int = 600,
                 vocab: Vocabulary | None = None, pricer: Pricer | None = None, llm: bool = True,
                 redactor: Redactor | None = None) -> None:
        self.parser = Parser()
        self.redactor = redactor or Redactor(enabled=False)
        self.store = Store(max_contexts)
        self.llm = LLMView(vocab, pricer, window)
        self.llm_enabled = llm  # `stats` needs no LLM view
        self.filtered: LLMView | None = None  # the UI's tag-filtered view, fed beside the full one
        self._vocab, self._pricer = vocab, pricer
        self.window = window
        self.packets = 0
        self.bytes = 0
        self.events = 0
        self.service_checks = 0
        self.last_ts_ns = 0
        self._slots: dict[tuple[bytes, bytes], Slot] = {}
        self._by_ctx: dict[tuple[Context, float], Slot] = {}
        self._dirty: list[Slot] = []
        self._sec = 0

    def __getstate__(self) -> dict[str, Any]:
        """Replay checkpoints copy the engine: leave out caches that are rebuilt on demand."""
        self._flush()
        state = self.__dict__.copy()
        state["_slots"], state["_by_ctx"], state["_dirty"] = {}, {}, []
        return state

    # -- ingest ---------------------------------------------------------------------------------
    def feed(self, packets: Iterable[Packet]) -> None:
        """Ingest a batch of (ts_ns, datagram)."""
        slots_get = self._slots.get
        dirty = self._dirty
        dirty_append = dirty.append
        slow = self._slow_line
        parser = self.parser
        lines = npackets = nbytes = 0
        ts = self.last_ts_ns
        try:
            for ts, data in packets:
                npackets += 1
                nbytes += len(data)
                sec = ts // 1_000_000_000
                if sec != self._sec:
                    if dirty:
                        self._flush()
                    self._sec = sec
                for line in data.split(b"\n"):
                    if not line:
                        continue
                    lines += 1
                    name, _, rest = line.partition(b":")
                    value, _, tail = rest.partition(b"|")
                    slot = slots_get((name, tail))
                    if slot is None:
                        slow(line, name, tail, ts)
                        continue
                    if slot.is_set:
                        if not value:
                            slow(line, name, tail, ts)  # an empty member is an error: the parser counts it
                            continue
                        v: Any = value.decode("utf-8", "replace")
                    elif value.isdigit():
                        v = value  # plain digits: converted in bulk when the slot is folded
                    else:
                        try:
                            v = go_float(value)
                        except ValueError:
                            slow(line, name, tail, ts)  # multi-value or malformed: the full parser decides
                            continue
                    vals = slot.vals
                    if not vals:
                        dirty_append(slot)
                    vals.append(v)
        finally:
            parser.lines += lines
            self.packets += npackets
            self.bytes += nbytes
            self.last_ts_ns = ts
            if dirty:
                self._flush()

    def _slow_line(self, line: bytes, name: bytes, tail: bytes, ts: int) -> None:
        """The full parser for a new shape, an event, a check or anything odd."""
        if line[-1:] == b"\r":
            line = line[:-1]
            if not line:
                self.parser.lines -= 1  # a lone "\r" is an empty line, and empty lines do not count
                return
        rec = self.parser.parse_line(line)
        if rec is None:
            return
        if type(rec) is Metric:
            if not rec.values:
                return
            slot = self._slot_for(rec, (name, tail) if len(rec.values) == 1 and not rec.timestamp else None)
            vals = slot.vals
            if not vals:
                self._dirty.append(slot)
            vals.extend(rec.values)
        elif type(rec) is Event:
            self.events += 1
            rec = self.redactor.event(rec)
            for view in self._views(rec.tags):
                view.add_event(rec, ts)
        elif type(rec) is ServiceCheck:
            self.service_checks += 1
            rec = self.redactor.check(rec)
            for view in self._views(rec.tags):
                view.add_check(rec, ts)

    def _views(self, tags: tuple[str, ...]) -> tuple[LLMView, ...]:
        """The LLM views a record with these tags belongs to: the full one, and the filtered one if it matches."""
        flt = self.filtered
        return (self.llm, flt) if flt is not None and flt.accepts(tags) else (self.llm,)

    def _slot_for(self, rec: Metric, key: tuple[bytes, bytes] | None) -> Slot:
        ckey = (rec.context, rec.rate)
        slot = self._by_ctx.get(ckey)
        if slot is None:
            store = self.store
            if len(store.contexts) >= store.max_contexts and rec.context not in store.contexts:
                # past the cap: a throwaway slot, not cached, so a cardinality bomb allocates nothing
                # lasting; the LLM views still get the samples (their totals count every request)
                return self._new_slot(rec)
            if len(self._by_ctx) >= MAX_SLOTS:
                self._flush()
                self._by_ctx.clear()
                self._slots.clear()
            slot = self._by_ctx[ckey] = self._new_slot(rec)
        if key is not None:
            if len(self._slots) >= MAX_SLOTS:
                self._slots.clear()
            self._slots[key] = slot
        return slot

    def _new_slot(self, rec: Metric) -> Slot:
        """Where samples of this context go; redaction and planning happen once per shape."""
        ctx = self.redactor.context(rec.context)
        plan = self.llm.plan(ctx) if self.llm_enabled else None
        fplan = self.filtered.plan(ctx) if self.filtered is not None else None
        # the store keeps raw contexts (redaction must not merge them) and redacts when it shows them
        return Slot(ctx, weight_of(rec.rate), self.store.slot(rec.context), plan, fplan)

    def _flush(self) -> None:
        """Fold pending samples into the store and the LLM views."""
        ts, sec = self.last_ts_ns, self._sec
        llm, flt = self.llm, self.filtered
        store = self.store
        for slot in self._dirty:
            vals = slot.vals
            slot.vals = []
            if not slot.is_set:
                vals = list(map(float, vals))  # digits stayed bytes on the hot path; float() takes both
            st = slot.stats
            if st is not None:
                st.add(slot.mtype, vals, slot.w, ts)
            else:
                store.dropped_samples += len(vals)
            if slot.plan is not None:
                llm.fold(slot.plan, vals, slot.w, sec)
            if slot.fplan is not None and flt is not None:
                flt.fold(slot.fplan, vals, slot.w, sec)
        self._dirty.clear()

    # -- views ----------------------------------------------------------------------------------
    def set_filter(self, terms: frozenset[str]) -> None:
        """Show only contexts carrying every `key:value` term (an empty set clears the filter)."""
        self._flush()
        if not terms:
            self.filtered = None
        else:
            view = LLMView(self._vocab, self._pricer, self.window)
            view.tag_filter = terms
            self.filtered = view
        self._slots.clear()  # slots carry the old filter's plans
        self._by_ctx.clear()

    @property
    def display(self) -> LLMView:
        """The view the screen shows: the filtered one when a filter is set."""
        return self.filtered if self.filtered is not None else self.llm

    @property
    def lines(self) -> int:
        return self.parser.lines

    def stats_json(self, source: str, top: int | None = None) -> dict[str, Any]:
        """The `tundra stats --json` document."""
        return {"source": source, "packets": self.packets, "lines": self.lines,
                "errors": dict(self.parser.errors), "events": self.events,
                "service_checks": self.service_checks, "contexts": self.store.rows(top, self.redactor.tags)}

    def dashboard(self, now_ns: int | None = None, source_status: dict[str, Any] | None = None,
                  llm: LLMView | None = None) -> dict[str, Any]:
        """The `top|replay --once --json` document (see telemetry.md)."""
        now = now_ns if now_ns is not None else (self.last_ts_ns or time.time_ns())
        return build(self, llm or self.llm, now // 1_000_000_000, source_status or {})
