"""Runs (a second's datagrams as one list of lines): bulk capture decoding and the engine's one ingest path."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

import tundra_tui.capture.reader as reader
from tundra_tui.capture import CaptureReader, CaptureWriter, header
from tundra_tui.capture.bulk import _LENGTHS, _SIZES, _key, bulk_runs, second_runs
from tundra_tui.capture.runs import NS, Run, Runs, runs_of
from tundra_tui.model.engine import Engine, Mode
from tundra_tui.sources import ReplayOnce

from .strategies import check_line, event_line, metric_line, mutated
from .test_capture import UnixDogstatsdMsg

T0 = 1_700_000_000 * NS
# a payload holding what looks like a record head (timestamp, size, length) and the next record's length
FAKE_HEAD = b"\x40\x00\x00\x00\x08" + b"\x80" * 8 + b"\x05\x10\x03\x1a\x03abc"


def _check_runs(runs: list[Run], packets: list[tuple[int, bytes]]) -> None:
    """Runs must say exactly what the packets say: every datagram once, in order, each run within one second,
    with its first, last and newest time, its lines and byte count; events and checks in a run of their own."""
    i = 0
    for run in runs:
        group = packets[i : i + run.datagrams]
        assert len(group) == run.datagrams > 0
        stamps = [ts for ts, _ in group]
        assert (run.first_ns, run.last_ns, run.newest_ns) == (stamps[0], stamps[-1], max(stamps))
        assert len({ts // NS for ts in stamps}) == 1
        assert run.lines == b"\n".join(p for _, p in group).split(b"\n")
        assert run.nbytes == sum(len(p) for _, p in group)
        if run.datagrams > 1:
            assert not any(line.startswith(b"_") for line in run.lines)
        i += run.datagrams
    assert i == len(packets)


stamp = st.one_of(st.integers(0, 3 * NS), st.integers(-5 * NS, 5 * NS), st.integers(0, 2**63 - 1 - T0 - 10 * NS))
layout = st.sampled_from(["usual"] * 6 + ["skew", "pid", "ancillary"])
payload = st.one_of(metric_line(), metric_line(), st.lists(metric_line(), min_size=2, max_size=3).map(b"\n".join),
                    event_line(), check_line(), mutated(), st.binary(max_size=40), st.just(FAKE_HEAD),
                    st.binary(min_size=128, max_size=300))


@pytest.mark.fuzz  # the profile's budget: a few dozen examples here, `thorough`'s hundreds in .ci/run
@given(st.lists(st.tuples(stamp, payload, layout), max_size=60), st.sampled_from([64, 700, 4096, 1 << 18]))
def test_runs_equal_protobuf_decoding(tmp_path_factory: pytest.TempPathFactory,
                                      recs: list[tuple[int, bytes, str]], chunk: int) -> None:
    """`runs()` decodes whole chunks at once: on anything protobuf writes it must say what protobuf decoding says
    (times near each other and far apart, out of order, payloads that hold a record head, other layouts)."""
    body = bytearray(header())
    ts = T0
    for step, data, how in recs:
        ts = ts + step if step < 3 * NS else step  # mostly small steps forward; sometimes back, sometimes anywhere
        size = len(data) + (1 if how == "skew" else 0)
        raw = UnixDogstatsdMsg(timestamp=ts, payloadSize=size, payload=data, pid=7 if how == "pid" else 0,
                               ancillarySize=2 if how == "ancillary" else 0,
                               ancillary=b"ab" if how == "ancillary" else b"").SerializeToString()
        if raw:
            body += struct.pack("<I", len(raw)) + raw
    body += b"\0" * 8
    path = tmp_path_factory.mktemp("runs") / "x.dog"
    path.write_bytes(zstandard.ZstdCompressor().compress(bytes(body)))
    old, reader.CHUNK = reader.CHUNK, chunk  # small chunks: records split across reads
    try:
        full = [(m.timestamp, m.payload) for m in CaptureReader(path)]
        runs = [run for batch in CaptureReader(path).runs() for run in batch]
    finally:
        reader.CHUNK = old
    _check_runs(runs, full)


def test_bulk_decoding_takes_whole_chunks(tmp_path: Path) -> None:
    """A capture in the usual layout is decoded a chunk at a time: a run per chunk and second, not per record."""
    path = tmp_path / "x.dog"
    w = CaptureWriter(path)
    packets = [(T0 + i * 200_000, b"llm.tokens.input:%d|c|#model:m%d" % (i, i % 7)) for i in range(20_000)]
    for ts, data in packets:
        w.write(data, ts)
    w.close()
    runs = [run for batch in CaptureReader(path).runs() for run in batch]
    _check_runs(runs, packets)
    assert len([r for r in runs if r.datagrams > 100]) >= 4  # four seconds, each in a few big runs
    assert sum(r.datagrams for r in runs if r.datagrams > 100) > 19_000


def test_bulk_refuses_what_it_cannot_prove() -> None:
    """A chunk whose rebuilt records are not the chunk's own bytes is left to the record-by-record reader."""
    rec = UnixDogstatsdMsg(timestamp=T0, payloadSize=3, payload=b"a:1").SerializeToString()
    good = (struct.pack("<I", len(rec)) + rec) * 3
    runs, used = bulk_runs(good)
    assert used == 2 * (4 + len(rec)) and sum(r.datagrams for r in runs) == 2  # the last record is left alone
    assert bulk_runs(good[:-1] + b"\n")[1] == used  # a cut last record changes nothing before it
    bad_length = struct.pack("<I", len(rec) + 1) + rec + good
    assert bulk_runs(bad_length) == ([], 0)
    with_pid = UnixDogstatsdMsg(timestamp=T0, payloadSize=3, payload=b"a:1", pid=3).SerializeToString()
    assert bulk_runs(struct.pack("<I", len(with_pid)) + with_pid + good)[1] == 0
    backwards = UnixDogstatsdMsg(timestamp=T0 - 1, payloadSize=3, payload=b"a:1").SerializeToString()
    assert bulk_runs(good[: 4 + len(rec)] + struct.pack("<I", len(backwards)) + backwards + good) == ([], 0)


