"""Charts drawn with textual-plotext (plotext < 6): a typed ChartSpec in, rich Text out.

The detail screen and the maximised panes lay the Text out line by line and repaint only the lines
that changed (benchmarks/chart_redraw.py measured the library; benchmarks/detail_bytes.py the screen).
A spec holds closed buckets only, so it changes, and a chart redraws, only when a bucket closes.
Labels are tundra's own (units, local time), never text from the wire.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.color import Color, ColorParseError

from ..model.detail import DetailPart
from .fmt import ms, num, rich_colour, span, usd

if TYPE_CHECKING:  # plotext loads with the first chart drawn: the first frame has none (~0.1 s of start-up)
    from textual_plotext import Plot

Palette = Callable[[str], str]  # a theme variable's name -> its value ("#5fd787", "ansi_bright_red")
_ANSI = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
TIME_STEPS = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)  # seconds between time labels
MIN_W, MIN_H = 24, 5  # below this a chart says so instead of drawing
SPANS = (60, 300, 900, 3600)  # the charts' spans (z/Z): 1m, 5m, 15m, 1h
PANE_CHART_S = 300  # a maximised pane charts the totals over the last 5 minutes until z/Z step it


def zoomed(span_s: int, step: int, window_s: int | None) -> int:
    """The span `step` places along SPANS from `span_s`, capped by the rollup's window (None: not known yet)."""
    cap = SPANS[-1] if window_s is None else max(window_s, SPANS[0])
    allowed = [s for s in SPANS if s <= cap]
    i = SPANS.index(span_s) if span_s in SPANS else 1
    return allowed[max(0, min(len(allowed) - 1, i + step))]


@dataclass(frozen=True, slots=True)
class ChartLine:
    """One series: a value per `step` seconds from `start` (None: no data in that bucket)."""

    label: str
    colour: str  # a theme variable: ok, warn, alarm, accent...
    start: int
    step: int
    values: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class ChartSpec:
    """One chart: its lines over start..end (unix seconds), the y unit, and vertical marks (ts, colour)."""

    unit: str  # "/s", "ms" or "$/min": how the y-axis labels read
    start: int
    end: int
    lines: tuple[ChartLine, ...]
    marks: tuple[tuple[float, str], ...] = ()
    mark_names: tuple[tuple[str, str], ...] = ()  # (colour, what its marks are) for the legend


def y_label(value: float, unit: str) -> str:
    """An axis label with its unit: 2.5/s, 850ms, $0.12/m."""
    if unit == "ms":
        return ms(value)
    if unit == "$/min":
        return usd(value) + "/m"
    return num(value) + unit


def nice_top(peak: float) -> float:
    """The smallest 1, 2, 4, 6 or 8 x 10^k at or above `peak` (1 for an empty chart): its half reads round too."""
    if not peak > 0:
        return 1.0
    base = 10 ** math.floor(math.log10(peak))
    return float(next(m * base for m in (1, 2, 4, 6, 8, 10) if m * base >= peak * (1 - 1e-9)))


