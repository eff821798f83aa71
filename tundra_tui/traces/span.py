"""The one normalised LLM-span record, and the edge cleaning every string from a payload goes through."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..text import clean

NAME_CAP = 200  # names, models, services, error types: one line each
TEXT_CAP = 64 * 1024  # prompts and completions as decoded; the aggregator redacts, then cuts to its own limit


def clean_name(value: object, cap: int = NAME_CAP) -> str:
    """A one-line field: not-a-string becomes "", controls and line breaks shown as escapes (the one
    sanitiser, tundra_tui/text.py), cut to `cap`."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return ""
    if len(value) <= cap and value.isprintable():  # the usual case, checked in C: no controls, no bidi marks
        return value.strip()
    return clean(value[: cap * 2])[:cap].strip()


def clean_text(value: str, cap: int = TEXT_CAP) -> str:
    """Multi-line text: newlines and tabs kept, other controls made visible, cut to `cap` characters."""
    return clean(value[: cap * 2], multiline=True)[:cap]


def cut_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes (on a character boundary), marked with an ellipsis when cut."""
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return text
    return raw[: max(limit - 3, 0)].decode("utf-8", "ignore") + "…"


@dataclass(frozen=True, slots=True)
class LLMSpan:
    """One LLM span however it arrived (v0.4 `_llmobs`, EVP event, or an APM span's shadow tags).

    `trace_id` is the 128-bit id as 32 hex digits; `span_id`/`parent_id` are decimal strings
    (`parent_id` "" for a root). Times are ns since the epoch. Tokens are None when not reported.
    """

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: str
    ml_app: str
    service: str
    model: str
    provider: str
    start_ns: int
    duration_ns: int
    status: str  # "ok" or "error"
    error_type: str
    error_message: str
    input_tokens: float | None
    output_tokens: float | None
    input: str
    output: str
    origin: str  # "v0.4", "v0.5", "evp" or "shadow": which decoder made it

    @property
    def key(self) -> tuple[str, str]:
        """What duplicates share."""
        return (self.trace_id, self.span_id)

    @property
    def end_ns(self) -> int:
        return self.start_ns + self.duration_ns

    def as_dict(self) -> dict[str, Any]:
        """Every field, as plain data (the sidecar's line)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: object) -> LLMSpan | None:
        """A record back from `as_dict` output (a sidecar line); None when it is not one."""
        if not isinstance(raw, dict):
            return None
        try:
            return cls(
                trace_id=clean_name(raw["trace_id"], 32), span_id=clean_name(raw["span_id"], 20),
                parent_id=clean_name(raw["parent_id"], 20), name=clean_name(raw["name"]),
                kind=clean_name(raw["kind"]), ml_app=clean_name(raw["ml_app"]), service=clean_name(raw["service"]),
                model=clean_name(raw["model"]), provider=clean_name(raw["provider"]),
                start_ns=whole(raw["start_ns"]), duration_ns=whole(raw["duration_ns"]),
                status="error" if raw["status"] == "error" else "ok", error_type=clean_name(raw["error_type"]),
                error_message=clean_name(raw["error_message"], 1000),
                input_tokens=count_or_none(raw["input_tokens"]), output_tokens=count_or_none(raw["output_tokens"]),
                input=clean_text(raw["input"]) if isinstance(raw["input"], str) else "",
                output=clean_text(raw["output"]) if isinstance(raw["output"], str) else "",
                origin=clean_name(raw["origin"], 10))
        except KeyError:
            return None


def whole(value: object) -> int:
    """A non-negative int from a number field (0 when it is not one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    if value != value or value in (float("inf"), float("-inf")):
        return 0
    return max(int(value), 0)


def count_or_none(value: object) -> float | None:
    """A finite, non-negative token count, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return v if v == v and 0 <= v < float("inf") else None

