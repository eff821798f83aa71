"""PII redaction: configurable regexes over parsed fields, applied before anything is shown (and, with
--redact-captures, before anything is recorded).

Rules see one field at a time: a metric or check name, a tag key, a tag value, an event title or
text, a check message or host. Never a whole line (so no match runs into the next one), and never the
numeric value or type of a metric (numbers and the grammar stay untouched; set members are text).
Rules marked "tags" apply to names and tags, "text" to event text and check messages, "both" to all.

Display redaction replaces a match with `[redacted:<rule>]`. Capture redaction masks a match with `*`
of the same length, field by field, so every datagram still parses and `_e{..}` lengths stay right.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, AnyStr

from ..protocol import Context, Event, ServiceCheck
from ..protocol.floats import go_float
from .redact_gates import ALL, GATES, possible, possible_bytes

_HEX4 = "[0-9A-Fa-f]{1,4}"
_V4 = r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}"
_V6 = (rf"(?<![0-9A-Za-z])(?:(?:{_HEX4}:){{7}}{_HEX4}"  # full form
       rf"|(?:{_HEX4}:){{1,7}}:(?:{_HEX4}(?::{_HEX4}){{0,5}}|{_V4})?"  # a::, a::b, a:b::c:d, ::ffff:1.2.3.4
       rf"|::(?:{_HEX4}(?::{_HEX4}){{0,6}}|{_V4}))(?![0-9A-Za-z])")  # ::1

# (name, pattern, where): where is "tags", "text" or "both"
DEFAULT_RULES: list[tuple[str, str, str]] = [
    # a match may start only where a run of local-part characters starts: without the look-behind, a
    # 64 KiB name with no `@` cost a quadratic scan (seconds per new context)
    ("email", r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", "both"),
    ("bearer", r"(?i)\bbearer[ \t:=]+[A-Za-z0-9._~+/-]+=*", "both"),  # spaces and tabs only: never a line break
    ("api_key", r"\b(?:sk|pk|rk)[-_][A-Za-z0-9_-]{16,}|(?<![A-Z0-9])AKIA[0-9A-Z]{16}(?![A-Z0-9])"
                r"|\bxox[abpr]-[A-Za-z0-9-]{10,}|\bgh[pousr]_[A-Za-z0-9]{20,}|\b[0-9a-fA-F]{32,}\b", "both"),
    ("ipv4", rf"\b{_V4}\b", "both"),
    ("ipv6", _V6, "both"),
    # 13-19 digits in one run, or in groups as printed (4-4-4-4, 4-6-5); kept only when the Luhn check passes
    ("card", r"(?<![\d.])(?:\d{13,19}|\d{4}[ -]\d{4,6}[ -]\d{4,5}(?:[ -]\d{1,4})?)(?![\d.])", "both"),
]


def luhn(digits: str) -> bool:
    """True for a 13-19 digit card number whose Luhn checksum holds (spaces and dashes ignored)."""
    ds = [int(c) for c in digits if c.isdigit()]
    if not 13 <= len(ds) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(ds)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_CHECKS: dict[str, Callable[[str], bool]] = {"card": luhn}


def _numbers(value: bytes) -> bool:
    """True when a metric's value field is numbers the parser takes: those are never masked."""
    try:
        for v in value.split(b":"):
            if v:
                go_float(v)
    except ValueError:
        return False
    return True


class _Star:
    """A capture mask: `*` of the match's length, where the rule's check (if any) agrees. A class, not a
    closure: a redactor is pickled to the processes that prescan a replay."""

    def __init__(self, check: Callable[[str], bool] | None) -> None:
        self.check = check

    def __call__(self, m: re.Match[bytes]) -> bytes:
        hit = m.group(0)
        if self.check is not None and not self.check(hit.decode("latin-1")):
            return hit
        return hit.translate(_MASK)  # separators kept: a mask never moves where a line splits


def _sub_from(pattern: re.Pattern[AnyStr], repl: Callable[[re.Match[AnyStr]], AnyStr], text: AnyStr,
              first: re.Match[AnyStr]) -> AnyStr:
    """`pattern.sub(repl, text)` given its first match: the text before it is not scanned a second time (the
    matches from there are the ones sub finds: look-behinds and word boundaries still see the text before `first`)."""
    parts: list[AnyStr] = []
    last = 0
    for m in pattern.finditer(text, first.start()):
        parts += (text[last : m.start()], repl(m))
        last = m.end()
    parts.append(text[last:])
    return text[:0].join(parts)


# every byte becomes `*` but the grammar's separators (`:` `|` `,` and line breaks), which stay in place
_MASK = bytes(c if c in b":|,\n\r" else 42 for c in range(256))


@dataclass
class Rule:
    name: str
    pattern: re.Pattern[str]
    bytes_pattern: re.Pattern[bytes]
    where: str
    check: Callable[[str], bool] | None = None  # a match counts only if this agrees (card numbers: Luhn)
    gate: int = 0  # its bit in redact_gates.possible(); 0: not gated, always run

    @property
    def label(self) -> str:
        return f"[redacted:{self.name}]"


