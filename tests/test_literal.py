"""The literal split (capture/literal.py): it either finds exactly the records a record-by-record read finds, or
refuses the chunk; whatever it refuses, the reader still reads, and counts, the same way."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tundra_tui.capture.dogfile import CaptureWriter
from tundra_tui.capture.literal import _FIELDS, _STARTS, SEP, literal_runs
from tundra_tui.capture.reader import CaptureReader, RecordDecoder
from tundra_tui.capture.runs import NS, runs_of

from .strategies import check_line, event_line, metric_line, mutated
from .test_capture import UnixDogstatsdMsg
from .test_runs import FAKE_HEAD, _check_runs

T0 = 1_700_000_000 * NS
payload = st.one_of(metric_line(), metric_line(), st.lists(metric_line(), min_size=2, max_size=30).map(b"\n".join),
                    event_line(), check_line(), mutated(), st.binary(max_size=40), st.just(FAKE_HEAD),
                    st.just(b"a:1\x00\x00\x08b"), st.binary(min_size=100, max_size=300), st.just(b"x" * 16_400),
                    st.just(b"x" * 65_520), st.just(b"y" * 70_000))  # over 64 KiB: no separator at its head
layout = st.sampled_from(["usual"] * 60 + ["skew", "pid", "short_ts"])
step = st.one_of(st.integers(0, NS // 3), st.integers(0, NS // 3), st.integers(-NS, 2 * NS))


def _chunk(recs: list[tuple[int, bytes, str]]) -> bytes:
    """Records as protobuf writes them: mostly the usual layout, some other ones, times back and forth."""
    out = bytearray()
    ts = T0
    for step, data, how in recs:
        ts = ts + step if how != "short_ts" else 1_000_000  # a timestamp whose varint is not 9 bytes long
        raw = UnixDogstatsdMsg(timestamp=ts, payloadSize=len(data) + (how == "skew"), payload=data,
                               pid=7 if how == "pid" else 0).SerializeToString()
        if raw:
            out += struct.pack("<I", len(raw)) + raw
    return bytes(out)


def _damaged(chunk: bytes, where: int, byte: int, cut: int) -> bytes:
    """A byte changed and the end torn off, as a damaged or still-growing capture has it."""
    if chunk:
        where %= len(chunk)
        chunk = chunk[:where] + bytes([byte]) + chunk[where + 1 :]
    return chunk[: max(0, len(chunk) - cut)]


@pytest.mark.fuzz
@given(st.lists(st.tuples(step, payload, layout), max_size=40), st.booleans(),
       st.integers(0, 1 << 20), st.integers(0, 255), st.integers(0, 64), st.integers(0, 9),
       st.one_of(st.just(b""), st.binary(max_size=64), st.sampled_from([SEP * 8, b"\xff\xff" + SEP + b"\x80" * 40])))
def test_literal_split_is_record_by_record_or_refuses(recs: list[tuple[int, bytes, str]], damage: bool, where: int,
                                                       byte: int, cut: int, at: int, garbage: bytes) -> None:
    """On anything (usual and other layouts, torn, damaged, a prefix before `at`, garbage after the records):
    the records it takes are those a record-by-record read takes from the same bytes, each second one run (but
    where an event is among them)."""
    chunk = b"\xee" * at + _chunk(recs) + garbage
    if damage:
        chunk = _damaged(chunk, where, byte, cut)
    runs, used = literal_runs(chunk, at)
    if not used:
        assert runs == []
        return
    records, pos, stop = RecordDecoder().decode(chunk, at)
    assert pos >= at + used  # the record loop reads at least as far: the last record is left to it
    taken, rest = [], at
    for ts, data in records:
        if rest == at + used:
            break
        taken.append((ts, data))
        rest += 4 + int.from_bytes(chunk[rest : rest + 4], "little")
    assert rest == at + used
    _check_runs(runs, taken)


def test_the_usual_layout_goes_by_the_literal_split() -> None:
    """One-line datagrams, a multi-line one and an event, 1,000 a second: all taken; a second is one run, but the
    event's, where each datagram keeps its own time."""
    recs = [(1_000_000, b"llm.tokens.input:%d|c|#model:m%d" % (i, i % 7), "usual") for i in range(3000)]
    recs[20] = (1_000_000, b"_e{1,1}:t|x", "usual")
    recs[1010] = (1_000_000, b"a:1|c\nb:2|c", "usual")
    chunk = _chunk(recs)
    runs, used = literal_runs(chunk)
    assert used and sum(r.datagrams for r in runs) == 2999  # all but the last record, left to the record loop
    assert [r.datagrams for r in runs[998:]] == [1, 1000, 1000]  # second 0: 999 runs of one (the event's)
    assert len(runs[999].lines) == 1001
    assert literal_runs(chunk[:5] + b"\x00" + chunk[6:]) == ([], 0)  # a changed length byte: refused
    assert literal_runs(b"\xee" + chunk, 0) == ([], 0) and literal_runs(b"\xee" + chunk, 1)[1] == used


