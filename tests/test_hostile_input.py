"""Hostile datagrams: overflow, NaN, inf, markup, terminal escapes, PII and huge fields in every field,
mixed with clean lines whose numbers must come out exact. Written to find the next bug, not pin one."""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tundra_tui.commands.report import print_dashboard, print_stats
from tundra_tui.model.engine import Engine, Mode
from tundra_tui.model.redact import Redactor
from tundra_tui.model.snapshot import SessionStatus, SourceStatus
from tundra_tui.protocol import Metric, Parser

from .strategies import PII, hostile_line, valid_line

T0 = 1_700_000_000 * 10**9
CLEAN = [b"clean.count:1|c|#k:v", b"llm.request.complete:1|c|#model:gpt-4o,provider:openai,success:true",
         b"llm.request.duration:100|d|#model:gpt-4o,provider:openai"]
# what a terminal obeys: C0 but tab and newline (multi-line text keeps both; renderers expand tabs), DEL, C1,
# bidi controls
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _strings(doc: Any) -> list[str]:
    if isinstance(doc, str):
        return [doc]
    if isinstance(doc, dict):
        return [s for k, v in doc.items() for s in _strings(k) + _strings(v)]
    if isinstance(doc, list | tuple):
        return [s for v in doc for s in _strings(v)]
    return []


def _safe(doc: Any) -> None:
    """Finite JSON; no string a terminal would obey; no PII word whole."""
    json.dumps(doc, allow_nan=False)
    for s in _strings(doc):
        assert not _CONTROL.search(s), repr(s[:200])
        for word in PII:
            assert word not in s, (word, s[:200])


@st.composite
def mixed(draw: st.DrawFn) -> tuple[list[bytes], list[int]]:
    """Packets of clean and hostile lines, shuffled; how many of each clean line were sent."""
    counts = [draw(st.integers(0, 6)) for _ in CLEAN]
    lines = [c for c, n in zip(CLEAN, counts, strict=True) for _ in range(n)]
    lines += draw(st.lists(hostile_line(), min_size=1, max_size=12))
    lines = draw(st.permutations(lines))
    cut = sorted(draw(st.lists(st.integers(0, len(lines)), max_size=3)))
    packets = [b"\n".join(lines[a:b]) for a, b in zip([0, *cut], [*cut, len(lines)], strict=True)]
    return [p for p in packets if p], counts


@settings(max_examples=15)  # two engines, two rounds and two reports an example: the costliest fuzz here
@given(mixed())
def test_hostile_lines_never_poison_the_clean_ones(case: tuple[list[bytes], list[int]]) -> None:
    packets, (n_count, n_req, n_dur) = case
    for twice in (1, 2):  # the second round goes through the hot path's known shapes
        stats = Engine(Mode.STATS, redactor=Redactor())
        dash = Engine(Mode.DASHBOARD, redactor=Redactor())
        for eng in (stats, dash):
            eng.feed([(T0 + i, p) for i, p in enumerate(packets * twice)])
        rows = {r["name"]: r for r in stats.stats("x").to_json()["contexts"]}
        if n_count:
            assert (rows["clean.count"]["samples"], rows["clean.count"]["count"]) == (n_count * twice,) * 2
        doc = dash.dashboard(T0 + 10**9).to_json()
        model = next((m for m in doc["models"] if m["model"] == "gpt-4o"), None)
        if n_req or n_dur:
            assert model is not None and model["requests"] == n_req * twice
            assert model["p50_ms"] is None if not n_dur else math.isclose(model["p50_ms"], 100, rel_tol=0.02)
        _safe(stats.stats("x").to_json())
        _safe(doc)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_stats(stats.stats("hostile"), SessionStatus(SourceStatus("replay")))
        print_dashboard(dash.dashboard(T0 + 10**9))
    assert "\x1b" not in out.getvalue() and "\x9b" not in out.getvalue()  # no escape reaches the terminal
    bad = stats.stats("x").bad_values
    assert (f"{bad:,} values not finite" in out.getvalue()) == (bad > 0)  # counted, and said


@given(st.lists(st.one_of(valid_line, hostile_line()), min_size=1, max_size=8).map(b"\n".join))
def test_capture_masks_keep_every_datagram_parseable(packet: bytes) -> None:
    """--redact-captures: same lines, same records, same values and types; only fields masked, PII gone."""
    masked = Redactor().datagram(packet)
    assert len(masked) == len(packet) and masked.count(b"\n") == packet.count(b"\n")
    p, q = Parser(), Parser()
    before, after = p.parse_packet(packet), q.parse_packet(masked)
    assert p.errors == q.errors and len(before) == len(after)
    for a, b in zip(before, after, strict=True):
        assert type(a) is type(b)
        if isinstance(a, Metric) and isinstance(b, Metric):
            assert a.context.mtype == b.context.mtype and repr(a.rate) == repr(b.rate)
            if a.context.mtype != "s":  # numbers untouched; a set member is text, masked like any
                assert repr(a.values) == repr(b.values)
    shown = [str(r) for r in after] + [b.line.decode("utf-8", "replace") for b in q.bad_lines]
    for word in PII:  # no PII in any parsed field, nor in a refused line
        assert not any(word in x for x in shown), word
