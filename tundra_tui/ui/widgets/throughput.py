"""Pane 3: requests/s and tokens/s as sparklines over `window_s`, in total and per group, with the
current rate over the rate window beside each."""

from __future__ import annotations

from rich.text import Text

from ...model.detail import DetailPart
from ...model.series import bucketed
from ...model.snapshot import Dashboard, Grouping
from ..chart import ChartSpec, rates_chart, tokens_chart
from ..columns import cut_names, footer
from ..fmt import num, span, spark
from .pane import GroupedPane


class ThroughputPane(GroupedPane):
    TITLE = "Throughput"
    KEY = "3"
    ROW_TOP = 3  # under the header and the two total lines

    def charts(self, detail: DetailPart) -> list[ChartSpec]:
        """Maximised: requests/s and errors/s, tokens/s."""
        return [rates_chart(detail), tokens_chart(detail)]

    def render_part(self, part: tuple[Grouping, Dashboard]) -> Text:
        g, dash = part
        t = dash.totals
        now = int(dash.as_of)
        rows = self.rows_in_view(g.rows, self.inner_height - 3, lambda r: (g.group, r.key))
        rates = [f"{t.requests_per_s:.1f}", num(t.tokens_per_s), *(f"{r.req_rate:.1f}" for r in rows)]
        rate_head = f"/s {span(dash.rate_window_s)}"
        rate_w = 1 + max(len(rate_head), *(len(x) for x in rates))
        w = self.inner_width
        name_w = min(max(len(r.key) for r in rows) if rows else 5, max(w // 3, 5))
        name_w = max(name_w, 5)
        spark_w = max(w - name_w - 1 - rate_w, 0)
        per = -(-len(t.req_spark) // max(spark_w, 1)) if t.req_spark else 1
        head = footer([(f"last {span(dash.window_s)}", 2), (f"({span(per)}/col)" if per > 1 else "", 1)], spark_w, " ")
        out = Text(no_wrap=True)
        out.append(" " * (name_w + 1) + head[:spark_w].ljust(spark_w) + rate_head.rjust(rate_w), style="bold")
        names = cut_names(["req/s", "tok/s", *(r.key for r in rows)], name_w)
        series = [(t.req_spark, "ok"), (t.tok_spark, "accent"), *((r.req_spark, "ok") for r in rows)]
        for name, (values, colour), rate in zip(names, series, rates, strict=True):
            cols = bucketed(list(values), now, spark_w)
            out.append("\n" + name.ljust(name_w) + " ")
            out.append(spark(cols, spark_w), style=self.c(colour))
            out.append(rate.rjust(rate_w))
        return out
