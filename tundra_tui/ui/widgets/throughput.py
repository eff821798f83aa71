"""Pane 3: requests/s and tokens/s as sparklines over the last minute, in total and per group."""

from __future__ import annotations

from rich.text import Text

from ...model.snapshot import Frame, Grouping, Totals
from ..fmt import fit, num, spark
from .pane import Pane


class ThroughputPane(Pane[tuple[Grouping, Totals]]):
    TITLE = "Throughput"
    KEY = "3"

    def part(self, frame: Frame) -> tuple[Grouping, Totals]:
        return frame.grouping, frame.dashboard.totals

    def render_part(self, part: tuple[Grouping, Totals]) -> Text:
        g, t = part
        w = self.inner_width
        name_w = min(12, max(w // 4, 6))
        spark_w = max(w - name_w - 9, 5)
        out = Text()
        out.append(fit("req/s", name_w))
        out.append(spark(t.req_spark, spark_w), style=self.c("ok"))
        out.append(f"{t.requests_per_s:>8.1f}\n")
        out.append(fit("tok/s", name_w))
        out.append(spark(t.tok_spark, spark_w), style=self.c("accent"))
        out.append(f"{num(t.tokens_per_s):>8}\n")
        for r in g.rows[: max(self.inner_height - 2, 0)]:
            if not r.req_spark:
                continue
            out.append(fit(r.key, name_w - 1) + " ")
            out.append(spark(r.req_spark, spark_w), style=self.c("ok"))
            out.append(f"{r.req_rate:>8.1f}\n")
        out.rstrip()
        return out
