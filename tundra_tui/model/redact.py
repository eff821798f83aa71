"""PII redaction: configurable regexes over tag values and event text, applied before anything is
shown (and, with --redact-captures, before anything is recorded).

Display redaction replaces a match with `[redacted:<rule>]`. Capture redaction masks a match
with `*` of the same length, so event byte lengths in `_e{..}` headers stay right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..protocol import Context, Event, ServiceCheck

# (name, pattern, where): where is "tags", "text" or "both"
DEFAULT_RULES: list[tuple[str, str, str]] = [
    ("email", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", "both"),
    ("bearer", r"(?i)\bbearer[\s:=]+[A-Za-z0-9._~+/-]+=*", "both"),
    ("api_key", r"\b(?:sk|pk|rk)[-_][A-Za-z0-9_-]{16,}|\bAKIA[0-9A-Z]{16}\b|\bxox[abpr]-[A-Za-z0-9-]{10,}"
                r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\b[0-9a-fA-F]{32,}\b", "both"),
    ("ipv4", r"\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b", "tags"),
]


@dataclass
class Rule:
    name: str
    pattern: re.Pattern[str]
    bytes_pattern: re.Pattern[bytes]
    where: str


class Redactor:
    """Applies the rules and counts what it replaced."""

    def __init__(self, rules: list[tuple[str, str, str]] | None = None, enabled: bool = True) -> None:
        self.enabled = enabled
        self.count = 0
        self.rules = [Rule(n, re.compile(p), re.compile(p.encode()), w)
                      for n, p, w in (DEFAULT_RULES if rules is None else rules)]

    @classmethod
    def from_config(cls, raw: dict[str, Any], enabled: bool = True) -> Redactor:
        """`[redact] rules = [{name, pattern, where}]` replaces the defaults; `defaults = true` keeps them too."""
        extra = [(r["name"], r["pattern"], r.get("where", "both")) for r in raw.get("rules", [])]
        base = DEFAULT_RULES if raw.get("defaults", True) else []
        return cls([*base, *extra], enabled=enabled and raw.get("enabled", True))

    def _sub(self, text: str, where: str) -> str:
        for rule in self.rules:
            if rule.where in (where, "both"):
                text, n = rule.pattern.subn(f"[redacted:{rule.name}]", text)
                self.count += n
        return text

    def tags(self, tags: tuple[str, ...]) -> tuple[str, ...]:
        """Tags with their values redacted (keys are kept)."""
        if not self.enabled:
            return tags
        out = []
        for t in tags:
            key, sep, value = t.partition(":")
            out.append(key + sep + self._sub(value, "tags") if sep else self._sub(t, "tags"))
        return tuple(sorted(set(out)))

    def text(self, text: str) -> str:
        return self._sub(text, "text") if self.enabled and text else text

    def context(self, ctx: Context) -> Context:
        """The context as it may be shown."""
        if not self.enabled:
            return ctx
        tags = self.tags(ctx.tags)
        return ctx if tags == ctx.tags else ctx._replace(tags=tags)

    def event(self, e: Event) -> Event:
        if not self.enabled:
            return e
        return e._replace(title=self.text(e.title), text=self.text(e.text), tags=self.tags(e.tags))

    def check(self, sc: ServiceCheck) -> ServiceCheck:
        if not self.enabled:
            return sc
        return sc._replace(tags=self.tags(sc.tags), message=self.text(sc.message) if sc.message else sc.message)

    def line(self, raw: str) -> str:
        """A raw line shown as a bad-line sample: every rule applies."""
        return self._sub(self._sub(raw, "tags"), "text") if self.enabled else raw

    def datagram(self, payload: bytes) -> bytes:
        """For captures: every rule, matches masked with `*` of the same length."""
        for rule in self.rules:
            payload = rule.bytes_pattern.sub(lambda m: b"*" * len(m.group(0)), payload)
        return payload
