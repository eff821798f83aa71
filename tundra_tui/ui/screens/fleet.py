"""`f`: this host beside the whole fleet (Datadog API), per model."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ...model.host_parts import FleetModel, FleetPart
from ...model.snapshot import ModelRow
from ..fmt import clock, num, pct, usd

_STATUS_STYLE = {"ok": "green", "off": "grey50", "rate_limited": "yellow", "unauthorized": "red", "error": "red"}


def fleet_table(fleet: FleetPart, models: tuple[ModelRow, ...]) -> Table:
    """Rows per (model, provider): local and fleet requests, errors, tokens and cost."""
    local = {(m.model, m.provider): m for m in models}
    remote: dict[tuple[str, str], FleetModel] = {(m.model, m.provider): m for m in fleet.models}
    table = Table(expand=True, box=None, padding=(0, 1), header_style="bold")
    table.add_column("model", no_wrap=True, overflow="ellipsis", ratio=1)
    for col in ("req here", "fleet", "share", "err%", "tokens", "$ here", "$ fleet"):
        table.add_column(col, justify="right", no_wrap=True)
    def fleet_requests(k: tuple[str, str]) -> float:
        found = remote.get(k)
        return found.requests if found is not None else 0

    for key in sorted(set(local) | set(remote), key=lambda k: -fleet_requests(k)):
        here, there = local.get(key), remote.get(key)
        fr = there.requests if there is not None else 0
        hr = here.requests if here is not None else 0
        err = there.errors / fr if there is not None and fr else 0.0
        tokens = there.input_tokens + there.output_tokens if there is not None else None
        here_cost = "-" if here is None else "…" if here.pricing else usd(here.cost_usd)
        table.add_row(Text(key[0]), num(hr), num(fr) if there else "-",
                      pct(min(hr / fr, 1.0)) if fr else "-", pct(err) if there else "-", num(tokens),
                      here_cost, usd(there.cost_usd) if there else "-")
    return table


class FleetScreen(ModalScreen[None]):
    """Refreshed by the app's tick while it is open."""

    BINDINGS = [Binding("escape,f,q", "dismiss", "Close", id="fleet.close")]
    DEFAULT_CSS = """
    FleetScreen { align: center middle; }
    FleetScreen > Vertical { width: 100%; height: 100%; border: round $primary; background: $surface; padding: 0 1; }
    FleetScreen #fleet-status { height: auto; }
    """

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Fleet (Datadog API) beside this host"
            box.border_subtitle = "f or esc to close"
            yield Static(id="fleet-status")
            yield Static(id="fleet-table")

    def show(self, fleet: FleetPart, models: tuple[ModelRow, ...]) -> None:
        """Repaint from the fleet part and this host's model rows."""
        line = Text()
        line.append(f"fleet: {fleet.status}", style=_STATUS_STYLE.get(fleet.status, ""))
        line.append(f"  window {fleet.window_s // 60} min")
        if fleet.updated:
            line.append(f"  updated {clock(fleet.updated)}")
        if fleet.message:
            line.append(f"  {fleet.message}")
        hint = getattr(self.app, "fleet_key_hint", None)
        if hint:
            line.append(f"  keys: {hint}", style="grey50")  # at most the last 4 characters
        mine = fleet.this_host
        if mine is not None:
            line.append(f"\nthis host ({mine.host}): ")
            if mine.datadog_requests is None or mine.tap_requests is None or mine.start is None or mine.end is None:
                line.append("no whole Datadog points since the tap started yet", style="grey50")
            else:
                dd, tap = mine.datadog_requests, mine.tap_requests
                line.append(f"Datadog {num(dd)} requests, tap {num(tap)}, {clock(mine.start)}-{clock(mine.end)}",
                            style=_STATUS_STYLE["error"] if dd < tap else "")
        self.query_one("#fleet-status", Static).update(line)
        self.query_one("#fleet-table", Static).update(fleet_table(fleet, models))