def time_ticks(start: int, end: int, width: int) -> tuple[list[float], list[str]]:
    """Time labels on whole steps of the local clock, HH:MM:SS under 15 minutes, HH:MM from 15 minutes."""
    fmt = "%H:%M:%S" if end - start < 900 else "%H:%M"
    room = max(width // (len(fmt) + 6), 2)  # "HH:MM:SS" is 8 columns; leave a gap between labels
    step = next((s for s in TIME_STEPS if (end - start) / s <= room), TIME_STEPS[-1])
    offset = time.localtime(start).tm_gmtoff  # align to the local clock, not to UTC
    first = -(-(start + offset) // step) * step - offset
    ticks = [float(t) for t in range(first, end + 1, step)]
    return ticks, [time.strftime(fmt, time.localtime(t)) for t in ticks]


def plot_colour(value: str) -> int | tuple[int, int, int] | str:
    """A theme colour as plotext takes it: an ANSI theme's names stay palette indices (the terminal's own
    red), others become RGB; an unreadable one is the terminal's default."""
    name = value.split()[0] if value else ""
    if name.startswith("ansi_"):
        bright = name.startswith("ansi_bright_")
        base = name.removeprefix("ansi_bright_" if bright else "ansi_")
        return _ANSI.index(base) + 8 * bright if base in _ANSI else "default"
    try:
        return Color.parse(name).rgb
    except ColorParseError:
        return "default"


def render_chart(spec: ChartSpec, width: int, height: int, palette: Palette, plot: Plot | None = None) -> Text:
    """The chart as `height` lines of `width` cells: a legend line, then the plot with its labelled axes."""
    legend = Text(no_wrap=True)
    for line in spec.lines:
        legend.append("━ ", style=rich_colour(palette(line.colour)))
        legend.append(f"{line.label}  ")
    for colour, name in spec.mark_names:
        legend.append("│ ", style=rich_colour(palette(colour)))
        legend.append(f"{name}  ")
    if width < MIN_W or height < MIN_H:
        return legend + Text("\n(too small for a chart)")
    if plot is None:
        from textual_plotext import Plot

        plot = Plot()
    plt = plot
    plt.clear_figure()
    plt.plotsize(width, height - 1)
    plt._set_size(width, height - 1)  # plotsize caps at the process's terminal size (80x24 without a tty, or a
    # terminal narrower than the screen's layout) and a figure has no public way past it; textual-plotext's own
    # widget sets its size this way too (plotext pinned below 6: tests/test_plotext_pin.py)
    plt.theme("clear")  # the terminal's own colours: no background codes to send
    segments = [(line, _segments(line, spec.start)) for line in spec.lines]
    top = nice_top(max((max(ys) for _, segs in segments for _, ys in segs), default=0.0))
    for line, segs in segments:
        for xs, ys in segs:
            plt.plot(xs, ys, marker="braille", color=plot_colour(palette(line.colour)))
    for ts, colour in spec.marks:  # drawn as data, after it: plotext lays its own vertical lines under the data
        x = ts - spec.start
        plt.plot([x, x], [0, top], marker="braille", color=plot_colour(palette(colour)))
    plt.xlim(0, spec.end - spec.start)  # seconds from the start, not epoch-sized floats
    plt.ylim(0, top)
    ticks, labels = time_ticks(spec.start, spec.end, width)
    plt.xticks([t - spec.start for t in ticks], labels)
    plt.yticks([0, top / 2, top], [y_label(v, spec.unit) for v in (0, top / 2, top)])
    body = Text.from_ansi(plt.build(), no_wrap=True)
    body.rstrip()
    return legend + Text("\n") + body


def _segments(line: ChartLine, origin: int) -> list[tuple[list[float], list[float]]]:
    """The line's runs of known values, each as (bucket middles in seconds from `origin`, values)."""
    out: list[tuple[list[float], list[float]]] = []
    xs: list[float] = []
    ys: list[float] = []
    for i, v in enumerate(line.values):
        if v is None:
            if xs:
                out.append((xs, ys))
                xs, ys = [], []
            continue
        xs.append(line.start - origin + (i + 0.5) * line.step)
        ys.append(v)
    if xs:
        out.append((xs, ys))
    return out


def stack(specs: Sequence[ChartSpec], width: int, height: int, palette: Palette, plot: Plot | None = None) -> Text:
    """Charts one above the other, sharing `height` (each at least MIN_H lines; those that do not fit are left out)."""
    fit = max(1, min(len(specs), height // MIN_H))
    out = Text(no_wrap=True)
    left = height
    for i, spec in enumerate(specs[:fit]):
        h = left // (fit - i)
        if i:
            out.append("\n")
        out.append_text(render_chart(spec, width, h, palette, plot))
        left -= h
    return out


# -- the charts of a detail part --------------------------------------------------------------

def _marks(part: DetailPart) -> tuple[tuple[tuple[float, str], ...], tuple[tuple[str, str], ...]]:
    marks = [(s.ts, "warn") for s in part.switches] + [(f.ts, "alarm") for f in part.firings]
    names = ((("warn", "profile switch"),) if part.switches else ()) + (
        (("alarm", "alert fired"),) if part.firings else ())
    return tuple(marks), names


def rates_chart(part: DetailPart, errors: bool = True) -> ChartSpec:
    """Requests/s and errors/s on one chart."""
    lines = [ChartLine("requests/s", "ok", part.start, part.bucket_s, part.requests_per_s)]
    if errors:
        lines.append(ChartLine("errors/s", "alarm", part.start, part.bucket_s, part.errors_per_s))
    return ChartSpec("/s", part.start, part.end, tuple(lines), *_marks(part))


def errors_chart(part: DetailPart) -> ChartSpec:
    """Errors/s alone."""
    line = ChartLine("errors/s", "alarm", part.start, part.bucket_s, part.errors_per_s)
    return ChartSpec("/s", part.start, part.end, (line,), *_marks(part))


def p95_chart(part: DetailPart) -> ChartSpec:
    """p95 latency per latency bucket."""
    line = ChartLine(f"p95 latency (per {span(part.p95_bucket_s)})", "warn", part.p95_start, part.p95_bucket_s,
                     part.p95_ms)
    return ChartSpec("ms", part.p95_start, part.p95_start + part.span_s, (line,), *_marks(part))


def tokens_chart(part: DetailPart) -> ChartSpec:
    """Tokens/s (in + out)."""
    line = ChartLine("tokens/s", "accent", part.start, part.bucket_s, part.tokens_per_s)
    return ChartSpec("/s", part.start, part.end, (line,), *_marks(part))


def cost_chart(part: DetailPart) -> ChartSpec | None:
    """$/min of the priced part (None when nothing is priced)."""
    if part.cost_per_min is None:
        return None
    line = ChartLine("$/min (priced part)", "accent", part.start, part.bucket_s, part.cost_per_min)
    return ChartSpec("$/min", part.start, part.end, (line,), *_marks(part))


def detail_charts(part: DetailPart) -> list[ChartSpec]:
    """The detail screen's three: requests/s and errors/s, p95 latency, and $/min (tokens/s when unpriced)."""
    return [rates_chart(part), p95_chart(part), cost_chart(part) or tokens_chart(part)]
