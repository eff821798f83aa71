"""Aggregation, the LLM rollups and the typed snapshot. No Textual here."""

from .cost import Pricer
from .engine import Engine
from .llm import LLMRollup
from .store import Store
from .vocab import Vocabulary

__all__ = ["Engine", "LLMRollup", "Pricer", "Store", "Vocabulary"]
