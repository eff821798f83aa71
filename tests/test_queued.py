"""The queued writers (the `.dog` recorder, the `.spans` sidecar): every item put is either written or counted as
dropped, exactly once, whatever the writer does: blocks for good on a FIFO nobody reads, or fails (a full device)
while the tap keeps putting."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tundra_tui.capture import CaptureReader
from tundra_tui.sources.recorder import Recorder

from .waits import wait_until

BIG = b"x" * 16384  # past the file's 8 KiB buffer: every write reaches the device (or the pipe) at once


@contextlib.contextmanager
def fine_switching() -> Iterator[None]:
    """Threads switch every microsecond: a race between the tap's puts and a failing writer shows up at once."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def fifo_nobody_reads(tmp_path: Path) -> tuple[Path, int]:
    """A FIFO held open for reading (so writing to it can start) that nobody reads: writes block once it is full."""
    path = tmp_path / "stuck.dog"
    os.mkfifo(path)
    return path, os.open(path, os.O_RDONLY | os.O_NONBLOCK)


@pytest.mark.parametrize("how", ["close", "abandon"])
def test_a_writer_stuck_for_good_is_given_up_on_and_what_it_held_is_counted(tmp_path: Path, how: str) -> None:
    """Given up on, each item is written, dropped or (closing) in flight; once the stuck write returns, the
    ones in flight are written or dropped by what the file holds: what went through the FIFO, replayed."""
    path, reader = fifo_nobody_reads(tmp_path)
    try:
        rec = Recorder(path, compress=False)
        items = [(i, BIG) for i in range(40)]  # 640 KiB: ten times what the pipe holds
        rec.put_many(items)
        getattr(rec, how)(join_s=0.05)  # the writer is blocked in a write: give up on it
        assert rec.dropped > 0 and rec.written + rec.dropped + rec.in_flight == len(items)
        if how == "close":
            assert rec.error == f"recording to {path} stopped: a write did not return in 0.05 s"
            assert rec.in_flight >= 1  # the write that hangs: in the file only if it returns
        else:
            assert rec.in_flight == 0  # an abandoned file goes whatever the write does: dropped at once
        rec.put_many(items[:3])  # the tap goes on after the stop: counted
        assert rec.written + rec.dropped + rec.in_flight == len(items) + 3
        counted = (rec.written, rec.dropped)
        os.set_blocking(reader, True)
        got = b""
        while chunk := os.read(reader, 1 << 20):  # someone reads at last: the blocked write returns, it stops
            got += chunk
        rec._thread.join(5)
        assert not rec._thread.is_alive() and rec.in_flight == 0
        assert rec.written + rec.dropped == len(items) + 3  # nothing counted twice, or lost
        if how == "close":
            (tmp_path / "read.dog").write_bytes(got)
            assert rec.written == len(list(CaptureReader(tmp_path / "read.dog"))) > counted[0]
        else:
            assert (rec.written, rec.dropped) == counted  # nothing counted late
    finally:
        os.close(reader)


def hang_on(payload: bytes) -> tuple[threading.Event, threading.Event, Callable[[bytes], bytes]]:
    """A transform (it runs on the writer thread, inside its write) that hangs on `payload` until let go."""
    there, go_on = threading.Event(), threading.Event()

    def transform(data: bytes) -> bytes:
        if data == payload:
            there.set()
            go_on.wait()
        return data

    return there, go_on, transform