def test_a_datagram_over_64_kib_is_read_as_record_by_record(tmp_path: Path) -> None:
    """A record over 65,535 bytes has no separator at its head, so it joins the piece of the small one before it:
    the split refuses the chunk (it used to raise), and the reader gives what a record-by-record read gives."""
    path = tmp_path / "big.dog"
    writer = CaptureWriter(path)
    payloads = [b"a.b:1|c", b"x" * 65_520] + [b"c%d:1|c" % i for i in range(5)]
    for i, data in enumerate(payloads):
        writer.write(data, T0 + i)
    writer.close()
    runs = [run for batch in CaptureReader(path).runs() for run in batch]
    assert runs == runs_of([(T0 + i, data) for i, data in enumerate(payloads)])
    chunk = _chunk([(1, data, "usual") for data in payloads])
    assert literal_runs(chunk) == ([], 0)


def test_hostile_piece_lengths_leave_the_caches_bounded() -> None:
    """Pieces of every length a hostile chunk can make are refused before the size caches see them: both stay
    under one entry per piece length a record with a payload under 16 KiB makes."""
    head = _chunk([(1, b"a:1|c", "usual")])
    for n in range(0, 70_000, 997):
        literal_runs(head + b"\x00" * 13 + b"z" * n + SEP + head)
    assert max(_STARTS, default=0) < 17 + (1 << 14) and max(_FIELDS, default=0) < 17 + (1 << 14)


@pytest.mark.parametrize("width", [60, 128, 200, (100, 160)])  # payloads under 128 bytes, from 128, and both sides
def test_captures_of_one_line_datagrams_read_as_record_by_record(tmp_path: Path, width: int | tuple[int, int]) -> None:
    """Real captures (CaptureWriter) of one-line datagrams, all one side of 128 bytes or both: records that cross a
    second mid-chunk, ones out of order within a second, an event and a check among the metrics. `runs()` says what
    a record-by-record read says; the usual ones go by the literal split (big runs); with a damaged length mid-chunk
    too (that chunk is left to the record loop: what it makes of the damage is what runs() says)."""
    lo, hi = (width, width) if isinstance(width, int) else width
    packets = []
    for i in range(6000):
        line = b"llm.tokens.input:%d|c|#model:m%d,pad:" % (i, i % 7)
        size = lo + (i * 7919) % (hi - lo + 1)
        ts = T0 + i * 500_000 - (700_000 if i % 10 == 3 else 0)  # every tenth a little before the one before
        packets.append((ts, line + b"x" * max(0, size - len(line))))
    packets[1999] = (packets[1999][0], b"_e{5,4}:title|text")  # the last datagram of second 0
    packets[2500] = (packets[2500][0], b"_sc|my.check|0")
    path = tmp_path / "one-line.dog"
    writer = CaptureWriter(path, compress=False)
    for ts, data in packets:
        writer.write(data, ts)
    writer.close()
    runs = [run for batch in CaptureReader(path).runs() for run in batch]
    _check_runs(runs, packets)
    assert sum(r.datagrams for r in runs if r.datagrams > 100) > 1900  # second 2 (the others hold the event, check)
    assert [r.datagrams for r in runs if r.lines[0][:1] == b"_"] == [1, 1]
    raw = bytearray(path.read_bytes())
    at = raw.index(packets[3000][1]) - 4 - 2  # the low length bytes of record 3001's head
    raw[at] ^= 0x01
    path.write_bytes(bytes(raw))
    by_record = [(m.timestamp, m.payload) for m in CaptureReader(path)]
    _check_runs([run for batch in CaptureReader(path).runs() for run in batch], by_record)
    assert by_record[:3000] == packets[:3000] and by_record[3000:] != packets[3000:]


def test_one_second_out_of_order_is_one_run_with_its_newest_time() -> None:
    """Records of one second, the newest in the middle: one run, first and last as read, newest the greatest."""
    steps = [0, 400_000_000] + [-399_000_000] + [1_000_000] * 20
    recs = [(step, b"a.b:%d|c|#k:%s" % (i, b"v" * 150 if i % 2 else b"w"), "usual") for i, step in enumerate(steps)]
    runs, used = literal_runs(_chunk(recs))
    assert used and [(r.first_ns, r.last_ns, r.newest_ns, r.datagrams) for r in runs] == [
        (T0, T0 + 20_000_000, T0 + 400_000_000, len(steps) - 1)]


def test_timestamps_whose_top_byte_changes_are_left_to_the_record_loop() -> None:
    """The split takes each timestamp's top byte (bits 56-62) as the first record's: records on both sides of a
    2**56-ns step are refused (the record loop reads them), records all on one side are taken."""
    edge = 23 << 56
    data = [b"a.b:%d|c|#k:v" % i for i in range(6)]

    def chunk(first: int) -> bytes:
        return b"".join(struct.pack("<I", len(raw)) + raw for raw in (
            UnixDogstatsdMsg(timestamp=first + i, payloadSize=len(d), payload=d).SerializeToString()
            for i, d in enumerate(data)))

    assert literal_runs(chunk(edge - 3)) == ([], 0)
    records, _, _ = RecordDecoder().decode(chunk(edge - 3), 0)
    assert [ts for ts, _ in records] == [edge - 3 + i for i in range(6)]
    for first in (edge - 9, edge):
        runs, used = literal_runs(chunk(first))
        assert used and [(r.first_ns, r.last_ns, r.datagrams) for r in runs] == [(first, first + 4, 5)]
