"""The status bar: source, datagrams/s, parse errors, drops, recording, filter, time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.widgets import Static

from ...model.view import View
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

    def _agent_socket(self, out: Text, st: dict[str, Any], now: float) -> None:
        """The Agent's own socket drops (from /proc), in the alarm colour while they rise."""
        sock = (st.get("dd_agent") or {}).get("socket")
        if not sock:
            return
        drops = sock["drops"]
        if not drops and st.get("mode") != "passive" and not st.get("forward"):
            return  # an Agent beside tundra, not in its path: only worth room once it loses something
        if self._agent_drops is not None and drops > self._agent_drops:
            self._agent_rose_at = now
        self._agent_drops = drops
        rising = now - self._agent_rose_at < RISING_HOLD_S
        out.append(" │")
        out.append(f"agent drop {num(drops)}", style=self.c("alarm") if rising else "")

    def show(self, view: View, paused: bool, group: str, sort: str) -> None:
        """Repaint from the view, if anything visible changed."""
        st = view.status
        now = self.clock_fn()
        packets = st.get("packets", 0)
        if self._prev is not None and now > self._prev[0]:
            self.rate = max(packets - self._prev[1], 0) / (now - self._prev[0])  # a seek back lowers it
        self._prev = (now, packets)
        out = Text(no_wrap=True, overflow="ellipsis")
        if paused:
            out.append(" PAUSED ", style="reverse " + self.c("warn"))
            out.append(" ")
        if st.get("kind") == "replay":
            out.append(f"▶ {st['file'].rsplit('/', 1)[-1]}")
        else:
            out.append(",".join(a.removeprefix("udp://") for a in st.get("listen", [])))
            if st.get("mode") == "passive":
                out.append(" passive", style=self.c("warn"))
            if st.get("forward"):
                out.append(f" → {st['forward']}")
        out.append(f" │{num(self.rate)} dg/s")
        errs = sum(view.doc["tap"]["errors"].values())
        out.append(" │")
        out.append(f"err {num(errs)}", style=self.c("alarm") if errs else "")
        drops = view.doc["tap"]["dropped"] + (st.get("forward_dropped") or 0)
        out.append(" │")
        out.append(f"drop {num(drops)}", style=self.c("alarm") if drops else "")
        self._agent_socket(out, st, now)
        if st.get("redactions"):
            out.append(f" │redacted {num(st['redactions'])}")
        if st.get("recording"):
            out.append(" │")
            out.append(f"●REC {num(st.get('recorded', 0))}", style="bold " + self.c("alarm"))
        if st.get("record_error"):
            out.append(" │")
            out.append("rec failed", style=self.c("alarm"))
        out.append(f" │{clock(now)}")
        if st.get("agent"):
            out.append(" │")
            out.append(st["agent"], style=self.c("stale") if "not reachable" in st["agent"] else "")
        if st.get("traces") or view.spans.llm:
            out.append(f" │spans {num(view.spans.llm)}")
            if view.spans.forward_errors:
                out.append(f" agent err {num(view.spans.forward_errors)}", style=self.c("alarm"))
        if st.get("filter"):
            out.append(f" │/{' '.join(st['filter'])}", style=self.c("warn"))
        if out != self._last:
            self._last = out
            self.update(out)
