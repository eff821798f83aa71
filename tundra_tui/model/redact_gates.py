"""Cheap necessary conditions for the default redaction rules, checked in C before a rule's regex runs.

Python's regex engine tries every position of a field, so six rules over a 2 KiB prompt cost far more
than decoding the span. Each gate here is a fact every match of its rule must show (an `@` for an
e-mail, four digits in a row for a card number): when the gate is false the rule cannot match and its
regex is skipped, so the redacted text is exactly what the regexes alone give (tests/test_redact_gates.py
checks that property). Digit and hex tests run on the text's UTF-8 bytes through a translation table.
Every non-ASCII byte counts as a digit there, because `\\d` also matches the digits of other scripts:
that errs towards running the regex, never towards skipping it.
"""

from __future__ import annotations

_HEX_CHARS = b"0123456789abcdefABCDEF"
# ASCII digits and all non-ASCII bytes -> "0", "." kept, everything else -> "x"
_DIGITS = bytes(0x30 if 0x30 <= c <= 0x39 or c >= 0x80 else 0x2E if c == 0x2E else 0x78 for c in range(256))
# ASCII hex digits -> "h", ":" kept, everything else -> "x" (the rules' hex classes are ASCII only)
_HEX = bytes(0x68 if c in _HEX_CHARS else 0x3A if c == 0x3A else 0x78 for c in range(256))
_HEX_RUN = b"h" * 32


# one bit per gated default rule
EMAIL, BEARER, API_KEY, IPV4, IPV6, CARD = (1 << i for i in range(6))
GATES = {"email": EMAIL, "bearer": BEARER, "api_key": API_KEY, "ipv4": IPV4, "ipv6": IPV6, "card": CARD}
ALL = EMAIL | BEARER | API_KEY | IPV4 | IPV6 | CARD


def possible(text: str) -> int:
    """The GATES bits of the rules that may match `text`; a rule whose bit is clear cannot."""
    return possible_bytes(text.encode("utf-8", "surrogatepass"))


def possible_bytes(raw: bytes) -> int:
    """`possible` for UTF-8 bytes (a capture's fields, which the rules' bytes patterns read): the same facts, as
    every ASCII character is the same byte there, and bytes patterns fold case and know digits in ASCII only."""
    digits = raw.translate(_DIGITS)
    hexes = raw.translate(_HEX)
    bits = 0
    if b"@" in raw:
        bits |= EMAIL
    if b"bearer" in raw.lower():  # (?i)bearer: no non-ASCII character folds to b, e, a or r in Python's re
        bits |= BEARER
    # sk-/pk-/rk- (or _), gh?_ and xox?- tokens, AWS AKIA keys, or a run of 32 hex digits
    if b"_" in raw or b"k-" in raw or b"xox" in raw or b"AKIA" in raw or _HEX_RUN in hexes:
        bits |= API_KEY
    if b"0.0" in digits:  # an octet's last digit, the dot, the next octet's first digit
        bits |= IPV4
    if b"::" in raw or b"h:h" in hexes:  # every form has "::" or two hex groups side by side
        bits |= IPV6
    if b"0000" in digits:  # both card forms start with four digits in a row
        bits |= CARD
    return bits
