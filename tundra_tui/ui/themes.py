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


def builtin_names() -> list[str]:
    """Textual's own themes, offered beside ours (they get the domain colours from the app's defaults)."""
    from textual.theme import BUILTIN_THEMES

    return list(BUILTIN_THEMES)


def theme_names() -> list[str]:
    """Every name `--theme`, the config and the picker accept: ours (bundled and user), then Textual's."""
    ours = list(load_themes()[0])
    return ours + [name for name in builtin_names() if name not in ours]
