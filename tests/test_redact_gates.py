"""The redactor's gates (model/redact_gates.py) only skip regexes that cannot match: the gated redactor's
output and counts equal those of the regexes alone, on text built to sit at every gate's edge."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from tundra_tui.model.redact import DEFAULT_RULES, Redactor
from tundra_tui.model.redact_gates import GATES, possible

# what the rules look for, near misses of it, and characters a gate reads differently from the regex
_FRAGMENTS = [
    "ann@corp.example.org", "a@b", "@", "x@y.z", "Bearer abc.def", "BEARER:t0k", "bEaReR\tq", "bear er",
    "sk-0123456789abcdefXY", "sk_" + "a" * 16, "rk-short", "AKIAABCDEFGHIJKLMNOP", "AKIA1234", "xoxb-1234567890a",
    "ghp_" + "Z" * 20, "gh_x", "ab" * 16, "AB" * 17, "0" * 31, "10.0.0.1", "255.255.255.255", "1.2.3",
    "999.1.1.1", "::1", "fe80::1", "2001:db8:0:0:0:0:2:1", "a:b", "::ffff:1.2.3.4", "4111 1111 1111 1111",
    "4111-111111-11111", "4111111111111111", "1234", "12.34.56.78.9",
    "\u0663" * 4, "\u0661\u0660.\u0660.\u0660.\u0661", "\u096a\u0967\u0967\u0967" * 4,
    "K", "\u212a", "\u017f", "ß", "İ", "\ud800", "é", "…", ":", ".", "-", "_", " ", "\n", "\t",
]
_ALPHABET = st.sampled_from([*"0123456789abcdefABCDEFxyzkKs.:@-_ \t\n", "\u0663", "\u00e9", "\u212a", "\ud800"])
texts = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(_ALPHABET, max_size=12), st.text(max_size=8)),
                 max_size=8).map("".join)


@given(texts)
@example("mail ann@corp.example.org from 10.0.0.1 with sk-0123456789abcdefXY and 4111 1111 1111 1111")
@example("\u0663" * 14)  # Arabic-Indic digits: `\d` matches them, so the card gate must let them through
def test_every_gate_holds_where_its_rule_matches(text: str) -> None:
    gate_holds(text)


@given(texts, st.sampled_from(["text", "name", "tags", "line"]))
def test_gated_redaction_equals_the_regexes_alone(text: str, how: str) -> None:
    same_redaction(text, how)


def gate_holds(text: str) -> None:
    may = possible(text)
    for name, pattern, _where in DEFAULT_RULES:
        if re.search(pattern, text):
            assert may & GATES[name], (name, text)


def same_redaction(text: str, how: str) -> None:
    fast, slow = Redactor(), Redactor(gated=False)
    if how == "tags":
        tags = tuple(text.split(",")) or ("",)
        assert fast.tags(tags) == slow.tags(tags)
    else:
        assert getattr(fast, how)(text) == getattr(slow, how)(text)


def test_every_fragment_alone_and_in_prose() -> None:
    for fragment in _FRAGMENTS:
        for text in (fragment, f"see {fragment}, then"):
            gate_holds(text)
            for how in ("text", "name", "tags", "line"):
                same_redaction(text, how)


def test_gates_skip_clean_text_and_config_rules_keep_their_own_pattern() -> None:
    assert possible("an answer " * 30) == 0  # nothing a default rule could match: no regex runs
    assert possible("from ann@x.io") == GATES["email"]
    # a config rule named like a default one is not the default one: it is never gated
    r = Redactor.from_config({"defaults": False, "rules": [{"name": "email", "pattern": "secret"}]})
    assert r.text("a secret") == "a [redacted:email]"
