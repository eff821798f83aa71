"""ui/chart.py sizes its figure through plotext's private `_set_size`: the public `plotsize` caps the size at the
process's terminal (80x24 without a tty, or a terminal narrower than the screen's layout), and a figure has no
public way to lift that cap (plotext's `limitsize` acts on its module's global figure, not on textual-plotext's
`Plot`). plotext is pinned below 6; this test names what chart.py relies on, so a release that moves it fails
here, not in a maximised pane."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from textual_plotext import Plot

from tundra_tui.ui.chart import ChartLine, ChartSpec, render_chart

WIDE, TALL = 400, 90  # past any terminal the suite runs in


def test_the_pinned_plotext_has_the_size_setter_chart_py_calls() -> None:
    assert int(version("plotext").split(".")[0]) == 5  # pyproject: plotext>=5.3,<6
    assert list(inspect.signature(Plot()._set_size).parameters) == ["width", "height"]


def test_a_chart_takes_the_size_it_is_given_past_the_terminal() -> None:
    line = ChartLine("req/s", "ok", 0, 1, tuple(float(i % 7) for i in range(120)))
    text = render_chart(ChartSpec("/s", 0, 120, (line,)), WIDE, TALL, {"ok": "#00ff00"}.get)
    body = text.plain.split("\n")[1:]  # under the legend
    assert len(body) == TALL - 1 and max(len(row.rstrip()) for row in body) == WIDE
