"""Metric and tag names of the LLM vocabularies tundra understands (at-daemon ones overridable)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

AT_METRICS = {
    "bootstrap": "llm.profile.bootstrap",
    "available": "llm.profile.total_available",
    "selected": "llm.profile.selected",
    "request_start": "llm.request.start",
    "request_complete": "llm.request.complete",
    "request_duration": "llm.request.duration",
    "tokens_input": "llm.tokens.input",
    "tokens_output": "llm.tokens.output",
    "tokens_used": "llm.tokens.used",
    "agent_execution": "llm.agent.execution",
    "agent_duration": "llm.agent.execution.duration",
}
AT_TAGS = {
    "model": "model", "provider": "provider", "profile": "profile", "agent_name": "agent_name",
    "task_type": "task_type", "success": "success", "error_type": "error_type",
}


@dataclass
class Vocabulary:
    """Names used to read the stream. `metrics`/`tags` map tundra's roles to the daemon's names."""

    metrics: dict[str, str] = field(default_factory=lambda: dict(AT_METRICS))
    tags: dict[str, str] = field(default_factory=lambda: dict(AT_TAGS))
    provider_check: str = "at_daemon.llm.provider"

    @classmethod
    def with_overrides(cls, metrics: dict[str, str] | None = None, tags: dict[str, str] | None = None
                       ) -> Vocabulary:
        """Defaults with user overrides; unknown roles raise KeyError naming the role."""
        v = cls()
        for table, given in ((v.metrics, metrics or {}), (v.tags, tags or {})):
            for role, name in given.items():
                if role not in table:
                    raise KeyError(role)
                table[role] = name
        return v


ROLES = [f.name for f in fields(Vocabulary)]
FALSE_VALUES = frozenset({"false", "0", "no", "f", "error", "failed"})
