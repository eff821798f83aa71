"""Dollar cost from token counts: genai-prices, user overrides, and daemon-reported cost.

Rules (docs/json.md, "Pricing"): a cost the daemon reports itself wins; then prices the user configured;
then the genai-prices table. A model with no price has cost None ("n/a"), never 0.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from genai_prices.types import ModelPrice, PriceCalculation

# genai-prices is imported where a price is first needed: it brings pydantic and an HTTP client,
# a third of a second that `stats` and every session with no priced model would pay for nothing.

# Provider tag values as daemons send them, mapped to genai-prices provider ids.
_PROVIDER_IDS = {"openai": "openai", "anthropic": "anthropic", "google": "google", "gemini": "google",
                 "vertex": "google", "mistral": "mistral", "groq": "groq", "azure": "azure",
                 "bedrock": "aws", "aws": "aws", "cohere": "cohere", "deepseek": "deepseek", "x-ai": "x-ai",
                 "xai": "x-ai", "openrouter": "openrouter", "together": "together", "fireworks": "fireworks"}


def price_from_config(entry: dict[str, Any]) -> ModelPrice:
    """A user price entry (`input_mtok`, `output_mtok`, optional `cache_read_mtok`) as a ModelPrice."""
    from genai_prices.types import ModelPrice

    kwargs = {k: Decimal(str(entry[k])) for k in ("input_mtok", "output_mtok", "cache_read_mtok",
                                                   "cache_write_mtok") if k in entry}
    return ModelPrice(**kwargs)


class Pending(enum.Enum):
    """An answer not known yet: the price helper is still being asked (shown as "…", JSON `pricing: true`)."""

    PRICING = "pricing"


PRICING = Pending.PRICING
CostAnswer = float | None | Pending  # USD; None when nothing prices the model; PRICING while it is asked


class CostSource(Protocol):
    """What the LLM rollup asks for a price (Pricer here; services.prices.HelperPricer out of process).

    `cost` never blocks on I/O: an answer not known yet is PRICING, and a later call has it."""

    def cost(self, model: str, provider: str, input_tokens: float, output_tokens: float,
             cache_read_tokens: float = 0.0, part: tuple[str, ...] = (), requests: float = 1.0) -> CostAnswer: ...

    def prefetch(self) -> None: ...

    def when_priced(self, callback: Callable[[], object]) -> None: ...

    def settle(self, timeout: float) -> bool: ...

    def close(self) -> None: ...


Tokens = tuple[int, int, int, float]  # input (cached included), output, cache read; over how many requests
MemoKey = tuple[str, str, tuple[str, ...]]  # (model, provider, part): one remembered answer each


def usage_key(input_tokens: float, output_tokens: float, cache_read_tokens: float,
              requests: float) -> Tokens | None:
    """What a price is asked for, as the memo and the price helper keep it; None when it cannot be priced."""
    if not all(map(math.isfinite, (input_tokens, output_tokens, cache_read_tokens, requests))):
        return None
    return round(input_tokens), round(output_tokens), round(cache_read_tokens), max(round(requests, 3), 1.0)


class MemoCost:
    """`cost()` with the last answer per (model, part) kept: a dashboard asks every tick, tokens rarely change."""

    def __init__(self) -> None:
        self._last: dict[MemoKey, tuple[Tokens, float | None]] = {}

    def cost(self, model: str, provider: str, input_tokens: float, output_tokens: float,
             cache_read_tokens: float = 0.0, part: tuple[str, ...] = (), requests: float = 1.0) -> float | None:
        """USD for these tokens, or None when nothing prices the model; `input_tokens` includes cached ones,
        as genai-prices expects. `part` names which tagged part of the model's tokens these are (an agent's,
        say), so that each part keeps its own remembered answer. The tokens are priced as `requests` requests
        of their average size: a tiered price (Anthropic's and Google's past 200k input tokens) applies per
        request, not to a session's sum."""
        tokens = usage_key(input_tokens, output_tokens, cache_read_tokens, requests)
        if tokens is None:
            return None  # no price for tokens nobody can count (the engine never folds such values)
        last = self._last.get((model, provider, part))
        if last is None or last[0] != tokens:
            last = self._last[(model, provider, part)] = (tokens, self._compute(model, provider, tokens))
        return last[1]

    def _compute(self, model: str, provider: str, tokens: Tokens) -> float | None:
        raise NotImplementedError


class Pricer(MemoCost):
    """Resolves and caches one ModelPrice per (model, provider); None when nothing prices it."""

    def __init__(self, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__()
        self._given = overrides or {}
        self._overrides: dict[str, ModelPrice] | None = None  # built on first use: genai-prices loads then
        self._cache: dict[tuple[str, str], ModelPrice | None] = {}

    def prefetch(self) -> None:
        """Nothing to start ahead: the table loads on the first lookup."""

    def when_priced(self, callback: Callable[[], object]) -> None:
        """Nothing to hear of: answers here are never pending."""

    def settle(self, timeout: float) -> bool:
        """Answers here are never pending."""
        return True

    def close(self) -> None:
        """Nothing to release."""

    def price_for(self, model: str, provider: str) -> ModelPrice | None:
        """The price the cost rules choose for this model (user config first, then the table)."""
        key = (model, provider)
        if key in self._cache:
            return self._cache[key]
        if self._overrides is None:
            self._overrides = {k: price_from_config(v) for k, v in self._given.items()}
        price = self._overrides.get(f"{provider}/{model}") or self._overrides.get(model)
        if price is None:
            price = _table_price(model, provider)
        self._cache[key] = price
        return price

    def _compute(self, model: str, provider: str, tokens: Tokens) -> float | None:
        price = self.price_for(model, provider)
        if price is None:
            return None
        from genai_prices import Usage

        i, o, c, n = average_request(tokens)
        usage = Usage(input_tokens=i, output_tokens=o, cache_read_tokens=c)  # Decimal counts work as ints do
        try:
            return float(price.calc_price(usage)["total_price"] * n)  # ~140 µs: hence the memo
        except ValueError:  # counts genai-prices refuses (cache reads past the input, from any sender): no price;
            return None  # raised, it ended the price helper, then the pricer's worker: "pricing…" for every model


def average_request(tokens: Tokens) -> tuple[Decimal, Decimal, Decimal | None, Decimal]:
    """One average request's input, output and cache-read tokens (None: none) and the number of requests: the
    cost is one such request priced, times their number (exact Decimal arithmetic)."""
    n = Decimal(str(tokens[3]))
    return tokens[0] / n, tokens[1] / n, (tokens[2] / n) or None, n


def _table_price(model: str, provider: str) -> ModelPrice | None:
    found = table_match(model, provider)
    return found.model_price if found is not None else None


def table_match(model: str, provider: str) -> PriceCalculation | None:
    """genai-prices' match for this model and provider (its model, and the price it resolves now); None if none."""
    from genai_prices import Usage, calc_price

    probe = Usage(input_tokens=1, output_tokens=1)
    pid = _PROVIDER_IDS.get(provider.lower().replace(" ", ""))
    for provider_id in ([pid, None] if pid else [None]):
        if provider_id is None and provider and pid is None and provider.lower() in ("local", "ollama", "vllm"):
            return None  # a local runtime's model name must not be priced as a cloud model
        try:
            return calc_price(probe, model, provider_id=provider_id)
        except LookupError:  # what genai-prices raises for a model or provider it does not know
            continue
    return None
