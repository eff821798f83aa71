"""`f`: this host beside the whole fleet (Datadog API), per model."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ...model.view import View
from ..fmt import clock, num, pct, usd

_STATUS_STYLE = {"ok": "green", "off": "grey50", "rate_limited": "yellow", "unauthorized": "red", "error": "red"}


def fleet_table(view: View) -> Table:
    """Rows per (model, provider): local and fleet requests, errors, tokens and cost."""
    fleet = view.doc.get("fleet") or {}
    local = {(m["model"], m["provider"]): m for m in view.doc["models"]}
    remote = {(m["model"], m["provider"]): m for m in fleet.get("models", [])}
    table = Table(expand=True, box=None, padding=(0, 1), header_style="bold")
    table.add_column("model", no_wrap=True, overflow="ellipsis", ratio=1)
    for col in ("req here", "fleet", "share", "err%", "tokens", "$ here", "$ fleet"):
        table.add_column(col, justify="right", no_wrap=True)
    keys = sorted(set(local) | set(remote), key=lambda k: -(remote.get(k, {}).get("requests") or 0))
    for key in keys:
        here, there = local.get(key, {}), remote.get(key, {})
        fr = there.get("requests") or 0
        hr = here.get("requests") or 0
        err = (there.get("errors") or 0) / fr if fr else 0.0
        tokens = (there.get("input_tokens") or 0) + (there.get("output_tokens") or 0) if there else None
        table.add_row(Text(str(key[0])), num(hr), num(fr) if there else "-",
                      pct(min(hr / fr, 1.0)) if fr else "-", pct(err) if there else "-", num(tokens),
                      usd(here.get("cost_usd")) if here else "-", usd(there.get("cost_usd")) if there else "-")
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

    def show(self, view: View) -> None:
        """Repaint from a view."""
        fleet = view.doc.get("fleet") or {}
        status = fleet.get("status", "off")
        line = Text()
        line.append(f"fleet: {status}", style=_STATUS_STYLE.get(status, ""))
        line.append(f"  window {fleet.get('window_s', 0) // 60} min")
        if fleet.get("updated"):
            line.append(f"  updated {clock(fleet['updated'])}")
        if fleet.get("message"):
            line.append(f"  {fleet['message']}")
        hint = getattr(self.app, "fleet_key_hint", None)
        if hint:
            line.append(f"  keys: {hint}", style="grey50")  # at most the last 4 characters
        self.query_one("#fleet-status", Static).update(line)
        self.query_one("#fleet-table", Static).update(fleet_table(view))