@pytest.mark.parametrize("compress", [True, False])
def test_a_capture_whose_writer_was_given_up_on_still_replays(tmp_path: Path, compress: bool) -> None:
    """While the stuck write hangs, what was flushed replays (no trailer yet: read as a killed recorder's file);
    once it returns, the writer ends the file with its trailer, and everything it wrote replays whole. At each
    step the counts say what the file holds (they once said written 0, dropped 4 of a file holding 3)."""
    path = tmp_path / "stuck.dog"
    at_third, go_on, hang = hang_on(b"c:1|c")
    rec = Recorder(path, compress=compress, transform=hang)
    rec._writer._flush_s = 0.0  # every write flushes: the file is named, and holds each record at once
    rec.put_many([(1, b"a:1|c"), (2, b"b:1|c"), (3, b"c:1|c"), (4, b"d:1|c")])
    at_third.wait()
    try:
        rec.close(join_s=0.05)  # the writer hangs: given up on
        assert rec.error == f"recording to {path} stopped: a write did not return in 0.05 s"
        warnings: list[str] = []
        stuck = CaptureReader(path, on_warning=warnings.append)
        assert [r.payload for r in stuck] == [b"a:1|c", b"b:1|c"] and stuck.truncated and warnings
        # were the process to end now: a and b in the file, c as its write decides, d never written
        assert (rec.written, rec.in_flight, rec.dropped) == (2, 1, 1)
    finally:
        go_on.set()
    rec._thread.join(5)
    assert not rec._thread.is_alive()
    closed = CaptureReader(path)
    assert [r.payload for r in closed] == [b"a:1|c", b"b:1|c", b"c:1|c"]  # the write that hung got out, then stop
    assert (rec.written, rec.in_flight, rec.dropped) == (3, 0, 1)
    assert not closed.truncated  # the separator is there...
    if not compress:
        assert path.read_bytes().endswith(bytes(8))  # ...and the empty TaggerState's trailer (its size: 0)
    assert [p.name for p in tmp_path.iterdir()] == ["stuck.dog"]  # no temporary file left beside it


def test_a_writer_stuck_before_its_first_flush_names_the_temporary_file(tmp_path: Path) -> None:
    """Stuck before the first flush named the file: the error line says where its data is (the `.part`), as the
    process may end before the write returns; if it returns, the close names the file as usual."""
    path = tmp_path / "early.dog"
    at_first, go_on, hang = hang_on(b"a:1|c")
    rec = Recorder(path, compress=False, transform=hang)
    rec._writer._flush_s = 3600.0  # no flush comes before the close: the file keeps its temporary name
    rec.put_many([(1, b"a:1|c"), (2, b"b:1|c")])
    at_first.wait()
    try:
        rec.close(join_s=0.05)
        [part] = [p for p in tmp_path.iterdir()]
        assert part.name.startswith(".early.dog.") and part.name.endswith(".part") and not path.exists()
        assert rec.error == (f"recording to {path} stopped: a write did not return in 0.05 s; what reached the "
                             f"disk is in {part} (named {path} only if the write returns before tundra exits)")
        assert (rec.written, rec.in_flight, rec.dropped) == (0, 1, 1)
    finally:
        go_on.set()
    rec._thread.join(5)
    assert [p.name for p in tmp_path.iterdir()] == ["early.dog"]
    assert [r.payload for r in CaptureReader(path)] == [b"a:1|c"]
    assert (rec.written, rec.in_flight, rec.dropped) == (1, 0, 1)


def race_a_failing_writer() -> tuple[Recorder, int]:
    """A tap thread putting into a recorder on /dev/full until its writer has failed; what it put."""
    rec = Recorder("/dev/full", compress=False, overwrite=True)
    put = 0
    stop = threading.Event()

    def tap() -> None:
        nonlocal put
        while not stop.is_set():
            rec.put_many([(0, BIG)] * 3)
            put += 3

    thread = threading.Thread(target=tap)
    thread.start()
    wait_until(lambda: rec.error, "the recorder's error")
    stop.set()
    thread.join()
    rec.close(join_s=5)
    return rec, put


def test_puts_racing_a_failing_writer_are_each_written_or_counted_once() -> None:
    """/dev/full refuses every write (ENOSPC, as a full disk) while a tap thread keeps putting."""
    with fine_switching():
        for _ in range(20):
            rec, put = race_a_failing_writer()
            assert rec.error == "recording to /dev/full stopped: disk full"
            assert rec.written + rec.dropped == put, (rec.written, rec.dropped, put)


