"""The `.dog` format: round trips, protobuf byte compatibility, old versions, truncation, modes."""

from __future__ import annotations

import os
import shutil
import stat
import struct
import subprocess
from pathlib import Path

import pytest
import zstandard
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from hypothesis import given, settings
from hypothesis import strategies as st

from tundra_tui.capture import CaptureError, CaptureReader, CaptureWriter, DogMsg, decode, encode, header


def _proto_class():  # UnixDogstatsdMsg built from its .proto definition with protobuf itself
    fdp = descriptor_pb2.FileDescriptorProto(name="dsd_test.proto", package="datadog.model.v1", syntax="proto3")
    msg = fdp.message_type.add(name="UnixDogstatsdMsg")
    F = descriptor_pb2.FieldDescriptorProto
    for name, num, typ in (("timestamp", 1, F.TYPE_INT64), ("payloadSize", 2, F.TYPE_INT32),
                           ("payload", 3, F.TYPE_BYTES), ("pid", 4, F.TYPE_INT32),
                           ("ancillarySize", 5, F.TYPE_INT32), ("ancillary", 6, F.TYPE_BYTES)):
        msg.field.add(name=name, number=num, type=typ, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("datadog.model.v1.UnixDogstatsdMsg"))


UnixDogstatsdMsg = _proto_class()


@settings(max_examples=300, deadline=None)
@given(ts=st.integers(0, 2**63 - 1), payload=st.binary(max_size=300), pid=st.integers(-(2**31), 2**31 - 1),
       anc=st.binary(max_size=40))
def test_bytes_match_protobuf(ts: int, payload: bytes, pid: int, anc: bytes) -> None:
    ours = encode(DogMsg(ts, payload, pid, anc))
    theirs = UnixDogstatsdMsg(timestamp=ts, payloadSize=len(payload), payload=payload, pid=pid,
                              ancillarySize=len(anc), ancillary=anc).SerializeToString()
    assert ours == theirs
    assert decode(theirs) == DogMsg(ts, payload, pid, anc)


def test_decode_honours_payload_size() -> None:
    raw = UnixDogstatsdMsg(timestamp=5, payloadSize=3, payload=b"abcdef").SerializeToString()
    assert decode(raw).payload == b"abc"


def _write(path: Path, payloads: list[bytes], compress: bool = True, overwrite: bool = False) -> list[int]:
    w = CaptureWriter(path, compress=compress, overwrite=overwrite)
    stamps = []
    for i, p in enumerate(payloads):
        ts = 1_700_000_000_000_000_000 + i * 1_000_000
        w.write(p, ts)
        stamps.append(ts)
    w.close()
    return stamps


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "x.dog"
    payloads = [b"a:1|c", b"b:2|g\nc:3|d", b"", b"x" * 9000]
    stamps = _write(path, payloads, compress)
    raw = path.read_bytes()
    assert raw[:4] == (b"\x28\xb5\x2f\xfd" if compress else b"\xd4\x74\xd0\x60")
    r = CaptureReader(path)
    msgs = list(r)
    assert [m.payload for m in msgs] == payloads
    assert [m.timestamp for m in msgs] == stamps
    assert all(m.pid == 0 for m in msgs)
    assert r.version == 3 and not r.truncated
    assert [p for batch in r.batches() for p in batch] == list(zip(stamps, payloads, strict=True))  # fast path


def test_layout_and_trailer(tmp_path: Path) -> None:
    path = tmp_path / "x.dog"
    _write(path, [b"a:1|c"], compress=False)
    raw = path.read_bytes()
    assert raw[:8] == bytes([0xD4, 0x74, 0xD0, 0x60, 0xF3, 0xFF, 0x00, 0x00])
    (n,) = struct.unpack_from("<I", raw, 8)
    rec = UnixDogstatsdMsg()
    rec.ParseFromString(raw[12 : 12 + n])
    assert rec.payload == b"a:1|c" and rec.payloadSize == 5
    assert raw[12 + n :] == b"\x00" * 8  # separator, empty tagger state, its length


