"""The redactor's gates (model/redact_gates.py) only skip regexes that cannot match: the gated redactor's
output and counts equal those of the regexes alone, on text built to sit at every gate's edge."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from tundra_tui.model.redact import _MASK, DEFAULT_RULES, Redactor, _sub_from
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


# -- the capture masks (--redact-captures): the same gates, over a datagram's bytes --------------------------------

def _datagram(name: str, tag: str, text: str, kind: str) -> bytes:
    """One line of each shape the mask reads field by field (and two lines, and a line it masks whole)."""
    n, t, x = (s.encode("utf-8", "surrogatepass") for s in (name, tag, text))
    return {
        "metric": n + b":1|c|#" + t + b",env:" + x,
        "set": n + b":" + x + b"|s|#" + t,
        "refused": n + b":" + x + b"|c",
        "event": b"_e{%d,%d}:" % (len(n), len(x)) + n + b"|" + x + b"|#" + t + b"|h:" + t,
        "check": b"_sc|" + n + b"|2|h:" + t + b"|m:" + x + b"|#" + t,
        "two": n + b":1|g\n" + t + b":" + x + b"|s",
        "raw": n + t + x,
    }[kind]


datagrams = st.builds(_datagram, texts, texts, texts,
                      st.sampled_from(["metric", "set", "refused", "event", "check", "two", "raw"]))


@given(datagrams)
@example(b"users:ann@corp.example.org|s|#ip:10.0.0.1,card:4111 1111 1111 1111,key:sk-0123456789abcdefXY")
@example("m:1|c|#n:\u0663\u0663\u0663\u0663".encode())  # non-ASCII: the digit gate lets it through
def test_gated_capture_masks_equal_the_regexes_alone(raw: bytes) -> None:
    assert Redactor().datagram(raw) == Redactor(gated=False).datagram(raw)


def test_every_fragment_masked_in_every_shape() -> None:
    for fragment in _FRAGMENTS:
        for kind in ("metric", "set", "refused", "event", "check", "two", "raw"):
            raw = _datagram(fragment, f"k:{fragment}", f"see {fragment}, then", kind)
            assert Redactor().datagram(raw) == Redactor(gated=False).datagram(raw), raw


@given(texts)
@example("ann@corp.example.org, bob@x.io and 4111 1111 1111 1111 then 4111111111111111")
def test_one_pass_masks_equal_sub(text: str) -> None:
    """A rule's masks start from the match that was searched for: the same as `sub` over the whole field."""
    raw = text.encode("utf-8", "surrogatepass")
    for name, pattern, _where in DEFAULT_RULES:
        for p, t, repl in ((re.compile(pattern), text, lambda m: "<" + m.group(0) + ">"),
                           (re.compile(pattern.encode()), raw, lambda m: m.group(0).translate(_MASK))):
            first = p.search(t)  # type: ignore[arg-type]
            if first is not None:
                assert _sub_from(p, repl, t, first) == p.sub(repl, t), (name, t)  # type: ignore[arg-type]


class _Counted:
    """A rule's own compiled pattern, counting the times it is run over a field (it still does the work)."""

    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self.pattern, self.runs = pattern, 0

    def search(self, field: bytes) -> re.Match[bytes] | None:
        self.runs += 1
        return self.pattern.search(field)

    def sub(self, repl: object, field: bytes) -> bytes:
        self.runs += 1
        return self.pattern.sub(repl, field)  # type: ignore[arg-type]

    def finditer(self, field: bytes, pos: int) -> object:
        return self.pattern.finditer(field, pos)  # continues a search that was counted


def _counted(redactor: Redactor) -> dict[str, _Counted]:
    counted = {}
    for rule in redactor.rules:
        rule.bytes_pattern = counted.setdefault(rule.name, _Counted(rule.bytes_pattern))  # type: ignore[assignment]
    return counted


def test_capture_masks_run_only_the_rules_a_line_may_match() -> None:
    r = Redactor()
    runs = _counted(r)
    clean = b"llm.request.duration:120|d|#model:gpt-4o,env:prod"
    assert r.datagram(clean) == clean
    assert sum(c.runs for c in runs.values()) == 0  # no gate holds: no regex runs over a clean datagram
    line = b"users:ann@corp.example.org|s"
    assert r.datagram(line) == b"users:" + b"*" * 20 + b"|s"
    assert {name for name, c in runs.items() if c.runs} == {"email"}  # only `@` is there: the other five skipped