def test_a_full_queue_counts_what_it_refuses(tmp_path: Path) -> None:
    path, reader = fifo_nobody_reads(tmp_path)
    try:
        rec = Recorder(path, compress=False, max_queue=10)
        rec.put_many([(i, BIG) for i in range(25)])
        assert rec.dropped == 15  # past the limit at once: the ten taken are still held (queued or being written)
        rec.close(join_s=0.05)
        assert rec.written + rec.dropped + rec.in_flight == 25
    finally:
        os.close(reader)


def test_what_a_failed_flush_lost_is_dropped_not_recorded() -> None:
    """/dev/full takes small writes into the file's buffer and fails at the flush: nothing is in the file, so
    nothing counts as recorded; all five are dropped."""
    rec = Recorder("/dev/full", compress=False, overwrite=True)
    rec.put_many([(i, b"m:1|c") for i in range(5)])
    rec.close(join_s=5)
    assert rec.error == "recording to /dev/full stopped: disk full"
    assert (rec.records, rec.dropped) == (0, 5)


def test_a_failing_transform_keeps_what_was_written_before_it(tmp_path: Path) -> None:
    """Not the disk: the items before the failing one still reach the file (the close flushes them), and count."""
    def mask(data: bytes) -> bytes:
        if data == b"bad":
            raise ValueError("mask failed")
        return data

    path = tmp_path / "t.dog"
    rec = Recorder(path, transform=mask)
    rec.put_many([(1, b"a:1|c"), (2, b"b:1|c"), (3, b"bad"), (4, b"c:1|c")])
    rec.close(join_s=5)
    assert rec.error == f"recording to {path} stopped: mask failed"
    assert (rec.records, rec.dropped) == (2, 2)
    assert [r.payload for r in CaptureReader(path)] == [b"a:1|c", b"b:1|c"]


def test_a_flush_that_fails_then_a_close_that_succeeds_records_what_the_file_holds(tmp_path: Path) -> None:
    """The file may grow no further (RLIMIT_FSIZE: EFBIG, as a full disk) when a write's flush goes out; by the
    close there is room again. The close puts that record in the file: it counts as recorded, not dropped."""
    path, put = tmp_path / "f.dog", 2
    at_second, locked, too_big = threading.Event(), threading.Event(), threading.Event()

    def hold_the_second(data: bytes) -> bytes:  # runs on the writer thread, after it took the item
        if data == b"b:1|c":
            at_second.set()
            locked.wait()
        return data

    rec = Recorder(path, compress=False, transform=hold_the_second)
    rec._writer._flush_s = 0.0  # every write flushes: the failure is the write's, after it took the record
    old = signal.signal(signal.SIGXFSZ, lambda *_: too_big.set())  # the kernel's word: a write went past it
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    try:
        rec.put_many([(1, b"a:1|c")])
        wait_until(lambda: path.exists() and rec.written == 1, "the first record flushed")
        resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 4, hard))  # the second's flush fails
        rec.put_many([(2, b"b:1|c")])
        at_second.wait()
        with rec._lock:  # the writer fails, then waits here to count it: the file may grow again before its close
            locked.set()
            wait_until(too_big.is_set, "the second record's flush to fail")
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        rec.close(join_s=5)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)
    assert rec.error == f"recording to {path} stopped: File too large"
    in_file = [r.payload for r in CaptureReader(path)]
    assert in_file == [b"a:1|c", b"b:1|c"] and (rec.records, rec.dropped) == (len(in_file), put - len(in_file))


def test_record_s_closing_line_says_what_is_in_flight() -> None:
    """Neither recorded nor dropped while the stuck write may still return: the line says so, apart."""
    from tundra_tui.commands.report import progress_line
    from tundra_tui.model.snapshot import SessionStatus, SourceStatus

    status = SessionStatus(SourceStatus("live"), recorded=2, recorder_dropped=1, recorder_in_flight=1)
    line = progress_line(status)
    assert "drops 1  recorded 2  in flight 1 (recorded only if the stuck write returns)" in line
    assert "in flight" not in progress_line(SessionStatus(SourceStatus("live"), recorded=3, recorder_dropped=1))
