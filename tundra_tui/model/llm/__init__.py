"""The LLM picture over the stream: profiles, per-model tokens/cost/latency, agents, events, checks.

Understands the at-daemon vocabulary (default, names overridable), Datadog LLM Observability
`ml_obs.*` (seconds, nanodollars) and OTel GenAI `gen_ai.*` (seconds) at the same time; one
handler module per vocabulary, all folding into the aggregates of `aggregates.py`.
"""

from .aggregates import AgentAgg, Groups, Key, KeyAgg, Plan, TagMap
from .grouping import GROUPINGS, Group, group, total
from .rollup import LLMRollup

__all__ = ["GROUPINGS", "AgentAgg", "Group", "Groups", "Key", "KeyAgg", "LLMRollup", "Plan", "TagMap", "group",
           "total"]
