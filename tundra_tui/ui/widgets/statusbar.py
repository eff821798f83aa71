"""The status bar: source, datagrams/s, parse errors, drops, recording, filter, time."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual.widgets import Static

from ...model.snapshot import SessionStatus, TapPart
from ...model.spans import SpanSummary
from ..fmt import clock, num, rich_colour

RISING_HOLD_S = 5.0  # the Agent's drops stay in the alarm colour this long after they last rose


class StatusBar(Static):
    """One line at the bottom; rates come from the change in counters between ticks."""

    DEFAULT_CSS = "StatusBar { height: 1; background: $panel; color: $foreground; padding: 0 1; }"

    def __init__(self, clock_fn: Callable[[], float] = time.time, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock_fn = clock_fn
        self._prev: tuple[float, int] | None = None
        self.rate = 0.0
        self._last: Text | None = None
        self._agent_drops: int | None = None
        self._agent_rose_at = float("-inf")

    def c(self, var: str) -> str:
        return rich_colour(self.app.theme_variables.get(var, ""))

    def _agent_socket(self, out: Text, st: SessionStatus, now: float) -> None:
        """The Agent's own socket drops (from /proc), in the alarm colour while they rise."""
        sock = st.dd_agent.socket if st.dd_agent is not None else None
        if not sock:
            return
        drops = sock["drops"]
        if not drops and st.source.mode != "passive" and not st.source.forward:
            return  # an Agent beside tundra, not in its path: only worth room once it loses something
        if self._agent_drops is not None and drops > self._agent_drops:
            self._agent_rose_at = now
        self._agent_drops = drops
        rising = now - self._agent_rose_at < RISING_HOLD_S
        out.append(" │")
        out.append(f"agent drop {num(drops)}", style=self.c("alarm") if rising else "")

    def show(self, st: SessionStatus, tap: TapPart, spans: SpanSummary, paused: bool) -> None:
        """Repaint from the session status, the tap counters and the spans, if anything visible changed."""
        now = self.clock_fn()
        packets = st.packets
        src = st.source
        if self._prev is not None and now > self._prev[0]:
            self.rate = max(packets - self._prev[1], 0) / (now - self._prev[0])  # a seek back lowers it
        self._prev = (now, packets)
        out = Text(no_wrap=True, overflow="ellipsis")
        if paused:
            out.append(" PAUSED ", style="reverse " + self.c("warn"))
            out.append(" ")
        if src.replay is not None:
            out.append(f"▶ {src.replay.file.rsplit('/', 1)[-1]}")
        else:
            out.append(",".join(a.removeprefix("udp://") for a in src.listen))
            if src.mode == "passive":
                out.append(" passive", style=self.c("warn"))
            if src.forward:
                out.append(f" → {src.forward}")
        out.append(f" │{num(self.rate)} dg/s")
        errs = tap.errors.metric + tap.errors.event + tap.errors.service_check
        out.append(" │")
        out.append(f"err {num(errs)}", style=self.c("alarm") if errs else "")
        drops = tap.dropped + src.forward_dropped
        out.append(" │")
        out.append(f"drop {num(drops)}", style=self.c("alarm") if drops else "")
        self._agent_socket(out, st, now)
        if st.redactions:
            out.append(f" │redacted {num(st.redactions)}")
        if st.recording:
            out.append(" │")
            out.append(f"●REC {num(st.recorded)}", style="bold " + self.c("alarm"))
        if st.record_error:
            out.append(" │")
            out.append("rec failed", style=self.c("alarm"))
        out.append(f" │{clock(now)}")
        if st.agent:
            out.append(" │")
            out.append(st.agent, style=self.c("stale") if "not reachable" in st.agent else "")
        if st.traces or spans.llm:
            out.append(f" │spans {num(spans.llm)}")
            if spans.forward_errors:
                out.append(f" agent err {num(spans.forward_errors)}", style=self.c("alarm"))
        if st.filter:
            out.append(f" │/{' '.join(st.filter)}", style=self.c("warn"))
        if out != self._last:
            self._last = out
            self.update(out)