MEMO = 16_384  # distinct names and tags remembered as shown (a cardinality bomb only empties the memo)
MEMO_CHARS = 256  # longer ones are not remembered: the memo stays within a few MiB


class Redactor:
    """Applies the rules to parsed fields (the engine counts the lines it changed)."""

    def __init__(self, rules: list[tuple[str, str, str]] | None = None, enabled: bool = True,
                 gated: bool = True) -> None:
        self.enabled = enabled
        self.rules = []
        for n, p, w in DEFAULT_RULES if rules is None else rules:
            default = (n, p, w) in DEFAULT_RULES  # a config rule of the same name has its own pattern: no gate
            self.rules.append(Rule(n, re.compile(p), re.compile(p.encode()), w, _CHECKS.get(n) if default else None,
                                   GATES.get(n, 0) if default and gated else 0))
        self._labels = [r.label for r in self.rules]
        self._templates = [label.replace("\\", "\\\\") for label in self._labels]  # re.sub's form: a
        # backslash in a rule's name is text, not a group reference
        self._stars = [_Star(r.check) for r in self.rules]
        self._gated = any(r.gate for r in self.rules)
        # a name or tag as shown, by its raw form: contexts share most tags, and `stats` shows (and counts the
        # redactions of) every context at its end, so each distinct string goes through the rules once
        self._shown: tuple[dict[str, str], dict[str, str]] = ({}, {})  # names, tags

    def __getstate__(self) -> dict[str, Any]:
        """Replay checkpoints copy the engine and its redactor: the memo is left out (refilled on use)."""
        state = self.__dict__.copy()
        state["_shown"] = ({}, {})
        return state

    @classmethod
    def from_config(cls, raw: dict[str, Any], enabled: bool = True) -> Redactor:
        """`[redact] rules = [{name, pattern, where}]` replaces the defaults; `defaults = true` keeps them too."""
        extra = [(r["name"], r["pattern"], r.get("where", "both")) for r in raw.get("rules", [])]
        base = DEFAULT_RULES if raw.get("defaults", True) else []
        return cls([*base, *extra], enabled=enabled and raw.get("enabled", True))

    # -- display: `[redacted:rule]` -------------------------------------------------------------
    def _sub(self, text: str, where: str) -> str:
        may = possible(text) if self._gated else ALL  # which rules can match; again only when a rule changed it
        for rule, label, template in zip(self.rules, self._labels, self._templates, strict=True):
            if rule.where not in (where, "both") or (rule.gate and not rule.gate & may):
                continue
            if rule.check is None:
                new = rule.pattern.sub(template, text)
            elif (first := rule.pattern.search(text)) is not None:
                new = _sub_from(rule.pattern, self._checked_sub(rule, label), text, first)
            else:
                continue
            if new != text:
                text = new
                may = possible(text) if self._gated else ALL
        return text

    def _checked_sub(self, rule: Rule, label: str) -> Callable[[re.Match[str]], str]:
        """The replacement for a rule with a check: only matches the check agrees with are redacted."""
        def sub(m: re.Match[str]) -> str:
            if rule.check is not None and not rule.check(m.group(0)):
                return m.group(0)
            return label
        return sub

    def name(self, name: str) -> str:
        """A metric or check name as it may be shown."""
        return (self._shown[0].get(name) or self._remembered(name, False)) if self.enabled else name

    def tags(self, tags: tuple[str, ...]) -> tuple[str, ...]:
        """Tags with keys and values redacted, each on its own."""
        if not self.enabled:
            return tags
        shown = self._shown[1]
        out = [shown.get(t) or self._remembered(t, True) for t in tags]
        return tuple(sorted(set(out)))

    def _remembered(self, raw: str, tag: bool) -> str:
        """A name, or a tag (`tag`), as shown; remembered (up to MEMO distinct strings, then forgotten at once).
        A tag's key and value are redacted each, then the whole tag: an IPv6 address spans the `:` between them."""
        key, sep, value = raw.partition(":") if tag else (raw, "", "")
        shown = self._sub(self._sub(key, "tags") + sep + self._sub(value, "tags"), "tags") if sep else self._sub(
            raw, "tags")
        memo = self._shown[tag]
        if len(raw) <= MEMO_CHARS:  # a hostile 64 KiB tag is redacted each time, never kept
            if len(memo) >= MEMO:
                memo.clear()
            memo[raw] = shown
        return shown

    def text(self, text: str) -> str:
        """Event text or a check message as it may be shown."""
        return self._sub(text, "text") if self.enabled and text else text

    def context(self, ctx: Context) -> Context:
        """The context as it may be shown: name, tag keys and tag values."""
        if not self.enabled:
            return ctx
        name, tags = self.name(ctx.name), self.tags(ctx.tags)
        return ctx if name == ctx.name and tags == ctx.tags else ctx._replace(name=name, tags=tags)

    def event(self, e: Event) -> Event:
        if not self.enabled:
            return e
        return e._replace(title=self.text(e.title), text=self.text(e.text), tags=self.tags(e.tags))

    def check(self, sc: ServiceCheck) -> ServiceCheck:
        if not self.enabled:
            return sc
        return sc._replace(name=self.name(sc.name), tags=self.tags(sc.tags),
                           message=self.text(sc.message) if sc.message else sc.message)

    def line(self, raw: str) -> str:
        """A raw line shown as a bad-line sample (one line, unparsed): every rule applies."""
        if not self.enabled:
            return raw
        return self._sub(self._sub(raw, "tags"), "text")

    # -- captures: `*` masks, field by field -------------------------------------------------------
    def datagram(self, payload: bytes) -> bytes:
        """For captures: each line masked field by field, `*` of the same length; values and types untouched."""
        return b"\n".join(self._mask_line(line) for line in payload.split(b"\n"))

    def _mask(self, field: bytes, where: str, may: int) -> bytes:
        """`field` masked by each rule for `where` that `may` (its line's gates) lets run, one pass a rule."""
        for rule, star in zip(self.rules, self._stars, strict=True):
            if rule.where not in (where, "both") or (rule.gate and not rule.gate & may):
                continue
            first = rule.bytes_pattern.search(field)
            if first is not None:
                field = _sub_from(rule.bytes_pattern, star, field, first)
        return field

    def _mask_tags(self, raw: bytes, may: int) -> bytes:
        out = []
        for tag in raw.split(b","):
            key, sep, value = tag.partition(b":")
            out.append(self._mask(self._mask(key, "tags", may) + sep + self._mask(value, "tags", may), "tags", may))
        return b",".join(out)

    def _mask_fields(self, fields: list[bytes], may: int) -> list[bytes]:
        """Optional `|` fields: tags, host, aggregation key, source and check message; the rest as they are."""
        out = []
        for f in fields:
            if f[:1] == b"#":
                f = b"#" + self._mask_tags(f[1:], may)
            elif f[:2] in (b"h:", b"k:", b"s:"):
                f = f[:2] + self._mask(f[2:], "tags", may)
            elif f[:2] == b"m:":
                f = f[:2] + self._mask(f[2:], "text", may)
            out.append(f)
        return out

    def _gates(self, raw: bytes) -> int:
        """The rules that may match `raw` or any piece of it, masked or not.

        Read once a line (or an event's message), not a field: a short field costs more to gate than to search.
        Each fact a gate reads is a piece of text, so a piece of `raw` shows it only if `raw` does; and a mask
        only turns bytes into `*`, which no gate reads."""
        return possible_bytes(raw) if self._gated else ALL

    def _mask_line(self, line: bytes) -> bytes:
        if line.startswith(b"_e{"):
            return self._mask_event(line)
        if line.startswith(b"_sc|"):
            may = self._gates(line[4:])  # not the `_` of `_sc|`, which would wake the api_key rule for nothing
            fields = line[4:].split(b"|")
            return b"_sc|" + b"|".join([self._mask(fields[0], "tags", may), *fields[1:2],
                                        *self._mask_fields(fields[2:], may)])
        may = self._gates(line)
        name, sep, rest = line.partition(b":")
        if not sep:  # not a metric: one field, masked whole
            return self._mask(line, "tags", may)
        value, *fields = rest.split(b"|")  # the value(s), then the type
        if fields and fields[0] == b"s":
            value = self._mask(value, "tags", may)  # a set member is text (a user id, often)
        elif not _numbers(value):  # a line the parser refuses anyway: masked whole, so nothing hides in a split
            return self._mask(self._mask(line, "tags", may), "text", may)
        return b"|".join([self._mask(name, "tags", may) + b":" + value, *self._mask_fields(fields, may)])

    def _mask_event(self, line: bytes) -> bytes:
        header, sep, message = line.partition(b":")
        lengths = header[3:-1].split(b",")
        if not sep or not header.endswith(b"}") or len(lengths) != 2 or not all(x.isdigit() for x in lengths):
            return self._mask(line, "text", self._gates(line))  # unparseable anyway: masked whole, still one line
        tl, xl = int(lengths[0]), int(lengths[1])
        title, text, rest = message[:tl], message[tl + 1 : tl + 1 + xl], message[tl + 1 + xl :]
        if len(title) + len(text) + 1 != len(message[: tl + 1 + xl]):
            return self._mask(line, "text", self._gates(line))  # shorter than its lengths: malformed, masked whole
        may = self._gates(message)  # not the header's `_` and lengths: they would wake two rules for nothing
        body = self._mask(title, "text", may) + message[tl : tl + 1] + self._mask(text, "text", may)
        if rest[:1] == b"|":
            rest = b"|" + b"|".join(self._mask_fields(rest[1:].split(b"|"), may))
        elif rest:
            rest = self._mask(rest, "text", may)
        return header + b":" + body + rest