def test_new_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "x.dog"
    _write(path, [b"a:1|c"])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # replacing an existing, world-readable file (--overwrite) also gives a private one
    path.chmod(0o644)
    _write(path, [b"a:1|c"], overwrite=True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def _old_capture(version: int, payloads: list[bytes], ts_s: int) -> bytes:
    body = bytearray(header(version))
    for p in payloads:
        rec = UnixDogstatsdMsg(timestamp=ts_s, payloadSize=len(p), payload=p).SerializeToString()
        body += struct.pack("<I", len(rec)) + rec
    if version >= 2:
        body += struct.pack("<I", 0) + struct.pack("<I", 0)
    return bytes(body)


@pytest.mark.parametrize("version", [1, 2])
def test_reads_v1_and_v2_seconds(tmp_path: Path, version: int) -> None:
    path = tmp_path / "datadog-capture-1700000000"
    path.write_bytes(zstandard.ZstdCompressor().compress(_old_capture(version, [b"a:1|c", b"b:1|c"], 1700000000)))
    r = CaptureReader(path)
    msgs = list(r)
    assert r.version == version
    assert [m.timestamp for m in msgs] == [1700000000 * 10**9] * 2
    assert not r.truncated


def test_truncated_compressed_file_reads_to_last_whole_record(tmp_path: Path) -> None:
    path = tmp_path / "x.dog"
    w = CaptureWriter(path)
    for i in range(100):
        w.write(b"m:%d|c" % i, 1_000 + i)
        if i % 10 == 9:
            w.flush()
    w._raw.close()  # killed: no trailer, no frame end
    data = path.read_bytes()
    cut = tmp_path / "cut.dog"
    cut.write_bytes(data[:-5])
    warnings: list[str] = []
    msgs = list(CaptureReader(cut, warnings.append))
    assert 90 <= len(msgs) < 100
    assert [m.payload for m in msgs] == [b"m:%d|c" % i for i in range(len(msgs))]
    assert len(warnings) == 1 and "last whole record" in warnings[0]


def test_truncated_uncompressed_file(tmp_path: Path) -> None:
    path = tmp_path / "x.dog"
    _write(path, [b"a:1|c", b"b:2|c", b"c:3|c"], compress=False)
    data = path.read_bytes()
    cut = tmp_path / "cut.dog"
    cut.write_bytes(data[: len(data) - 8 - 3])  # into the last record
    warnings: list[str] = []
    msgs = list(CaptureReader(cut, warnings.append))
    assert [m.payload for m in msgs] == [b"a:1|c", b"b:2|c"]
    assert len(warnings) == 1


@pytest.mark.parametrize("content", [b"hello world, not a capture", b"\xd4\x74\xd0\x60\x05\xff\x00\x00", b"hi"])
def test_non_capture_files_rejected(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk"
    path.write_bytes(content)
    with pytest.raises(CaptureError):
        CaptureReader(path)


def test_empty_file_is_a_capture_with_no_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.dog"
    path.write_bytes(b"")
    warnings: list[str] = []
    assert list(CaptureReader(path, warnings.append)) == []
    assert len(warnings) == 1 and "no records" in warnings[0]


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="No such file"):
        CaptureReader(tmp_path / "nope.dog")
    with pytest.raises(CaptureError, match="directory"):
        CaptureReader(tmp_path)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.integers(0, 2**63 - 1), st.integers(-(2**63), -1),
                                    st.integers(1_600_000_000 * 10**9, 1_900_000_000 * 10**9)),
                          st.binary(max_size=300), st.integers(-3, 3), st.integers(0, 2**31 - 1),
                          st.binary(max_size=4)), max_size=40),
       st.integers(1, 1 << 12))
def test_fast_batches_equal_full_decoding(tmp_path_factory: pytest.TempPathFactory,
                                          recs: list[tuple[int, bytes, int, int, bytes]], chunk: int) -> None:
    """`batches()` reads the Agent's usual layout without the protobuf decoder: it must agree with it on
    anything protobuf writes (pids and ancillary data after the payload, sizes that differ from the length)."""
    import tundra_tui.capture.reader as reader

    body = bytearray(header())
    written = 0
    for ts, payload, skew, pid, anc in recs:
        size = max(len(payload) + skew, 0)
        raw = UnixDogstatsdMsg(timestamp=ts, payloadSize=size, payload=payload, pid=pid, ancillarySize=len(anc),
                               ancillary=anc).SerializeToString()
        if raw:  # an all-default record encodes as nothing, which the format reads as the end marker
            body += struct.pack("<I", len(raw)) + raw
            written += 1
    body += b"\0" * 8
    path = tmp_path_factory.mktemp("fast") / "x.dog"
    path.write_bytes(zstandard.ZstdCompressor().compress(bytes(body)))
    old, reader.CHUNK = reader.CHUNK, chunk  # small chunks: records split across reads
    try:
        full = [(m.timestamp, m.payload) for m in CaptureReader(path)]
        fast = [p for batch in CaptureReader(path).batches() for p in batch]
    finally:
        reader.CHUNK = old
    assert fast == full
    assert len(full) == written


