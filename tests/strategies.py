"""Hypothesis strategies for DogStatsD datagrams: grammar-aware lines plus byte mutation."""

from __future__ import annotations

from hypothesis import strategies as st

names = st.from_regex(r"[a-z][a-z0-9_.]{0,20}", fullmatch=True)
tag = st.one_of(st.from_regex(r"[a-z_]{1,8}:[a-zA-Z0-9_.:/-]{0,12}", fullmatch=True),
                st.from_regex(r"[a-z_]{1,8}", fullmatch=True))
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
