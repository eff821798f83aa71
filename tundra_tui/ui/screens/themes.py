"""`t`: pick a theme from a list that marks the current one; enter applies it, escape keeps the old one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

CURRENT_MARK = "● "


class ThemePicker(ModalScreen[str | None]):
    """Every available theme, the current one marked and highlighted; dismisses with the chosen name."""

    BINDINGS = [Binding("escape,q,t", "cancel", "Close", id="themes.close")]
    DEFAULT_CSS = """
    ThemePicker { align: center middle; }
    ThemePicker > OptionList { width: 40; max-width: 100%; height: auto; max-height: 80%;
        border: round $primary; background: $surface; }
    """

    def __init__(self, names: list[str], current: str) -> None:
        super().__init__()
        self.names = names
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option((CURRENT_MARK if name == self.current else "  ") + name, id=name) for name in self.names]
        picker = OptionList(*options)
        picker.border_title = "theme"
        picker.border_subtitle = "enter to pick, esc to close"
        yield picker

    def on_mount(self) -> None:
        picker = self.query_one(OptionList)
        if self.current in self.names:
            picker.highlighted = self.names.index(self.current)
        picker.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
