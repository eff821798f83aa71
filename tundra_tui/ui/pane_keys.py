"""The monitor's pane keys: `1`-`6` maximise a pane in its chart form, the same key again or esc restores it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .widgets.pane import Pane

if TYPE_CHECKING:
    from textual.app import App

    _AppBase = App[int]
else:
    _AppBase = object  # a mixin at run time: the app it is mixed into gives screen and query_one


class PaneKeys(_AppBase):
    """Mixed into the app: which pane is maximised, kept (not queried) since every tick reads its span."""

    maximized: int | None = None  # the key of the pane maximised, if any
    _maximized_pane: Pane[Any] | None = None

    def _changed(self, name: str, value: object, note: str | None = None) -> None:
        raise NotImplementedError

    def maximized_span(self) -> int | None:
        """The span of the maximised pane's charts, None when no pane is maximised."""
        return self._maximized_pane.chart_span_s if self._maximized_pane is not None else None

    def action_pane(self, n: int) -> None:
        if self.maximized == n:
            self.action_restore()
            return
        self.action_restore()
        pane = self.query_one(f"#pane-{n}", Pane)
        pane.focus()
        self.screen.maximize(pane)
        self.maximized, self._maximized_pane = n, pane
        pane.set_chart_form(True)  # a maximised pane shows its charts (from the next frame on)
        self._changed("maximized", n)

    def action_restore(self) -> None:
        if self._maximized_pane is not None:
            self._maximized_pane.set_chart_form(False)
            self.screen.minimize()
            self.maximized, self._maximized_pane = None, None
            self._changed("maximized", None)
