"""The key bar under the status bar: the dashboard's main keys, as many as fit whole, the least needed
dropped first (`?` stays: it lists every key). Replaces Textual's Footer, which cut the last key mid-word."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widget import Widget

from ..columns import by_priority
from ..keys import keys_in_force

# how long a key stays as the bar narrows (higher: longer); `?` last of all, since it lists the others
PRIORITY = {"help": 10, "quit": 9, "group": 8, "sort": 7, "pause": 6, "filter": 5, "record": 4, "theme": 3,
            "spans": 2, "fleet": 1}
GAP = 2  # cells between two keys


def fit_keys(items: list[tuple[str, str, int]], width: int) -> list[tuple[str, str]]:
    """(keys, label, priority) items, in order, that fit whole in `width` cells with GAP between them: the
    lowest priority dropped first, never one cut."""
    kept = by_priority([(len(k) + 1 + len(label), p) for k, label, p in items], width, GAP)
    return [items[i][:2] for i in kept]


class KeyBar(Widget):
    """One line of `key Label` items for the dashboard's shown bindings; a click on one runs it."""

    COMPONENT_CLASSES = {"keybar--key", "keybar--label"}
    DEFAULT_CSS = """
    KeyBar { height: 1; background: $footer-background; padding: 0 1; }
    KeyBar > .keybar--key { color: $footer-key-foreground; text-style: bold; }
    KeyBar > .keybar--label { color: $footer-description-foreground; }
    """

    def __init__(self, bindings: list[Any], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.bindings = [b for b in bindings if isinstance(b, Binding) and b.show]
        self._spans: list[tuple[int, int, str]] = []  # (from x, to x, action) of each key drawn

    def items(self) -> list[tuple[str, str, str, int]]:
        """(key as typed, label, action, priority) of each shown binding the app allows now (its first key:
        `?` lists them all)."""
        app: Any = self.app
        out = []
        for b, keys in keys_in_force(app, self.bindings):
            if app.check_action(b.action.split("(")[0], ()):
                out.append((keys.split()[0], b.description, b.action, PRIORITY.get(b.id or "", 0)))
        return out

    def render(self) -> Text:
        """The keys that fit the width, whole, in their order."""
        items = self.items()
        actions = {(k, label): action for k, label, action, _ in items}
        kept = fit_keys([(k, label, p) for k, label, _, p in items], self.content_size.width)
        key_style = self.get_component_rich_style("keybar--key")
        label_style = self.get_component_rich_style("keybar--label")
        out = Text(no_wrap=True)
        self._spans = []
        for n, (k, label) in enumerate(kept):
            if n:
                out.append(" " * GAP)
            start = out.cell_len
            out.append(k, style=key_style)
            out.append(" " + label, style=label_style)
            self._spans.append((start, out.cell_len, actions[(k, label)]))
        return out

    def on_resize(self) -> None:
        self.refresh()

    async def on_click(self, event: events.Click) -> None:
        """A click on a key runs its action, as pressing the key does."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        for start, end, action in self._spans:
            if start <= offset.x < end:
                await self.app.run_action(action)
                return
