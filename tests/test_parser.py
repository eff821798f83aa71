"""A table of parser cases, one or more per rule of the Agent's grammar (spec/dogstatsd.md)."""

from __future__ import annotations

import math

import pytest

from tundra_tui.protocol import Context, Event, Metric, Parser, ServiceCheck


def one(line: bytes):
    p = Parser()
    recs = p.parse_packet(line)
    return (recs[0] if recs else None), p


# (line, expected name, type, values, rate, tags)
METRICS = [
    (b"page.views:1|c", "page.views", "c", (1.0,), 1.0, ()),
    (b"temp:21.5|g", "temp", "g", (21.5,), 1.0, ()),
    (b"lat:10|h", "lat", "h", (10.0,), 1.0, ()),
    (b"lat:10|d", "lat", "d", (10.0,), 1.0, ()),
    (b"lat:10|ms", "lat", "ms", (10.0,), 1.0, ()),
    (b"users:alice|s", "users", "s", ("alice",), 1.0, ()),
    (b"users:a:b|s", "users", "s", ("a:b",), 1.0, ()),  # sets keep the raw string, no multi-value
    (b"m:1:2:3|d", "m", "d", (1.0, 2.0, 3.0), 1.0, ()),  # v1.1 multi-value
    (b"m:1::2|d", "m", "d", (1.0, 2.0), 1.0, ()),  # empty entries skipped
    (b"m:1|c|@0.5", "m", "c", (1.0,), 0.5, ()),
    (b"m:1|c|#b:2,a:1,a:1", "m", "c", (1.0,), 1.0, ("a:1", "b:2")),  # sorted, de-duplicated
    (b"m:1|c|#url:http://x", "m", "c", (1.0,), 1.0, ("url:http://x",)),  # values may contain ':'
    (b"m:1|c|#bare", "m", "c", (1.0,), 1.0, ("bare",)),
    (b"m:1|c|#", "m", "c", (1.0,), 1.0, ()),  # `|#` alone means no tags
    (b"m:1|c|#a|#b", "m", "c", (1.0,), 1.0, ("b",)),  # last repeated field wins
    (b"m:1|c|@0.5|@0.25", "m", "c", (1.0,), 0.25, ()),
    (b"m:1|c|#a|@0.1", "m", "c", (1.0,), 0.1, ("a",)),  # any order
    (b"m:1|c|x:unknown|zzz", "m", "c", (1.0,), 1.0, ()),  # unknown fields ignored
    (b"m:0x1p-2|g", "m", "g", (0.25,), 1.0, ()),  # Go hex floats
    (b"m:-3e2|g", "m", "g", (-300.0,), 1.0, ()),
    (b"m:+1.5|g", "m", "g", (1.5,), 1.0, ()),
]


@pytest.mark.parametrize(("line", "name", "mtype", "values", "rate", "tags"), METRICS)
def test_metric_cases(line: bytes, name: str, mtype: str, values: tuple, rate: float, tags: tuple) -> None:
    rec, p = one(line)
    assert isinstance(rec, Metric), (line, list(p.bad_lines))
    assert rec.context == Context(name, mtype, tags, None)
    assert rec.values == values
    assert rec.rate == rate
    assert p.error_total == 0


def test_name_splits_at_first_colon() -> None:
    # `a:b:1` -> name `a`, values `b` and `1`: `b` is not a float, so the line is rejected.
    rec, p = one(b"a:b:1|c")
    assert rec is None and p.errors["metric"] == 1


def test_empty_values_make_no_samples() -> None:
    rec, p = one(b"m::|c")
    assert isinstance(rec, Metric) and rec.values == () and p.error_total == 0


def test_special_tags_are_stripped() -> None:
    rec, _ = one(b"m:1|c|#host:web1,dd.internal.entity_id:abc,dd.internal.card:high,env:prod")
    assert rec.context.tags == ("env:prod",)
    assert rec.context.host == "web1"


def test_extended_fields() -> None:
    rec, p = one(b"m:1|c|T1700000000|c:ci-abc|e:it-false,cn-x|card:high|#a")
    assert (rec.timestamp, rec.container, rec.external, rec.cardinality) == (
        1700000000, "ci-abc", "it-false,cn-x", "high")
    assert rec.context.tags == ("a",)


BAD_METRICS = [
    b"nopipe:1",  # no |
    b"nocolon|c",  # no name:value
    b":1|c",  # empty name
    b"m:|c",  # empty value
    b"m:1|x",  # unknown type
    b"m:1|C",  # types are exact
    b"m:1|",  # empty type
    b"m:abc|c",
    b"m: 1|c",  # Go rejects surrounding spaces
    b"m:1 |c",
    b"m:1_000|c",  # Go rejects '_' in decimal floats
    b"m:1e400|g",  # out of range in Go
    b"m:0x1|g",  # hex float needs a p exponent
    b"m:1|c|@abc",  # bad sample rate rejects the line
    b"m:1|c|T0",  # timestamps must be >= 1
    b"m:1|c|Tabc",
    b"m:1|c|T",
    b"m:1:x:2|d",  # one bad value rejects the line
    b"_score:1|c",  # `_sc` prefix -> a malformed service check, not a metric
]


