"""Themes from TOML files: the bundled `themes/` dir, then the user's `themes/` in the config dir."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from ..config import config_dir

DOMAIN_DEFAULTS = {"ok": "success", "warn": "warning", "alarm": "error", "stale": "foreground"}
DEFAULT_THEME = "tundra-dark"
_FIELDS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel", "boost",
           "success", "warning", "error")


def bundled_dir() -> Path:
    """themes/ beside the package (a checkout) or inside it (a wheel)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_themes", here.parent / "themes"):
        if candidate.is_dir():
            return candidate
    return here.parent / "themes"


def user_dir() -> Path:
    return config_dir() / "themes"


def _check_colour(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a colour string")
    if key.endswith("-text-style"):
        return value
    if not value.startswith("ansi_"):
        try:
            Color.parse(value.split()[0])
        except ColorParseError:
            raise ValueError(f"'{key}' is not a colour: {value!r}") from None
    return value


def theme_from_toml(path: Path) -> Theme:
    """Parse one theme file; raise ValueError with a one-line reason."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read: {exc}") from None
    name = raw.get("name") or path.stem
    if "primary" not in raw:
        raise ValueError("'primary' is required")
    kwargs: dict[str, Any] = {k: _check_colour(raw[k], k) for k in _FIELDS if k in raw}
    unknown = set(raw) - set(_FIELDS) - {"name", "dark", "ansi", "variables", "luminosity_spread", "text_alpha"}
    if unknown:
        raise ValueError(f"unknown key '{sorted(unknown)[0]}'")
    variables = {str(k): _check_colour(v, f"variables.{k}") for k, v in dict(raw.get("variables", {})).items()}
    for var, fallback in DOMAIN_DEFAULTS.items():
        variables.setdefault(var, kwargs.get(fallback) or kwargs["primary"])
    return Theme(name=str(name), dark=bool(raw.get("dark", True)), variables=variables,
                 ansi=bool(raw.get("ansi", False)), **kwargs)


def load_themes(extra_dirs: list[Path] | None = None) -> tuple[dict[str, Theme], list[str]]:
    """All themes by name (user files override bundled ones) and one message per bad file."""
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for folder in [bundled_dir(), user_dir(), *(extra_dirs or [])]:
        try:
            paths = sorted(folder.glob("*.toml")) if folder.is_dir() else []
        except OSError as exc:  # e.g. an unreadable HOME: the bundled themes still work
            problems.append(f"themes in {folder}: {exc.strerror or exc}; skipped")
            continue
        for path in paths:
            try:
                theme = theme_from_toml(path)
            except ValueError as exc:
                problems.append(f"theme {path.name}: {exc}; skipped")
                continue
            themes[theme.name] = theme
    return themes, problems


TEXT_CONTRAST = 4.5  # WCAG AA for text; pane borders carry their titles, so they are text too
_SIGNALS = {"ok": "success", "warn": "warning", "alarm": "error"}


def contrast(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio of two opaque colours, 1 to 21."""
    def luminance(c: Color) -> float:
        lin = [(v / 255) / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in c.rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable(theme: Theme) -> Theme:
    """A theme (Textual's own) with the domain colours it does not set chosen from its own palette, readable
    where they are drawn: its success, warning and error colours, darkened (light themes) or lightened (dark
    ones) in small steps until they reach 4.5:1 on its background, panel and surface; for `stale` text and
    pane borders, its foreground taken toward the background as far as that allows."""
    colours = theme.to_color_system().generate()
    back = Color.parse(colours["background"])
    grounds = [back] + [back + Color.parse(colours[g]) for g in ("panel", "surface")
                        if colours.get(g, "transparent") != "transparent"]  # alpha grounds over the background

    def worst(c: Color, on: list[Color]) -> float:
        return min(contrast(c, g) for g in on)

    def signal(base: str) -> str:
        colour = back + Color.parse(colours[base])
        for step in range(19):  # 0 to 90% toward black (light themes) or white (dark ones)
            shade = colour.lighten(step / 20) if theme.dark else colour.darken(step / 20)
            if worst(shade, grounds) >= TEXT_CONTRAST:
                return shade.hex
        return shade.hex

    def dim(on: list[Color]) -> str:
        fore = back + Color.parse(colours["foreground"])
        shades = [fore.blend(back, step / 20) for step in range(15, -1, -1)]  # nearest the background first
        shades += [fore.lighten(step / 20) if theme.dark else fore.darken(step / 20) for step in range(1, 19)]
        return next((c.hex for c in shades if worst(c, on) >= TEXT_CONTRAST), shades[-1].hex)

    chosen = {role: signal(base) for role, base in _SIGNALS.items()}
    chosen["stale"] = dim(grounds)
    chosen["pane-border"] = dim([back])
    return Theme(**{**theme.__dict__, "variables": {**chosen, **theme.variables}})


def builtin_names() -> list[str]:
    """Textual's own themes, offered beside ours (they get the domain colours from the app's defaults)."""
    from textual.theme import BUILTIN_THEMES

    return list(BUILTIN_THEMES)


def theme_names() -> list[str]:
    """Every name `--theme`, the config and the picker accept: ours (bundled and user), then Textual's."""
    ours = list(load_themes()[0])
    return ours + [name for name in builtin_names() if name not in ours]
