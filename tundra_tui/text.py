"""The one sanitiser for text from outside (datagrams, captures, the Agent's /info, the Datadog API).

Every string that can reach a screen, a terminal or a report passes here where it enters tundra
(the DogStatsD parser, the trace-port decoders, the Agent probe, the fleet answer).
Control characters are shown, not obeyed: ESC, OSC, BEL, C1 controls and the bidi overrides that
reorder a line are written as visible `\\xNN` / `\\uNNNN` escapes, so `\\x1b]2;EVIL\\x07` can neither
retitle a terminal nor break a layout, and two different names stay tell-apart-able. Pure: no I/O.
"""

from __future__ import annotations

import re

# C0 (tab and newline included), DEL, C1, the bidi embeddings/overrides/isolates and marks, and the
# Unicode line and paragraph separators (a terminal may move the cursor on them)
_BIDI = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"
_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_CONTROL_BUT_NL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")  # multi-line text keeps tab and newline
MAX_TEXT = 1024  # characters kept of one string from an HTTP answer (datagram text is bounded by its datagram)


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def clean(text: str, multiline: bool = False) -> str:
    """`text` with control characters made visible (tabs and newlines kept when `multiline`)."""
    if text.isprintable():  # the usual case, checked in C: no controls, no bidi or line-separator marks
        return text
    pattern = _CONTROL_BUT_NL if multiline else _CONTROL
    return pattern.sub(_escape, text)


def clean_bytes(raw: bytes, multiline: bool = False) -> str:
    """Bytes from outside as safe text: invalid UTF-8 replaced, controls made visible."""
    return clean(raw.decode("utf-8", "replace"), multiline)


def clean_any(value: object, multiline: bool = False) -> str | None:
    """A JSON value from an HTTP answer as safe text, cut to MAX_TEXT (None stays None; others as their str)."""
    if value is None:
        return None
    text = value if isinstance(value, str) else _short_repr(value)
    return clean(text[:MAX_TEXT] + "…" if len(text) > MAX_TEXT else text, multiline)


def _short_repr(value: object) -> str:
    if not isinstance(value, int | float):
        return f"<{type(value).__name__}>"  # a list or object where text belongs: named, not dumped
    try:
        return repr(value)[: MAX_TEXT + 1]
    except ValueError:  # an int past Python's digit limit
        return "<huge number>"
