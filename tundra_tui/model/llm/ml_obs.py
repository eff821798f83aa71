"""Datadog LLM Observability's `ml_obs.*` metrics: durations in seconds, costs in nanodollars."""

from __future__ import annotations

from .aggregates import Handler, KeyAgg, TagMap
from .base import RollupBase

_MODEL = ("model_name", "model_provider")


class MlObsHandlers(RollupBase):
    """Handlers for ml_obs spans; a span that names no model is ignored."""

    def _mo_handlers(self) -> dict[str, tuple[Handler, tuple[str, ...]]]:
        """Metric name -> (handler, the tag keys it reads)."""
        return {
            "ml_obs.span": (self._mo_span, _MODEL), "ml_obs.span.error": (self._mo_error, _MODEL),
            "ml_obs.span.duration": (self._mo_duration, _MODEL),
            "ml_obs.span.llm.input.tokens": (self._mo_tokens("input_tokens"), _MODEL),
            "ml_obs.span.llm.output.tokens": (self._mo_tokens("output_tokens"), _MODEL),
            "ml_obs.span.llm.total.tokens": (self._mo_tokens("used_tokens"), _MODEL),
            "ml_obs.span.llm.input.cache_read.tokens": (self._mo_tokens("cache_read_tokens"), _MODEL),
            "ml_obs.span.llm.total.cost": (self._mo_cost(True), _MODEL),
            "ml_obs.span.llm.input.cost": (self._mo_cost(False), _MODEL),
            "ml_obs.span.llm.output.cost": (self._mo_cost(False), _MODEL),
        }

    def _mo_key(self, tags: TagMap) -> KeyAgg | None:
        """The model aggregate of an ml_obs span (None for spans that name no model)."""
        if tags.agg is None and tags.get("model_name"):
            tags.agg = self._key_agg(tags["model_name"], tags.get("model_provider", ""))
        return tags.agg

    def _mo_span(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        agg = self._mo_key(tags)
        if agg is not None:
            self._count_request(agg, s * w, False, sec)

    def _mo_error(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        agg = self._mo_key(tags)
        if agg is not None:
            self._count_error(agg, s * w, sec, None)

    def _mo_duration(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        agg = self._mo_key(tags)
        if agg is not None:
            self._latency(agg, [v * 1000.0 for v in vals], w, sec)

    def _mo_tokens(self, attr: str) -> Handler:
        def handle(tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
            agg = self._mo_key(tags)
            if agg is not None:
                self._count_tokens(agg, attr, s * w, sec, len(vals) * w)
        return handle

    def _mo_cost(self, total: bool) -> Handler:
        def handle(tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
            agg = self._mo_key(tags)
            if agg is None:
                return
            usd = s * w / 1e9  # nanodollars
            if total:
                agg.reported_total_cost = (agg.reported_total_cost or 0.0) + usd
            else:
                agg.reported_part_cost = (agg.reported_part_cost or 0.0) + usd
        return handle
