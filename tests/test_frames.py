"""Tundra's captures indexed in place by zstd frame: the index finds exactly what the hardened reader reads,
whatever the frames look like (checksums, sizes in the header, skippable frames, a record split across two
frames, a cut last frame, a frame too big), falling back to the spill where a frame does not fit."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

import tundra_tui.capture.frames as frames_mod
from tundra_tui.capture import CaptureReader, CaptureWriter, DogMsg, encode, header
from tundra_tui.capture.frames import frame_end
from tundra_tui.capture.reader import RecordDecoder
from tundra_tui.sources import Replay

T0 = 1_700_000_000_000_000_000
PACKETS = [(T0 + i * 10_000_000, f"llm.tokens:{i}|c|#model:m{i % 5}".encode()) for i in range(3000)]


def _records(packets: list[tuple[int, bytes]]) -> list[bytes]:
    return [struct.pack("<I", len(r)) + r for r in (encode(DogMsg(ts, p)) for ts, p in packets)]


def _frames(pieces: list[bytes], **kw: object) -> bytes:
    cctx = zstandard.ZstdCompressor(**kw)  # type: ignore[arg-type]
    return b"".join(cctx.compress(p) for p in pieces)


def _read(path: Path) -> tuple[list[tuple[int, bytes]], bool]:
    reader = CaptureReader(path)
    return [p for batch in reader.batches() for p in batch], reader.truncated


def _replayed(path: Path, tmp_path: Path) -> tuple[list[tuple[int, bytes]], bool, int, Replay]:
    rp = Replay(path, spill_dir=tmp_path)
    rp.start()
    assert rp.spill is not None and rp.spill.wait_for(2**62, 30)
    got = rp.get(0, rp.count)
    rp.stop()
    return got, rp.truncated, rp.frames_in_place, rp


def _chunks(recs: list[bytes], n: int) -> list[bytes]:
    return [b"".join(recs[i : i + n]) for i in range(0, len(recs), n)]


def test_frame_end_walks_every_frame_of_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "w.dog"
    w = CaptureWriter(path, flush_s=0)
    for ts, p in PACKETS[:50]:
        w.write(p, ts)
    w.close()
    raw = path.read_bytes()
    ends, pos = [], 0
    while pos < len(raw):
        end = frame_end(raw, pos)
        assert end is not None and end > pos
        assert frame_end(raw[:end - 1], pos) is None  # one byte short: not yet whole
        ends.append(end)
        pos = end
    assert len(ends) == 51 and ends[-1] == len(raw)  # a frame per record, then the trailer's


@pytest.mark.parametrize("kw", [{}, {"write_checksum": True, "write_content_size": True},
                                {"write_content_size": False, "level": 19}], ids=["plain", "checksum", "level19"])
def test_frames_in_place_equal_the_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kw: dict) -> None:
    monkeypatch.setattr(frames_mod, "ROW_PACKETS", 100)
    recs = _records(PACKETS)
    pieces = _chunks(recs, 37)
    pieces[0] = header() + pieces[0]
    skippable = struct.pack("<II", 0x184D2A53, 5) + b"hello"  # zstd's own tool skips these: so do we
    path = tmp_path / "c.dog"
    path.write_bytes(_frames(pieces[:10], **kw) + skippable + _frames([*pieces[10:], b"\0" * 8], **kw))
    got, truncated, in_place, rp = _replayed(path, tmp_path)
    assert (got, truncated) == _read(path) == (PACKETS, False)
    assert in_place == len(pieces) + 1 and set(rp.spill.skips) == {8, 0}
    assert rp.spill.spilled_bytes == 0  # nothing copied: every packet read where it is


def test_a_record_split_across_frames_falls_back_to_the_spill(tmp_path: Path) -> None:
    """A multi-frame file cut at arbitrary bytes (not tundra's): in place up to the frame that splits a record,
    the reader from there on."""
    body = header() + b"".join(_records(PACKETS)) + b"\0" * 8
    cut = len(header()) + sum(map(len, _records(PACKETS[:1000])))
    pieces = [body[:cut], body[cut : cut + 1001], body[cut + 1001 :]]  # the second frame ends mid-record
    path = tmp_path / "c.dog"
    path.write_bytes(_frames(pieces))
    got, truncated, in_place, rp = _replayed(path, tmp_path)
    assert (got, truncated) == _read(path) == (PACKETS, False)
    assert in_place == 1 and set(rp.spill.skips) == {8, -1}


def test_a_cut_last_frame_reads_what_the_reader_reads(tmp_path: Path) -> None:
    pieces = _chunks(_records(PACKETS), 300)
    pieces[0] = header() + pieces[0]
    whole = _frames(pieces)
    path = tmp_path / "c.dog"
    path.write_bytes(whole[: len(whole) - 40])  # the last frame cut: no trailer either
    got, truncated, in_place, _ = _replayed(path, tmp_path)
    want, want_truncated = _read(path)
    assert (got, truncated) == (want, want_truncated) and truncated
    assert in_place == len(pieces) - 1 and len(got) >= 2700


def test_no_trailer_is_said_as_the_reader_says_it(tmp_path: Path) -> None:
    pieces = _chunks(_records(PACKETS), 300)
    pieces[0] = header() + pieces[0]
    path = tmp_path / "c.dog"
    path.write_bytes(_frames(pieces))  # a recording still going: every frame whole, no trailer yet
    got, truncated, in_place, _ = _replayed(path, tmp_path)
    assert (got, truncated) == _read(path) == (PACKETS, True)
    assert in_place == len(pieces)


def test_a_frame_over_the_limit_is_spilled_and_a_bomb_stays_bounded(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frames_mod, "FRAME_BYTES", 64 << 10)
    recs = _records(PACKETS)
    big = b"".join(recs[1000:])  # ~100 KiB in one frame
    assert len(big) > frames_mod.FRAME_BYTES
    path = tmp_path / "c.dog"
    path.write_bytes(_frames([header() + b"".join(recs[:1000]), big, b"\0" * 8]))
    got, truncated, in_place, rp = _replayed(path, tmp_path)
    assert (got, truncated) == _read(path) == (PACKETS, False)
    assert in_place == 1 and rp.count == 3000
    bomb = tmp_path / "bomb.dog"  # a frame of zeros: one record claiming 0 bytes is the separator
    bomb.write_bytes(_frames([header() + b"".join(recs[:10]), b"\xff" * (32 << 20)]))
    got, truncated, _, _ = _replayed(bomb, tmp_path)
    assert got == PACKETS[:10] and truncated  # the reader's own limits: one warning, nothing more


@given(st.lists(st.tuples(st.integers(2**56, 2**62), st.binary(max_size=40)), min_size=1, max_size=30),
       st.data())
def test_the_bulk_summary_finds_what_the_record_loop_finds(packets: list[tuple[int, bytes]], data) -> None:
    """Payloads that hold record heads (a record's own bytes) included: the summary is right or declines."""
    recs = _records(packets)
    packets = [(ts, p + data.draw(st.sampled_from([b"", *recs]))) for ts, p in packets]  # heads inside payloads
    raw = b"".join(_records(packets))
    found = frames_mod.summary(raw, 0)
    got, pos, stop = RecordDecoder().decode(raw, 0)
    assert pos == len(raw) and stop is None and got == packets
    assert found is None or found == (len(got), got[0][0], max(ts for ts, _ in got))


def test_the_usual_layout_is_summed_up_in_bulk() -> None:
    assert frames_mod.summary(b"".join(_records(PACKETS)), 0) == (3000, PACKETS[0][0], PACKETS[-1][0])
    assert frames_mod.summary(header() + b"".join(_records(PACKETS)), 8) == (3000, PACKETS[0][0], PACKETS[-1][0])
