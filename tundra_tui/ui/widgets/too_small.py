"""The notice that replaces the panes when the terminal is too small to show figures whole."""

from __future__ import annotations

from textual.geometry import Size
from textual.widgets import Static

MIN_SIZE = Size(60, 16)  # two columns of panes with a name and three whole figures each, four rows each


class TooSmall(Static):
    """One centred line, "terminal too small: WxH, need AxB", shown only under MIN_SIZE."""

    DEFAULT_CSS = """
    TooSmall { display: none; height: 1fr; width: 100%; content-align: center middle; color: $warning; }
    """

    def fit_to(self, size: Size) -> bool:
        """Show or hide for a terminal of `size`; True when it is too small (the panes should hide)."""
        small = size.width < MIN_SIZE.width or size.height < MIN_SIZE.height
        if small:
            self.update(f"terminal too small: {size.width}x{size.height}, need {MIN_SIZE.width}x{MIN_SIZE.height}")
        self.display = small
        return small
