"""Frozen records produced by the DogStatsD parser."""

from __future__ import annotations

from typing import NamedTuple

from ..text import clean_bytes

METRIC_TYPES = ("c", "g", "h", "d", "s", "ms")


class Context(NamedTuple):
    """One metric context: name, type and sorted, de-duplicated tags (special tags removed)."""

    name: str
    mtype: str
    tags: tuple[str, ...]
    host: str | None = None


def split_tag(tag: str) -> tuple[str, str]:
    """A tag's key and value, split at its first colon (`url:http://x` keeps its value whole); a bare tag
    (`canary`) has the value ""."""
    key, _, value = tag.partition(":")
    return key, value


class Metric(NamedTuple):
    """One metric line. `values` holds floats, or one raw string for a set."""

    context: Context
    values: tuple[float, ...] | tuple[str, ...]
    rate: float = 1.0
    timestamp: int | None = None
    container: str | None = None
    external: str | None = None
    cardinality: str | None = None


class Event(NamedTuple):
    """One `_e{..}` event."""

    title: str
    text: str
    timestamp: int | None = None
    host: str | None = None
    aggregation_key: str | None = None
    priority: str = "normal"
    source_type: str | None = None
    alert_type: str = "info"
    tags: tuple[str, ...] = ()
    container: str | None = None
    external: str | None = None
    cardinality: str | None = None


class ServiceCheck(NamedTuple):
    """One `_sc|` service check. Status 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""

    name: str
    status: int
    timestamp: int | None = None
    host: str | None = None
    tags: tuple[str, ...] = ()
    message: str | None = None
    container: str | None = None
    external: str | None = None
    cardinality: str | None = None


class BadLine(NamedTuple):
    """A rejected line kept so the user can see it."""

    kind: str  # "metric" | "event" | "service_check"
    reason: str
    line: bytes

    @property
    def text(self) -> str:
        """The line as it may be shown: control characters made visible."""
        return clean_bytes(self.line)


Record = Metric | Event | ServiceCheck
STATUS_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
