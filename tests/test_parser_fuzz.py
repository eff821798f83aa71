"""Fuzzing: the parser never raises; every non-empty line is a record or a counted error.

Example counts come from the Hypothesis profile (conftest.py): a few dozen in the everyday suite,
hundreds in .ci/run's thorough pass (`pytest -m "fuzz or soak" --hypothesis-profile=thorough`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tundra_tui.protocol import Metric, Parser
from tundra_tui.text import clean

from .strategies import datagram, event_line, metric_line, valid_line


def _nonempty_lines(packet: bytes) -> int:
    n = 0
    for line in packet.split(b"\n"):
        if line.endswith(b"\r"):
            line = line[:-1]
        n += bool(line)
    return n


@pytest.mark.fuzz
@given(datagram)
def test_every_line_is_a_record_or_an_error(packet: bytes) -> None:
    p = Parser()
    recs = p.parse_packet(packet)
    assert p.lines == _nonempty_lines(packet)
    assert len(recs) + p.error_total == p.lines


@pytest.mark.fuzz
@given(st.lists(valid_line, min_size=1, max_size=20))
def test_grammar_lines_all_parse(lines: list[bytes]) -> None:
    p = Parser()
    recs = p.parse_packet(b"\n".join(lines))
    assert p.error_total == 0, list(p.bad_lines)
    assert len(recs) == len(lines)


@pytest.mark.fuzz
@given(metric_line())
def test_metric_roundtrip_keeps_name(line: bytes) -> None:
    rec = Parser().parse_packet(line)[0]
    assert isinstance(rec, Metric)
    assert rec.context.name == line.split(b":", 1)[0].decode()


@pytest.mark.fuzz
@given(event_line())
def test_event_lengths_slice_exactly(line: bytes) -> None:
    rec = Parser().parse_packet(line)[0]
    header, _, body = line.partition(b":")
    tlen = int(header[3:-1].split(b",")[0])
    assert rec.title == clean(body[:tlen].decode("utf-8", "replace").replace("\\n", "\n"), multiline=True)


@pytest.mark.fuzz
@given(st.lists(datagram, min_size=1, max_size=6))
def test_engine_fast_path_counts_like_the_parser(packets: list[bytes]) -> None:
    """Shapes seen before skip the parser; what is an error and what is a line must not change."""
    from tundra_tui.model.engine import Engine, Mode

    engine, parser = Engine(Mode.DASHBOARD), Parser()
    for pkt in packets * 2:  # the second round goes through the fast path
        parser.parse_packet(pkt)
        engine.feed([(1_700_000_000_000_000_000, pkt)])
    assert engine.parser.errors == parser.errors
    assert engine.lines == parser.lines
