"""Base for the six dashboard panes: render a View to Text, repaint only when it changed."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...model.view import View
from ..fmt import rich_colour


class Pane(Static, can_focus=True):
    """A bordered pane fed a View on each UI tick."""

    DEFAULT_CSS = """
    Pane { border: round $panel-lighten-2; padding: 0 1; height: 1fr; overflow: hidden; }
    Pane:focus { border: round $primary; }
    """
    TITLE = ""
    KEY = ""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = f"{self.KEY} {self.TITLE}"
        self._last: Text | None = None
        self._view: View | None = None

    @property
    def inner_width(self) -> int:
        """Columns inside border and padding (a sane minimum before the first layout)."""
        return max(self.content_size.width, 20)

    @property
    def inner_height(self) -> int:
        return max(self.content_size.height, 3)

    def c(self, var: str) -> str:
        """A domain colour ($ok, $warn, $alarm, $stale) from the current theme."""
        return rich_colour(self.app.theme_variables.get(var, ""))

    def rate_style(self, rate: float) -> str:
        """Error-rate colour: under 2% ok, under 10% warn, else alarm."""
        return self.c("ok") if rate < 0.02 else self.c("warn") if rate < 0.10 else self.c("alarm")

    GROUPED = False  # panes whose rows follow the `g` grouping and `s` sort

    def show(self, view: View) -> None:
        """Repaint if the content differs from what is on screen (keeps SSH output small)."""
        if self.GROUPED:
            subtitle = f"by {view.group} ↓{view.sort}"
            if self.border_subtitle != subtitle:
                self.border_subtitle = subtitle
        self._view = view
        text = self.render_view(view)
        if text != self._last:
            self._last = text
            self.update(text)

    def on_resize(self) -> None:
        """Widths and row counts depend on the size: lay the last view out again."""
        if self._view is not None:
            self.show(self._view)

    def render_view(self, view: View) -> Text:
        raise NotImplementedError
