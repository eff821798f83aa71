"""Redraw cost of the two maintained Textual plotting widgets, as a ratio to a minimal Static in the same run.

    uv run --with textual-plot python benchmarks/chart_redraw.py [ROUNDS]

Each candidate draws the detail screen's chart (two 70-point series and a vertical mark, 78x10 cells)
in a headless app at 80x24; one redraw is: new data (the window moved by one bucket), then Textual
lays out, renders and composes the frame. The baseline is a Static showing 10 lines of pre-built
text of the same size, updated the same way: what any redraw costs before a chart draws anything.
textual-plot is not a dependency of tundra, so it comes in with `uv run --with` for this run only.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Static

POINTS = 70
W, H = 78, 10


def series(shift: int) -> tuple[list[float], list[float], list[float]]:
    """Bucket starts and two rates, moved on by `shift` buckets."""
    xs = [float(shift + i) for i in range(POINTS)]
    req = [5 + 3 * math.sin((shift + i) / 6) for i in range(POINTS)]
    err = [max(0.0, 1.5 * math.sin((shift + i) / 4)) for i in range(POINTS)]
    return xs, req, err


class Candidate:
    """One way of drawing the chart: a widget to mount and a function that gives it new data."""

    name = ""

    def widget(self) -> Widget:
        raise NotImplementedError

    def draw(self, w: Any, shift: int) -> None:
        raise NotImplementedError


class Baseline(Candidate):
    name = "static_text"

    def widget(self) -> Widget:
        return Static()

    def draw(self, w: Any, shift: int) -> None:
        bars = "▁▂▃▄▅▆▇█"
        _, req, _ = series(shift)
        line = "".join(bars[int(v) % 8] for v in req).ljust(W)[:W]
        w.update(Text("\n".join([line] * H)))


class Plotext(Candidate):
    name = "textual-plotext"

    def widget(self) -> Widget:
        from textual_plotext import PlotextPlot

        return PlotextPlot()

    def draw(self, w: Any, shift: int) -> None:
        xs, req, err = series(shift)
        plt = w.plt
        plt.clear_data()
        plt.clear_figure()
        plt.plot(xs, req, marker="braille", label="req/s")
        plt.plot(xs, err, marker="braille", label="err/s")
        plt.vertical_line(xs[POINTS // 2])
        plt.xticks([xs[0], xs[-1]], ["12:00:00", "12:05:00"])
        plt.ylabel("/s")
        w.refresh()


class TextualPlot(Candidate):
    name = "textual-plot"

    def widget(self) -> Widget:
        from textual_plot import PlotWidget

        return PlotWidget(allow_pan_and_zoom=False)

    def draw(self, w: Any, shift: int) -> None:
        from textual_plot import HiResMode

        xs, req, err = series(shift)
        w.clear()
        w.plot(xs, req, line_style="green", hires_mode=HiResMode.BRAILLE, label="req/s")
        w.plot(xs, err, line_style="red", hires_mode=HiResMode.BRAILLE, label="err/s")
        w.add_v_line(xs[POINTS // 2], "yellow")
        w.set_xticks([xs[0], xs[-1]])
        w.set_ylabel("/s")


def measure(candidate: Candidate, rounds: int) -> list[float]:
    """CPU seconds per redraw, one figure per round."""

    class Bench(App[None]):
        CSS = f"#chart {{ width: {W}; height: {H}; }}"

        def compose(self) -> ComposeResult:
            w = candidate.widget()
            w.id = "chart"
            yield w

    async def run() -> list[float]:
        app = Bench()
        out: list[float] = []
        async with app.run_test(size=(80, 24)) as pilot:
            chart = app.query_one("#chart")
            candidate.draw(chart, 0)
            await pilot.pause()
            for r in range(rounds):
                t = time.process_time()  # CPU, not wall: the frame waits on Textual's refresh timer
                candidate.draw(chart, r + 1)
                await pilot.pause()  # Textual lays out, renders and composes the changed region
                await pilot.pause()
                out.append(time.process_time() - t)
        return out

    return asyncio.run(run())


def import_time(module: str) -> float:
    t = time.perf_counter()
    importlib.import_module(module)
    return time.perf_counter() - t


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    candidates: list[Candidate] = [Baseline(), Plotext(), TextualPlot()]
    imports: dict[str, Callable[[], float]] = {
        "textual-plotext": lambda: import_time("textual_plotext"), "textual-plot": lambda: import_time("textual_plot")}
    for name, fn in imports.items():
        print(f"chart_import_s {name} {fn():.3f}")
    results: dict[str, float] = {}
    for _ in range(2):  # interleaved passes, best median kept: the machine is shared
        for c in candidates:
            med = statistics.median(measure(c, rounds))
            results[c.name] = min(results.get(c.name, med), med)
    base = results["static_text"]
    for name, med in results.items():
        print(f"chart_redraw {name} cpu_ms {med * 1000:.2f} ratio_to_static {med / base:.2f}")


if __name__ == "__main__":
    main()
