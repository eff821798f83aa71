"""`/`: filter the panes by tags, e.g. `env:production model:gpt-4o`."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


def parse_filter(text: str) -> frozenset[str]:
    """Space-separated `key:value` terms; raise ValueError naming a bad one."""
    terms = text.split()
    for term in terms:
        key, sep, value = term.partition(":")
        if not sep or not key or not value:
            raise ValueError(f"'{term}' is not key:value")
    return frozenset(terms)


class FilterScreen(ModalScreen[frozenset[str] | None]):
    """Returns the new filter terms (empty clears), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="filter.cancel")]
    DEFAULT_CSS = """
    FilterScreen { align: center middle; }
    FilterScreen > Vertical { width: 60; max-width: 100%; height: auto; border: round $primary;
        background: $surface; padding: 0 1; }
    FilterScreen Label { color: $text-muted; }
    """

    def __init__(self, current: frozenset[str]) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("filter by tags (key:value ...), empty to clear")
            yield Input(" ".join(sorted(self.current)), placeholder="env:production model:gpt-4o", id="filter-input")
            yield Label("", id="filter-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            terms = parse_filter(event.value)
        except ValueError as exc:
            self.query_one("#filter-error", Label).update(Text(str(exc)))  # the user's own `[/x]` is text
            return
        self.dismiss(terms)

    def action_cancel(self) -> None:
        self.dismiss(None)
