"""How a snapshot part (model/snapshot.py) renders its JSON: its fields in order, nested parts as objects,
tuples as arrays; fields marked here stay out of it, or out of it while empty (docs/json.md)."""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any

from .spans import SpanSummary


def screen_only(default: Any = ()) -> Any:
    """A field the panes read that is not part of the JSON contract."""
    return field(default=default, metadata={"json": False})


def omitted_when_zero(default: Any = 0) -> Any:
    """A field the JSON carries only when it is not zero or None (so the usual row keeps its shape)."""
    return field(default=default, metadata={"omit_zero": True})


def plain(value: Any) -> Any:
    """A part (or anything inside one) as JSON-ready data."""
    if isinstance(value, SpanSummary):
        return value.as_json()  # the trace port's section renders itself
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.metadata.get("json", True) and not (f.metadata.get("omit_zero") and not getattr(value, f.name))}
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


class Part:
    """Base of every snapshot part: `to_json()` renders it."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        """This part as the JSON object docs/json.md describes."""
        out: dict[str, Any] = plain(self)
        return out