def test_runs_of_keep_time_order_and_event_times() -> None:
    """Packets become runs per second in arrival order; out-of-order packets too; events keep their own time."""
    packets = [(T0 + 5, b"a:1|c"), (T0 + 7, b"b:1|c\nc:2|c"), (T0 + NS, b"a:1|c"), (T0 + 3, b"a:1|c"),
               (T0 + 4, b"_e{1,1}:t|x"), (T0 + 6, b"a:2|c"), (T0 + 2 * NS + 1, b""), (T0 + 2 * NS + 2, b"_sc|s|0")]
    runs = runs_of(packets)
    _check_runs(runs, packets)
    assert [r.datagrams for r in runs] == [2, 1, 1, 1, 1, 1, 1]
    assert isinstance(runs, Runs) and runs_of([]) == []


def _traffic(seed: int) -> list[tuple[int, bytes]]:
    """Integer-valued traffic over a few seconds (sums exact in any order), with events, checks, bad lines and
    one-line, multi-line and empty datagrams; now and then a packet from the past."""
    rng = random.Random(seed)
    models = [b"model:gpt-4o,provider:openai", b"model:claude-sonnet-4-5,provider:anthropic"]
    out = []
    ts = T0
    for _ in range(3000):
        ts += rng.randrange(0, 4_000_000)
        tags = b"#" + rng.choice(models) + b",agent_name:a%d" % rng.randrange(9)
        kind = rng.random()
        if kind < 0.01:
            data = b"_e{5,4}:title|text|" + tags
        elif kind < 0.02:
            data = b"_sc|svc|%d|" % rng.randrange(4) + tags
        elif kind < 0.03:
            data = rng.choice([b"bad line", b"x:|c", b"", b"y:1|zz", b"llm.tokens.input:1e3|c|" + tags])
        else:
            lines = [b"llm.tokens.input:%d|c|%s" % (rng.randrange(1, 900), tags),
                     b"llm.request.duration:%d|d|@0.5|%s" % (rng.randrange(1, 9000), tags),
                     b"llm.request.complete:1|c|" + tags]
            data = b"\n".join(lines[: rng.choice([1, 1, 1, 3])])
        out.append((ts - rng.randrange(2 * NS) if rng.random() < 0.01 else ts, data))
    return out


