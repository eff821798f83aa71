"""Hypothesis strategies for DogStatsD datagrams: grammar-aware lines plus byte mutation."""

from __future__ import annotations

import string

from hypothesis import strategies as st

# The languages of r"[a-z][a-z0-9_.]{0,20}", r"[a-z_]{1,8}:[a-zA-Z0-9_.:/-]{0,12}" and r"[a-z_]{1,8}", built from
# `text` over an alphabet: the same strings, drawn a few times faster than by `from_regex`.
_LOWER, _KEY = string.ascii_lowercase, string.ascii_lowercase + "_"
names = st.tuples(st.sampled_from(_LOWER), st.text(_LOWER + string.digits + "_.", max_size=20)).map("".join)
_key = st.text(_KEY, min_size=1, max_size=8)
tag = st.one_of(st.tuples(_key, st.text(string.ascii_letters + string.digits + "_.:/-", max_size=12))
                .map(":".join), _key)
tags = st.lists(tag, max_size=6).map(lambda ts: "|#" + ",".join(ts) if ts else "")
value = st.one_of(st.integers(-10**6, 10**6).map(str),
                  st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr))
mtype = st.sampled_from(["c", "g", "h", "d", "ms", "s"])
rate = st.one_of(st.just(""), st.floats(0.01, 1.0).map(lambda r: f"|@{r:.3f}"))
extras = st.lists(st.sampled_from(["|T1700000000", "|c:ci-123", "|e:it-false", "|card:low", "|zz:9"]), max_size=2)


@st.composite
def metric_line(draw: st.DrawFn) -> bytes:
    vals = draw(st.lists(value, min_size=1, max_size=3))
    t = draw(mtype)
    body = vals[0] if t == "s" else ":".join(vals)
    return f"{draw(names)}:{body}|{t}{draw(rate)}{draw(tags)}{''.join(draw(extras))}".encode()


@st.composite
def event_line(draw: st.DrawFn) -> bytes:
    title = draw(st.text(min_size=1, max_size=20)).replace("\n", " ").replace("\r", " ").encode()
    text = draw(st.text(max_size=40)).replace("\n", " ").replace("\r", " ").encode()
    opts = draw(st.lists(st.sampled_from(["|p:low", "|t:error", "|d:17", "|h:x", "|k:y", "|s:z"]), max_size=3))
    return b"_e{%d,%d}:" % (len(title), len(text)) + title + b"|" + text + "".join(opts).encode() + draw(tags).encode()


@st.composite
def check_line(draw: st.DrawFn) -> bytes:
    status = draw(st.sampled_from(["0", "1", "2", "3"]))
    clean = st.text(max_size=20).map(lambda m: "|m:" + m.replace("\n", " ").replace("\r", " "))
    msg = draw(st.one_of(st.just(""), clean))
    return f"_sc|{draw(names)}|{status}{draw(tags)}{msg}".encode()


valid_line = st.one_of(metric_line(), event_line(), check_line())


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid line with random bytes flipped, inserted or cut."""
    line = bytearray(draw(valid_line))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "cut"]))
        pos = draw(st.integers(0, max(len(line) - 1, 0)))
        if op == "flip" and line:
            line[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            line[pos:pos] = draw(st.sampled_from([b"|", b":", b"#", b",", b"\r", b"@", b"\x00", b"\xff"]))
        elif line:
            del line[pos:]
    return bytes(line)


datagram = st.lists(st.one_of(valid_line, mutated(), st.binary(max_size=60)), min_size=1, max_size=10).map(
    b"\n".join)


# -- hostile input: what an attacker sends (numbers that overflow, markup, escapes, PII, huge sizes) --------
BAD_VALUES = ["1e308", "-1e308", "1e308:1e308", "NaN", "nan", "inf", "-Inf", "+Infinity", "9" * 400, "0x1p1023",
              "1e101", "-1e300", "1e-320"]
SNIPPETS = ["[/x]", "[bold red]", "[redacted:email]", "[link=http://e]", "\x1b]2;EVIL\x07", "\x1b[2J", "\x1b[?1049l",
            "\x1b]8;;http://evil/\x1b\\", "\u202e", "\u2066", "\x9b31m", "\x00", "\r", "\x7f"]
PII = ["bob@example.com", "AKIAIOSFODNN7EXAMPLE", "10.1.2.3", "fe80::1", "2001:db8::8a2e:370:7334",
       "4111111111111111", "Bearer abc.def.ghi", "sk-abcdefghijklmnop1234"]
_piece = st.one_of(st.sampled_from(SNIPPETS + PII),
                   st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n|,# "), max_size=6),
                   st.just("x" * 700))
# words joined by spaces, so a PII word stands alone as it would in real text; no `\n`, `|` or `,` here:
# the grammar fuzzers above mutate structure, these attack what is inside the fields
hostile_text = st.lists(_piece, min_size=1, max_size=5).map(" ".join)
LLM_NAMES = ["llm.request.complete", "llm.request.duration", "llm.tokens.input", "llm.tokens.output",
             "ml_obs.span.llm.input.tokens", "gen_ai.client.token.usage"]


@st.composite
def hostile_line(draw: st.DrawFn) -> bytes:
    """A line from an attacker: any LLM or odd name, a bad or plain value, any rate, hostile text in every field.
    Its model is never `gpt-4o` and its names never start with `clean.`: clean lines can be counted exactly."""
    kind = draw(st.sampled_from(["metric", "metric", "event", "check", "junk"]))
    text = draw(hostile_text)
    if kind == "metric":
        name = draw(st.one_of(st.sampled_from(LLM_NAMES), hostile_text.map(lambda t: "h " + t)))
        val = draw(st.one_of(st.sampled_from(BAD_VALUES), st.integers(0, 10**6).map(str)))
        rate = draw(st.sampled_from(["", "|@0.5", "|@1e-300", "|@5e-324", "|@NaN", "|@-1"]))
        mtype = draw(st.sampled_from(["c", "d", "g", "h", "ms", "s"]))
        return (f"{name}:{val}|{mtype}{rate}|#model:h {text},provider:{draw(hostile_text)},{text}:{text},"
                f"gen_ai.token.type:input,gen_ai.request.model:h {text}").encode()
    if kind == "event":
        title, body = text.encode(), draw(hostile_text).encode()
        return b"_e{%d,%d}:%s|%s|h:%s|#user:%s" % (len(title), len(body), title, body, text.encode(), text.encode())
    if kind == "check":
        return f"_sc|h {text}|{draw(st.sampled_from('0123'))}|#k:{text}|m:{draw(hostile_text)}".encode()
    return draw(st.binary(max_size=80)).replace(b"\n", b" ")
