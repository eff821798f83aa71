"""Pane 3: requests/s and tokens/s as sparklines over `window_s`, in total and per group, with the
current rate (the average over the rate window, `10s avg`) beside each. Names are whole while the
sparklines can give way; the sparklines' header names their span, the rates' header theirs."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text

from ...model.detail import DetailPart
from ...model.series import bucketed
from ...model.snapshot import Dashboard, Grouping, GroupRow
from ..chart import ChartSpec, rates_chart, tokens_chart
from ..columns import cut_names, footer
from ..fmt import num, pad, span, spark
from .pane import GroupedPane

SPARK_MIN = 5  # the sparklines' least width before names are cut


class ThroughputPane(GroupedPane):
    TITLE = "Throughput"
    KEY = "3"
    ROW_TOP = 3  # under the header and the two total lines

    def charts(self, detail: DetailPart) -> list[ChartSpec]:
        """Maximised: requests/s and errors/s, tokens/s."""
        return [rates_chart(detail), tokens_chart(detail)]

    def view(self, part: tuple[Grouping, Dashboard]) -> list[GroupRow]:
        g = part[0]
        return self.rows_in_view(g.rows, self.inner_height - 3, lambda r: (g.group, r.key))

    def render_part(self, part: tuple[Grouping, Dashboard], rows: Sequence[GroupRow]) -> Text:
        g, dash = part
        t = dash.totals
        now = int(dash.as_of)
        rates = [f"{t.requests_per_s:.1f}", num(t.tokens_per_s), *(f"{r.req_rate:.1f}" for r in rows)]
        rate_head = f"{span(dash.rate_window_s)} avg"  # the current rates: averages over the rate window
        rate_w = 1 + max(len(rate_head), *(len(x) for x in rates))
        w = self.inner_width
        longest = max((cell_len(n) for n in ("req/s", "tok/s", *(r.key for r in rows))), default=5)
        name_w = max(min(longest, w - rate_w - 1 - SPARK_MIN), 5)  # names whole first: the sparkline gives way
        spark_w = max(w - name_w - 1 - rate_w, 0)
        per = -(-len(t.req_spark) // max(spark_w, 1)) if t.req_spark else 1
        room = name_w + 1 + spark_w  # the sparklines' header may reach into the (empty) name column's header
        head = footer([(f"last {span(dash.window_s)}", 2), (f"({span(per)}/col)" if per > 1 else "", 1)], room, " ")
        out = Text(no_wrap=True)
        out.append(head.rjust(room) + rate_head.rjust(rate_w), style="bold")
        names = cut_names(["req/s", "tok/s", *(r.key for r in rows)], name_w)
        series = [(t.req_spark, "ok"), (t.tok_spark, "accent"), *((r.req_spark, "ok") for r in rows)]
        for name, (values, colour), rate in zip(names, series, rates, strict=True):
            cols = bucketed(list(values), now, spark_w)
            out.append("\n" + pad(name, name_w) + " ")
            out.append(spark(cols, spark_w), style=self.c(colour))
            out.append(rate.rjust(rate_w))
        return out
