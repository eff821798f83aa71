"""DogStatsD protocol: the Agent's grammar as a pure parser."""

from .parser import KINDS, ParseError, Parser
from .records import STATUS_NAMES, BadLine, Context, Event, Metric, Record, ServiceCheck, split_tag

__all__ = ["KINDS", "STATUS_NAMES", "BadLine", "Context", "Event", "Metric", "ParseError", "Parser",
           "Record", "ServiceCheck", "split_tag"]
