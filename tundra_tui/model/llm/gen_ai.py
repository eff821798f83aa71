"""OpenTelemetry GenAI's `gen_ai.*` metrics: durations in seconds, tokens by `gen_ai.token.type`."""

from __future__ import annotations

from .aggregates import Handler, KeyAgg, TagMap
from .base import RollupBase

_MODEL = ("gen_ai.response.model", "gen_ai.request.model", "gen_ai.provider.name", "gen_ai.system")
_TOKEN_ATTR = {"input": "input_tokens", "output": "output_tokens"}


class GenAIHandlers(RollupBase):
    """Handlers for gen_ai client metrics: the response model and provider name win over the request's."""

    def _ga_handlers(self) -> dict[str, tuple[Handler, tuple[str, ...]]]:
        """Metric name -> (handler, the tag keys it reads)."""
        return {
            "gen_ai.client.token.usage": (self._ga_tokens, (*_MODEL, "gen_ai.token.type")),
            "gen_ai.client.operation.duration": (self._ga_duration, (*_MODEL, "error.type")),
        }

    def _ga_key(self, tags: TagMap) -> KeyAgg:
        """The model aggregate of a gen_ai context: response model first, provider name first."""
        if tags.agg is None:
            model = tags.get("gen_ai.response.model") or tags.get("gen_ai.request.model", "")
            provider = tags.get("gen_ai.provider.name") or tags.get("gen_ai.system", "")
            tags.agg = self._key_agg(model, provider)
        return tags.agg

    def _ga_tokens(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        attr = _TOKEN_ATTR.get(tags.get("gen_ai.token.type") or "")
        if attr is not None:
            self._count_tokens(self._ga_key(tags), attr, s * w, sec, len(vals) * w)

    def _ga_duration(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        agg = self._ga_key(tags)
        self._count_request(agg, len(vals) * w, "error.type" in tags, sec, tags.get("error.type"))
        self._latency(agg, [v * 1000.0 for v in vals], w, sec)
