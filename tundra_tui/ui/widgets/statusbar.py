"""The status bar: source, datagrams/s, parse errors, drops, recording, filter, time."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from ...model.snapshot import Dashboard, SessionStatus
from ..alerting import firing_item
from ..fmt import clip, clock, num, rich_colour
from ..statusline import Item, fit_items

RISING_HOLD_S = 5.0  # the Agent's drops stay in the alarm colour this long after they last rose


class StatusBar(Static):
    """One line at the bottom: what the screen is doing, the tap's health, recording, the Agent, the filter."""

    DEFAULT_CSS = "StatusBar { height: 1; background: $panel; color: $foreground; padding: 0 1; }"

    def __init__(self, clock_fn: Callable[[], float] = time.time, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock_fn = clock_fn
        self._last: Text | None = None
        self._agent_drops: int | None = None
        self._agent_rose_at = float("-inf")

    def c(self, var: str) -> str:
        return rich_colour(self.app.theme_variables.get(var, ""))

    def _agent_socket(self, st: SessionStatus, now: float) -> Item | None:
        """The Agent's own socket drops (from /proc), in the alarm colour while they rise."""
        sock = st.dd_agent.socket if st.dd_agent is not None else None
        if not sock:
            return None
        drops = sock["drops"]
        if not drops and st.source.mode != "passive" and not st.source.forward:
            return None  # an Agent beside tundra, not in its path: only worth room once it loses something
        if self._agent_drops is not None and drops > self._agent_drops:
            self._agent_rose_at = now
        self._agent_drops = drops
        rising = now - self._agent_rose_at < RISING_HOLD_S
        return Item(Text(f"agent drop {num(drops)}", style=self.c("alarm") if rising else ""), None, 6)

    def _state(self, st: SessionStatus, paused: bool) -> Item | None:
        """PAUSED, or a replay's ▶ / end of capture: what the screen is doing."""
        rp = st.source.replay
        warn = "reverse " + self.c("warn")
        if rp is None:
            return Item(Text(" PAUSED ", style=warn), Text("❚❚", style=warn), 10) if paused else None
        name = rp.file.rsplit("/", 1)[-1]
        if paused or rp.paused:
            return Item(Text(f"❚❚ PAUSED {name}", style=warn), Text("❚❚", style=warn), 10)
        if rp.position_ns >= rp.end_ns:
            return Item(Text(f"■ end of {name}"), Text("■ end"), 10)
        return Item(Text(f"▶ {name}"), Text("▶"), 10)

    def _source(self, st: SessionStatus) -> Item | None:
        src = st.source
        if src.replay is not None:
            return None
        full = Text(",".join(a.removeprefix("udp://") for a in src.listen))
        if src.mode == "passive":
            full.append(" passive", style=self.c("warn"))
        if src.forward:
            full.append(f" → {src.forward}")
        short = Text(",".join(a.rsplit(":", 1)[-1] for a in src.listen))
        return Item(full, short, 3)

    def _receiver(self, st: SessionStatus) -> Item | None:
        """A receiver process that died: exited for good (alarm: nothing more arrives), or restarted (warn)."""
        words = st.source.receiver.words()
        if words is None:
            return None
        colour, keep = self.c(words.level), 10 if words.level == "alarm" else 7  # down: kept longest
        return Item(Text(words.full, style=colour), Text(words.short, style=colour), keep)

    def show(self, st: SessionStatus, dash: Dashboard, paused: bool) -> None:
        """Repaint from the session status and the dashboard, if anything visible changed.
        Items that do not fit abbreviate, then drop, least important first (ui/statusline.py)."""
        now = self.clock_fn()
        tap = dash.tap
        replay = st.source.replay is not None
        items = [self._state(st, paused), self._source(st), self._receiver(st),
                 firing_item(dash.alerts, self.c("alarm"))]
        age = tap.last_datagram_age_s
        if age is not None and age > dash.rate_window_s:
            stale = self.c("stale")
            items.append(Item(Text(f"last datagram {age:.0f} s ago", style=stale),
                              Text(f"idle {age:.0f}s", style=stale), 8))
        items.append(Item(Text(f"{num(tap.datagrams_per_s)} dg/s"), None, 5))
        errs = tap.errors.metric + tap.errors.event + tap.errors.service_check
        items.append(Item(Text(f"err {num(errs)}", style=self.c("alarm") if errs else ""), None, 6))
        drops = tap.dropped + st.source.forward_dropped
        items.append(Item(Text(f"drop {num(drops)}", style=self.c("alarm") if drops else ""), None, 6))
        items.append(self._agent_socket(st, now))
        if st.redacted_datagrams:
            items.append(Item(Text(f"redacted {num(st.redacted_datagrams)}"), None, 2))
        if st.recording:
            rec = "bold " + self.c("alarm")
            items.append(Item(Text(f"●REC {num(st.recorded)}", style=rec), Text("●REC", style=rec), 9))
        if st.record_error or st.spans_record_error:  # the capture, or its .spans sidecar
            items.append(Item(Text("rec failed", style=self.c("alarm")), None, 9))
        if st.recorder_in_flight:  # neither recorded nor lost: the stuck write decides (record's `in flight`)
            warn = self.c("warn")
            # no shorter form: a bare "in flight N" would read as the .spans sidecar's (beside "spans")
            items.append(Item(Text(f"rec in flight {num(st.recorder_in_flight)}", style=warn), None, 8))
        items.append(Item(Text(clock(dash.as_of if replay else now)), None, 1))  # capture time in a replay
        if st.agent:
            style = self.c("stale") if "not reachable" in st.agent else ""
            short = "agent ✗" if "not reachable" in st.agent else st.agent.split(" (")[0]
            items.append(Item(Text(st.agent, style=style), Text(short, style=style), 7))
        spans = dash.spans
        if st.traces or spans.llm:
            full = Text(f"spans {num(spans.llm)}")
            if spans.forward_errors:
                full.append(f" agent err {num(spans.forward_errors)}", style=self.c("alarm"))
            if st.spans_record_dropped:  # the .spans sidecar's, as the capture's are in "drop"
                full.append(f" drop {num(st.spans_record_dropped)}", style=self.c("alarm"))
            if st.spans_record_in_flight:  # as the capture's "rec in flight"
                full.append(f" in flight {num(st.spans_record_in_flight)}", style=self.c("warn"))
            items.append(Item(full, Text(f"spans {num(spans.llm)}"), 4))
        if st.filter:
            flt = "/" + " ".join(st.filter)
            style = self.c("warn")
            items.append(Item(Text(flt, style=style), Text(clip(flt, 24), style=style), 9))
        out = fit_items([it for it in items if it is not None], max(self.content_size.width, 20))
        if out != self._last:
            self._last = out
            self.update(out)
