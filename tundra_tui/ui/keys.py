"""`[keys]` in the config: remap any of the screen's bindings by its id, through Textual's keymap."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from textual.binding import Binding, BindingsMap
from textual.keys import key_to_character

from ..config import ConfigError

if TYPE_CHECKING:
    from textual.app import App


def binding_ids() -> list[str]:
    """The ids `[keys]` may remap: every binding with one, of the dashboard, its panes and its screens."""
    from .app import TundraApp
    from .screens.detail import DetailScreen
    from .screens.filter import FilterScreen
    from .screens.fleet import FleetScreen
    from .screens.help import HelpScreen
    from .screens.spans import SpansScreen, WaterfallScreen
    from .screens.themes import ThemePicker
    from .widgets.pane import Pane

    owners = (TundraApp, Pane, DetailScreen, HelpScreen, FilterScreen, FleetScreen, SpansScreen, WaterfallScreen,
              ThemePicker)
    return [b.id for owner in owners for b in owner.BINDINGS if isinstance(b, Binding) and b.id]


def check_keys(keys: Mapping[str, str]) -> None:
    """ConfigError naming the first id that is no binding's (keys themselves are checked by the config)."""
    known = binding_ids()
    for binding_id in keys:
        if binding_id not in known:
            raise ConfigError(f"config: unknown binding id 'keys.{binding_id}' (ids: {', '.join(known)})")


def _typed(key: str) -> str:
    """A key as the user types it: a printable character as itself (`less_than_sign` -> `<`), a named key
    by its name (`escape`, `right`)."""
    char = key_to_character(key)
    return char if char is not None and char.isprintable() and not char.isspace() else key


def keys_in_force(app: App[Any], bindings: list[Binding]) -> list[tuple[Binding, str]]:
    """Each binding with the keys that run it once the app's keymap is applied, as the user types them
    (the same replacement Textual makes when it looks a key up)."""
    applied = BindingsMap(bindings)
    applied.apply_keymap(app._keymap)
    keys: dict[str, list[str]] = {}
    for found in applied.key_to_bindings.values():
        for b in found:
            shown = b.key_display or _typed(b.key)  # as the help always showed them (ctrl+o, right, escape)
            have = keys.setdefault(b.id or b.action, [])
            if shown not in have:  # "plus,equals_sign" both display as "+"
                have.append(shown)
    out = []
    for b in bindings:
        found_keys = keys.pop(b.id or b.action, None)
        if found_keys:
            out.append((b, " ".join(found_keys)))
    return out


def help_rows(app: App[Any], bindings: list[Binding | Any], help_text: Mapping[str, str]) -> list[tuple[str, str]]:
    """(keys, description) for `?`: each action the app allows now, with the keys in force for it."""
    rows = []
    seen = set()
    own = [b for b in bindings if isinstance(b, Binding)]
    for binding, keys in keys_in_force(app, own):
        if binding.action in seen or not app.check_action(binding.action.split("(")[0], ()):
            continue
        seen.add(binding.action)
        if binding.action.startswith("pane(") and not app._keymap:
            if binding.key != "1":
                continue
            keys, desc = "1-6", "Maximise a pane (again or esc to restore)"
        else:
            desc = help_text.get(binding.action, binding.description)
        rows.append((keys, desc))
    return rows