def _frames(raw: bytes) -> list[bytes]:
    """The decompressed content of each zstd frame of `raw`, one frame at a time."""
    out = []
    while raw:
        d = zstandard.ZstdDecompressor().decompressobj()
        out.append(d.decompress(raw))
        assert d.eof  # every frame is whole
        raw = d.unused_data
    return out


def _protobuf_records(body: bytes) -> list[tuple[int, bytes]]:
    """(timestamp, payload) of every record of a decompressed v3 capture, decoded by protobuf itself."""
    assert body[:8] == header()
    out, pos = [], 8
    while True:
        (n,) = struct.unpack_from("<I", body, pos)
        pos += 4
        if n == 0:
            assert body[pos:] == b"\0" * 4  # empty tagger state: the trailer the Agent expects
            return out
        rec = UnixDogstatsdMsg()
        rec.ParseFromString(body[pos : pos + n])
        out.append((rec.timestamp, rec.payload))
        pos += n


def test_each_flush_writes_an_independent_frame(tmp_path: Path) -> None:
    """Tundra's captures are one zstd frame per flushed block: one stream for the Agent and for zstd's own
    reader, and each frame decompresses on its own and starts at a record."""
    path = tmp_path / "x.dog"
    w = CaptureWriter(path, flush_s=0)  # every write flushes
    sent = [(1_700_000_000_000_000_000 + i, f"m{i}:1|c".encode()) for i in range(5)]
    for ts, p in sent:
        w.write(p, ts)
    w.flush()  # nothing new since the last frame: no empty frame
    w.close()
    raw = path.read_bytes()
    frames = _frames(raw)
    assert len(frames) == len(sent) + 1  # one per record (the first after the header), then the trailer
    assert frames[0][:8] == header() and frames[-1] == b"\0" * 8
    assert [len(f) for f in [frames[0][8:], *frames[1:-1]]] == [4 + len(encode(DogMsg(ts, p))) for ts, p in sent]
    one_stream = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True).read()
    assert one_stream == b"".join(frames)
    assert _protobuf_records(one_stream) == sent
    assert [(m.timestamp, m.payload) for m in CaptureReader(path)] == sent


@pytest.mark.skipif(shutil.which("zstd") is None, reason="the zstd CLI is not installed (python zstandard's "
                    "stream reader reads the frames as one stream in test_each_flush_writes_an_independent_frame)")
def test_zstd_tool_reads_the_frames_as_one_stream(tmp_path: Path) -> None:
    """zstd's own tool decompresses tundra's multi-frame capture as one stream: the records protobuf decodes."""
    path = tmp_path / "x.dog"
    w = CaptureWriter(path, flush_s=0)
    sent = [(1_700_000_000_000_000_000 + i, f"m{i}:1|c".encode()) for i in range(200)]
    for ts, p in sent:
        w.write(p, ts)
    w.close()
    assert len(_frames(path.read_bytes())) == 201
    out = subprocess.run(["zstd", "-dc", str(path)], capture_output=True, check=True).stdout
    assert _protobuf_records(out) == sent


def test_recorder_failing_transform_stops_and_counts(tmp_path: Path) -> None:
    """A transform that raises (not an OSError) stops the recording with its reason; nothing is lost uncounted."""
    from tundra_tui.sources.recorder import Recorder

    def mask(data: bytes) -> bytes:
        raise ValueError("mask failed")

    rec = Recorder(tmp_path / "r.dog", transform=mask)
    rec.put_many([(1.0, b"a:1|c"), (2.0, b"b:1|c")])
    rec.close()  # joins the writer thread
    assert rec.error == f"recording to {tmp_path / 'r.dog'} stopped: mask failed"
    assert rec.dropped == 2 and not rec.active
    rec.put_many([(3.0, b"c:1|c")])
    assert rec.dropped == 3
