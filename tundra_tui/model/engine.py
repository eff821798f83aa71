"""The ingest engine: packets -> parser -> store + LLM view, plus tap counters. No I/O, no UI."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..protocol import Event, Metric, Parser, ServiceCheck
from .cost import Pricer
from .dashboard import build
from .llm import LLMView
from .store import DEFAULT_MAX_CONTEXTS, Store
from .vocab import Vocabulary

Packet = tuple[int, bytes]


class Engine:
    """Owns all aggregation state. Thread use: one ingest thread feeds; readers take snapshots."""

    def __init__(self, max_contexts: int = DEFAULT_MAX_CONTEXTS, window: int = 600,
                 vocab: Vocabulary | None = None, pricer: Pricer | None = None) -> None:
        self.parser = Parser()
        self.store = Store(max_contexts)
        self.llm = LLMView(vocab, pricer, window)
        self.filtered: LLMView | None = None  # the UI's tag-filtered view, fed beside the full one
        self._vocab, self._pricer = vocab, pricer
        self.window = window
        self.packets = 0
        self.bytes = 0
        self.events = 0
        self.service_checks = 0
        self.last_ts_ns = 0

    def feed(self, packets: Iterable[Packet]) -> None:
        """Ingest a batch of (ts_ns, datagram)."""
        parse, store_add = self.parser.parse_packet, self.store.add
        llm = self.llm
        add_metric = llm.add_metric
        flt = self.filtered
        for ts, data in packets:
            self.packets += 1
            self.bytes += len(data)
            for rec in parse(data):
                if type(rec) is Metric:
                    store_add(rec, ts)
                    add_metric(rec, ts)
                    if flt is not None and flt.accepts(rec.context.tags):
                        flt.add_metric(rec, ts)
                elif type(rec) is Event:
                    self.events += 1
                    llm.add_event(rec, ts)
                    if flt is not None and flt.accepts(rec.tags):
                        flt.add_event(rec, ts)
                elif type(rec) is ServiceCheck:
                    self.service_checks += 1
                    llm.add_check(rec, ts)
                    if flt is not None and flt.accepts(rec.tags):
                        flt.add_check(rec, ts)
            self.last_ts_ns = ts

    def set_filter(self, terms: frozenset[str]) -> None:
        """Show only contexts carrying every `key:value` term (an empty set clears the filter)."""
        if not terms:
            self.filtered = None
            return
        view = LLMView(self._vocab, self._pricer, self.window)
        view.tag_filter = terms
        self.filtered = view

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
                "service_checks": self.service_checks, "contexts": self.store.rows(top)}

    def dashboard(self, now_ns: int | None = None, source_status: dict[str, Any] | None = None,
                  llm: LLMView | None = None) -> dict[str, Any]:
        """The `top|replay --once --json` document (see telemetry.md)."""
        now = now_ns if now_ns is not None else (self.last_ts_ns or time.time_ns())
        return build(self, llm or self.llm, now // 1_000_000_000, source_status or {})
