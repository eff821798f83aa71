"""The Auto-Tundra daemon's `llm.*` vocabulary (names overridable in config)."""

from __future__ import annotations

from ..vocab import FALSE_VALUES
from .aggregates import AgentAgg, Handler, KeyAgg, TagMap
from .base import RollupBase


class AtDaemonHandlers(RollupBase):
    """Handlers for the at-daemon metrics: profiles, requests, durations, tokens, agents."""

    def _at_handlers(self) -> dict[str, tuple[Handler, tuple[str, ...]]]:
        """Metric name -> (handler, the tag keys it reads)."""
        m, t = self.vocab.metrics, self.vocab.tags
        model = (t["model"], t["provider"], t["agent_name"])  # tokens carry no profile
        request = (*model, t["profile"])
        agent = (t["agent_name"], t["task_type"])
        return {
            m["bootstrap"]: (self._at_bootstrap, ()), m["available"]: (self._at_available, ()),
            m["selected"]: (self._at_selected, (t["profile"], t["provider"])),
            m["request_complete"]: (self._at_complete, (*request, t["success"], t["error_type"])),
            m["request_duration"]: (self._at_duration, request),
            m["tokens_input"]: (self._at_tokens("input_tokens"), model),
            m["tokens_output"]: (self._at_tokens("output_tokens"), model),
            m["tokens_used"]: (self._at_tokens("used_tokens"), model),
            m["agent_execution"]: (self._at_agent, (*agent, t["success"])),
            m["agent_duration"]: (self._at_agent_duration, agent),
        }

    def _at_key(self, tags: TagMap) -> KeyAgg:
        """The (model, provider, agent, profile) aggregate of an at-daemon context, resolved once per context."""
        if tags.agg is None:
            t = self.vocab.tags
            tags.agg = self._key_agg(tags.get(t["model"], ""), tags.get(t["provider"], ""),
                                     tags.get(t["agent_name"], ""), tags.get(t["profile"], ""))
        return tags.agg

    def _agent_of(self, tags: TagMap) -> AgentAgg:
        """The (agent, task) aggregate of a context, resolved once per context."""
        if tags.agent is None:
            t = self.vocab.tags
            tags.agent = self._agent(tags.get(t["agent_name"], ""), tags.get(t["task_type"], ""))
        return tags.agent

    def _at_bootstrap(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        self.bootstraps += s * w

    def _at_available(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        self.available = int(float(vals[-1]))

    def _at_selected(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        t = self.vocab.tags
        name, provider = tags.get(t["profile"]), tags.get(t["provider"])
        if not name:
            return
        self._profile(name, provider)
        if float(vals[-1]) >= 1:
            self._select(name, provider, sec)

    def _at_complete(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        t = self.vocab.tags
        failed = tags.get(t["success"], "true").lower() in FALSE_VALUES
        self._count_request(self._at_key(tags), s * w, failed, sec, tags.get(t["error_type"]))

    def _at_duration(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        self._latency(self._at_key(tags), vals, w, sec)

    def _at_tokens(self, attr: str) -> Handler:
        def handle(tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
            self._count_tokens(self._at_key(tags), attr, s * w, sec, len(vals) * w)
        return handle

    def _at_agent(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        agg = self._agent_of(tags)
        n = s * w
        agg.executions += n
        if tags.get(self.vocab.tags["success"], "true").lower() in FALSE_VALUES:
            agg.errors += n

    def _at_agent_duration(self, tags: TagMap, vals: list[float], s: float, w: float, sec: int) -> None:
        self._agent_of(tags).lazy_latency.add(vals, w)
