"""Every bundled theme is readable: WCAG AA contrast of text (4.5:1) and borders (3:1) against what
they are drawn on, in truecolor and as the colours Rich downgrades to for 256- and 16-colour terminals."""

from __future__ import annotations

import pytest
from rich._palettes import EIGHT_BIT_PALETTE, STANDARD_PALETTE
from rich.color import Color as RichColor
from rich.color import ColorSystem, ColorType
from textual.color import Color
from textual.theme import BUILTIN_THEMES

from tundra_tui.ui.themes import load_themes, readable

THEMES, _ = load_themes()
SYSTEMS = {"truecolor": ColorSystem.TRUECOLOR, "256": ColorSystem.EIGHT_BIT, "16": ColorSystem.STANDARD}
TEXT, BORDER = 4.5, 3.0
# (what is drawn, what it is drawn on, minimum ratio); see each widget's DEFAULT_CSS for the pairs
PAIRS = [
    *((fg, "background", TEXT) for fg in ("foreground", "ok", "warn", "alarm", "stale", "accent")),  # panes
    # pane borders, and their titles drawn in the same colour: text, so 4.5:1
    ("pane-border", "background", TEXT), ("primary", "background", TEXT),
    *((fg, "panel", TEXT) for fg in ("foreground", "warn", "alarm", "stale")),  # status bar
    *((fg, "surface", TEXT) for fg in ("foreground", "primary", "alarm", "warn", "stale")),  # timeline, help
]


def _rgb(value: str, system: ColorSystem, role: str, dark: bool) -> tuple[int, int, int]:
    """The colour a terminal with `system` colours shows for a theme value (ANSI names: the VGA palette
    Rich matches against; the terminal's default colours: palette white on black, or black on white)."""
    colour = Color.parse(value.split()[0])
    if colour.ansi == -1:  # ansi_default: the terminal's own foreground or background
        if dark:
            return tuple(STANDARD_PALETTE[0 if role == "bg" else 7])  # type: ignore[return-value]
        return tuple(STANDARD_PALETTE[15 if role == "bg" else 0])  # type: ignore[return-value]
    rich = colour.rich_color if colour.ansi is not None else RichColor.from_rgb(colour.r, colour.g, colour.b)
    if system != ColorSystem.TRUECOLOR:
        rich = rich.downgrade(system)
    if rich.type == ColorType.STANDARD or (rich.type == ColorType.EIGHT_BIT and (rich.number or 0) < 16):
        return tuple(STANDARD_PALETTE[rich.number or 0])  # type: ignore[return-value]
    if rich.type == ColorType.EIGHT_BIT:
        return tuple(EIGHT_BIT_PALETTE[rich.number or 0])  # type: ignore[return-value]
    assert rich.triplet is not None
    return tuple(rich.triplet)  # type: ignore[return-value]


def _luminance(rgb: tuple[int, int, int]) -> float:
    def lin(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio, 1 to 21."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _variables(name: str) -> dict[str, str]:
    theme = THEMES[name]
    found = {**theme.to_color_system().generate(), **theme.variables}
    for ground in ("panel", "surface"):  # transparent: the background shows through
        if found.get(ground, "transparent") == "transparent":
            found[ground] = found["background"]
    return found


def failures(name: str, system: str) -> list[str]:
    """Every pair of theme `name` under `system` colours that falls short, with its ratio."""
    v = _variables(name)
    dark = THEMES[name].dark
    out = []
    for fg, bg, need in PAIRS:
        ratio = contrast(_rgb(v[fg], SYSTEMS[system], "fg", dark), _rgb(v[bg], SYSTEMS[system], "bg", dark))
        if ratio < need:
            out.append(f"{fg} ({v[fg]}) on {bg} ({v[bg]}): {ratio:.2f} < {need}")
    return out


@pytest.mark.parametrize("system", list(SYSTEMS))
@pytest.mark.parametrize("name", sorted(THEMES))
def test_theme_meets_wcag_aa(name: str, system: str) -> None:
    assert failures(name, system) == []


def test_contrast_is_computed_not_assumed() -> None:
    assert contrast((255, 255, 255), (0, 0, 0)) == pytest.approx(21.0)
    assert contrast((255, 255, 255), (244, 247, 250)) < 1.1  # tundra-light's old unfocused border
    assert _rgb("#f4f7fa", ColorSystem.STANDARD, "bg", False) == (255, 255, 255)
    assert _rgb("ansi_blue", ColorSystem.TRUECOLOR, "fg", True) == (0, 0, 170)


BUILTIN = sorted(name for name, theme in BUILTIN_THEMES.items() if not theme.ansi and name not in THEMES)
DOMAIN = [pair for pair in PAIRS if pair[0] in ("ok", "warn", "alarm", "stale", "pane-border")]


@pytest.mark.parametrize("name", BUILTIN)
def test_textual_themes_get_readable_domain_colours(name: str) -> None:
    """Textual's own themes are offered too: the domain colours the app gives them (chosen from each one's
    palette) read at 4.5:1 where they are drawn, in truecolor; the old fixed defaults did not (yellow on
    textual-light's grey: 1.3:1)."""
    theme = readable(BUILTIN_THEMES[name])
    v = {**theme.to_color_system().generate(), **theme.variables}
    for ground in ("panel", "surface"):
        if v.get(ground, "transparent") == "transparent":
            v[ground] = v["background"]
    sys = SYSTEMS["truecolor"]
    short = [f"{fg} ({v[fg]}) on {bg} ({v[bg]})" for fg, bg, need in DOMAIN
             if contrast(_rgb(v[fg], sys, "fg", theme.dark), _rgb(v[bg], sys, "bg", theme.dark)) < need]
    assert short == []
    if name == "textual-light":
        assert contrast(_rgb("yellow", sys, "fg", False), _rgb(v["background"], sys, "bg", False)) < 2


async def test_the_app_draws_textual_themes_with_those_colours(played) -> None:
    from .ui_fixtures import make_app

    app = make_app(played, theme="textual-light")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        want = readable(BUILTIN_THEMES["textual-light"]).variables
        assert all(app.theme_variables[k] == want[k] for k in ("ok", "warn", "alarm", "stale", "pane-border"))
        app.theme = "tundra-light"  # ours keep their own
        await pilot.pause()
        assert app.theme_variables["warn"] == THEMES["tundra-light"].variables["warn"]