@pytest.mark.parametrize("llm", [True, False])
def test_engine_reads_runs_as_it_reads_datagrams(tmp_path: Path, llm: bool) -> None:
    """A capture read as runs, the same datagrams fed as one batch and fed one by one: one result."""
    packets = _traffic(3)
    path = tmp_path / "t.dog"
    w = CaptureWriter(path)
    for ts, data in packets:
        w.write(data, ts)
    w.close()
    docs = []
    for how in ("one by one", "one batch", "runs"):
        e = Engine(Mode.DASHBOARD if llm else Mode.STATS)
        if how == "one by one":
            for p in packets:
                e.feed([p])
        elif how == "one batch":
            e.feed(packets)
        else:
            src = ReplayOnce(path)
            src.start()
            while not src.done:
                e.feed(src.read(0.1))
            assert (src.first_ns, src.last_ns) == (packets[0][0], max(ts for ts, _ in packets))
        doc = e.dashboard().to_json() if llm else e.stats("x").to_json()
        doc.pop("generated_at", None)  # the wall clock when each was written
        docs.append((doc, e.packets, e.bytes, e.lines, e.last_ts_ns, dict(e.parser.errors)))
    assert docs[0] == docs[1] == docs[2]
    assert docs[0][1] == len(packets) and docs[0][2] == sum(len(p) for _, p in packets)


@pytest.mark.fuzz
@given(st.lists(st.tuples(st.sampled_from([0, 1, NS // 3, NS]), st.one_of(
    st.sampled_from([b"", b"", b"", b"a:1|c", b"_e{1,1}:t|x", b"_sc|s|0", b"a:1|c\n_e{1,1}:t|x"]),
    st.sampled_from([b"", b"b:2|g"]), metric_line(), event_line(), check_line(), st.binary(max_size=8))),
                min_size=3, max_size=40))
def test_second_runs_agree_with_runs_of(recs: list[tuple[int, bytes]]) -> None:
    """The bulk decoders' runs are the record loop's, empty datagrams among them (one used to shift every later
    datagram's first byte, so an event joined a run, or a run was split for the next second's event)."""
    ts, packets = T0, []
    for step, data in recs:
        ts += step
        packets.append((ts, data))
    assert second_runs([_key(t) for t, _ in packets], [d for _, d in packets]) == runs_of(packets)


def test_empty_datagrams_leave_an_event_its_own_time() -> None:
    """Two empty datagrams, then a second holding an event between two metrics: the event is a run of its own."""
    stamps = [T0 + 1, T0 + 2, T0 + NS + 1, T0 + NS + 2, T0 + NS + 3]
    payloads = [b"", b"", b"a:1|c", b"_e{1,1}:x|y", b"b:1|c"]
    runs = second_runs(list(map(_key, stamps)), payloads)
    assert runs == runs_of(list(zip(stamps, payloads, strict=True)))
    assert [r.datagrams for r in runs] == [2, 1, 1, 1]


def test_hostile_record_heads_leave_the_caches_bounded() -> None:
    """Heads whose size and length fields differ (32,512 pairs in one chunk) are refused without being kept: the
    caches hold at most one entry per size a 1- or 2-byte varint spells."""
    stamp = b"\x80" * 8 + b"\x01"
    heads = [bytes([0x10, 0x80 | a, b, 0x1A, 0x80 | c, 5]) for a in range(128) for b in range(1, 128) for c in (1, 2)]
    chunk = b"".join(struct.pack("<I", 1 + 9 + len(h) + 1) + b"\x08" + stamp + h + b"z" for h in heads)
    assert bulk_runs(chunk) == ([], 0)
    assert len(_LENGTHS) <= 128 + 128 * 128 and len(_SIZES) <= 128 + 128 * 128
