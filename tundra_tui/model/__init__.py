"""Aggregation, the LLM rollups and the typed snapshot. No Textual here.

The names below are imported from their modules on first use: the price helper
(`python -m tundra_tui.services.prices`) needs `model.cost` alone, not the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cost import Pricer
    from .engine import Engine
    from .llm import LLMRollup
    from .store import Store
    from .vocab import Vocabulary

__all__ = ["Engine", "LLMRollup", "Pricer", "Store", "Vocabulary"]
_MODULES = {"Engine": "engine", "LLMRollup": "llm", "Pricer": "cost", "Store": "store", "Vocabulary": "vocab"}


def __getattr__(name: str) -> Any:
    """One of `__all__`, imported from its module the first time it is asked for."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