@pytest.mark.parametrize("line", BAD_METRICS)
def test_bad_lines_are_counted_not_raised(line: bytes) -> None:
    rec, p = one(line)
    assert rec is None
    assert p.error_total == 1
    kind = "service_check" if line.startswith(b"_sc") else "metric"
    assert p.errors[kind] == 1
    assert p.bad_lines[-1].line == line and p.bad_lines[-1].kind == kind


def test_bad_line_does_not_stop_packet() -> None:
    p = Parser()
    recs = p.parse_packet(b"a:1|c\nbroken\n_e{1,1}:x\nb:2|g\n_sc|x|9\nc:3|d")
    assert [r.context.name for r in recs] == ["a", "b", "c"]
    assert p.errors == {"metric": 1, "event": 1, "service_check": 1}
    assert p.lines == 6


def test_crlf_and_empty_lines() -> None:
    p = Parser()
    recs = p.parse_packet(b"a:1|c\r\n\r\n\nb:2|c\r\n")
    assert [r.context.name for r in recs] == ["a", "b"]
    assert recs[0].values == (1.0,)
    assert p.lines == 2 and p.error_total == 0


def test_only_one_cr_stripped() -> None:
    rec, p = one(b"m:1|c|#a\r\r")
    assert rec.context.tags == ("a\\x0d",)  # the second one is kept, and shown as an escape


def test_bad_lines_kept_bounded() -> None:
    p = Parser(keep_bad=5)
    p.parse_packet(b"\n".join(b"bad%d" % i for i in range(50)))
    assert p.errors["metric"] == 50
    assert [b.line for b in p.bad_lines] == [b"bad%d" % i for i in range(45, 50)]


def test_nan_and_inf_follow_go() -> None:
    rec, _ = one(b"m:NaN|g")
    assert math.isnan(rec.values[0])
    rec, _ = one(b"m:-Inf|g")
    assert rec.values == (-math.inf,)
    rec, p = one(b"m:-nan|g")
    assert rec is None and p.errors["metric"] == 1


# -- events ---------------------------------------------------------------------------------------
def test_event_all_fields() -> None:
    line = (b"_e{5,9}:Title|some text|d:1700000000|h:web1|k:agg|p:low|s:my_src|t:error"
            b"|#env:prod,a|c:ci-1|e:ext|card:low")
    rec, p = one(line)
    assert rec == Event("Title", "some text", 1700000000, "web1", "agg", "low", "my_src", "error",
                        ("a", "env:prod"), "ci-1", "ext", "low")


def test_event_sliced_by_byte_lengths() -> None:
    # title and text may contain '|' and ':' because lengths, not separators, slice them
    rec, _ = one(b"_e{3,5}:a|b|c:d|e|#t")
    assert (rec.title, rec.text, rec.tags) == ("a|b", "c:d|e", ("t",))


def test_event_multibyte_lengths_count_bytes() -> None:
    title = "caf\u00e9".encode()  # 5 bytes
    rec, _ = one(b"_e{5,2}:" + title + b"|ok")
    assert rec.title == "caf\u00e9" and rec.text == "ok"


def test_event_newline_unescaped() -> None:
    rec, _ = one(b"_e{4,10}:a\\nb|line\\nline")
    assert rec.title == "a\nb" and rec.text == "line\nline"


def test_event_empty_text_and_defaults() -> None:
    rec, _ = one(b"_e{1,0}:x|")
    assert (rec.title, rec.text, rec.priority, rec.alert_type) == ("x", "", "normal", "info")


def test_event_bad_optional_values_only_warn() -> None:
    rec, p = one(b"_e{1,1}:x|y|p:urgent|t:fatal|d:notanumber")
    assert isinstance(rec, Event) and p.error_total == 0
    assert (rec.priority, rec.alert_type, rec.timestamp) == ("normal", "info", None)


@pytest.mark.parametrize("line", [
    b"_e{0,1}:|x",  # title_len must be > 0
    b"_e{1,-1}:x|",
    b"_e{a,1}:x|y",
    b"_e{1}:x|y",
    b"_e{5,5}:short|x",  # shorter than declared
    b"_e{1,1}",  # no ':'
    b"_e{,}:x",  # header shorter than 7 bytes
])
def test_bad_events(line: bytes) -> None:
    rec, p = one(line)
    assert rec is None and p.errors["event"] == 1


# -- service checks ---------------------------------------------------------------------------------
def test_service_check_all_fields() -> None:
    rec, _ = one(b"_sc|my.check|2|d:1700000000|h:web1|#env:prod|m:it broke: badly|c:ci-1")
    assert rec == ServiceCheck("my.check", 2, 1700000000, "web1", ("env:prod",), "it broke: badly", "ci-1")


def test_service_check_message_not_unescaped() -> None:
    rec, _ = one(b"_sc|x|0|m:a\\nb")
    assert rec.message == "a\\nb"


@pytest.mark.parametrize("line", [b"_sc|x", b"_sc||0", b"_sc|x|4", b"_sc|x|ok", b"_sc|x|", b"_sc"])
def test_bad_service_checks(line: bytes) -> None:
    rec, p = one(line)
    assert rec is None and p.errors["service_check"] == 1


def test_records_are_frozen() -> None:
    rec, _ = one(b"m:1|c")
    with pytest.raises(AttributeError):
        rec.rate = 2.0  # type: ignore[misc]
