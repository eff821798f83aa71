"""Capture files from elsewhere, as an attacker would write them: length bombs, zstd bombs, FIFOs.

The reader must end in bounded time and memory whatever the bytes: bounds are enforced on a child
process with `resource` limits (a runaway is killed, and the test fails), not guessed from timings.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import zstandard
from hypothesis import given
from hypothesis import strategies as st

from tundra_tui.capture import CaptureError, CaptureReader, DogMsg, encode, header
from tundra_tui.capture.reader import MAX_RATIO

from .conftest import ROOT, run_cli

T0 = 1_700_000_000 * 10**9
_U32 = struct.Struct("<I")


def _record(payload: bytes, ts: int = T0) -> bytes:
    rec = encode(DogMsg(ts, payload))
    return _U32.pack(len(rec)) + rec


def _bounded_read(path: Path, mem_mib: int = 600, cpu_s: int = 20) -> dict[str, int]:
    """Read `path` to its end in a child limited to `mem_mib` of address space and `cpu_s` of CPU."""
    code = textwrap.dedent(f"""
        import json, resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({mem_mib} << 20, {mem_mib} << 20))
        resource.setrlimit(resource.RLIMIT_CPU, ({cpu_s}, {cpu_s}))
        from tundra_tui.capture import CaptureReader
        warnings = []
        r = CaptureReader(sys.argv[1], warnings.append)
        n = sum(len(b) for b in r.batches())
        # VmHWM is this process's own peak: ru_maxrss also carries the parent's peak across fork and exec,
        # so it would measure the test runner
        hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
        print(json.dumps({{"packets": n, "truncated": r.truncated, "warnings": len(warnings), "maxrss_kib": hwm}}))
    """)
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT,
                          timeout=cpu_s * 3)
    assert proc.returncode == 0, proc.stderr[-2000:]  # SIGXCPU or MemoryError would land here
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_length_bomb_is_refused_in_bounded_time_and_memory(tmp_path: Path) -> None:
    good = b"".join(_record(b"llm.request.complete:1|c|#model:m%d" % i) for i in range(50))
    bomb = tmp_path / "bomb.dog"
    # a record that claims 4 GiB, then 4 MiB of bytes: the old reader re-copied its buffer on every read
    bomb.write_bytes(header() + good + _U32.pack(0xFFFFFFFE) + os.urandom(1 << 22))
    got = _bounded_read(bomb)
    assert got["packets"] == 50 and got["truncated"] and got["warnings"] == 1
    assert got["maxrss_kib"] < 400 << 10  # the CPU limit is the sharp bound: the old reader re-copied for minutes
    res = run_cli("stats", str(bomb), "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["packets"] == 50
    assert res.stderr.count("\n") == 1 and "claims 4,294,967,294 bytes" in res.stderr


def test_zstd_bomb_stops_at_a_ratio_in_bounded_time_and_memory(tmp_path: Path) -> None:
    # one frame of 8 MiB of identical records, repeated: a few KiB that decompress to gigabytes
    rec = _record(b"x" * 8000)
    frame = zstandard.ZstdCompressor(level=19).compress(header() + rec * ((8 << 20) // len(rec)))
    body = zstandard.ZstdCompressor(level=19).compress(rec * ((8 << 20) // len(rec)))
    bomb = tmp_path / "bomb.dog.zst"
    bomb.write_bytes(frame + body * 100)  # 800 MiB once decompressed
    size = bomb.stat().st_size
    assert size < 200 << 10
    got = _bounded_read(bomb)
    assert got["truncated"] and got["warnings"] == 1
    assert 0 < got["packets"] * 8000 <= max(size * MAX_RATIO, 64 << 20)  # stopped at the ratio, not 800 MiB
    assert got["maxrss_kib"] < 300 << 10


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "cap.dog"
    os.mkfifo(fifo)
    for cmd in (("stats", str(fifo)), ("replay", str(fifo), "--once", "--json")):
        res = run_cli(*cmd, timeout=20)  # the old reader blocked on open, or crashed seeking
        assert res.returncode == 2, res.stderr
        assert res.stderr.strip() == f"tundra {cmd[0]}: {fifo}: is a FIFO, not a capture file", res.stderr
        assert "Traceback" not in res.stderr


_lengths = st.sampled_from([0xFFFFFFFE, 0x7FFFFFFF, (1 << 20) + 1, 1 << 20, 65, 3, 1])


@st.composite
def hostile_capture(draw: st.DrawFn) -> tuple[bytes, int, bool]:
    """A capture whose first `clean` records are whole, then damage: a lying length, random bytes, a cut."""
    clean = draw(st.integers(0, 20))
    payloads = draw(st.lists(st.binary(min_size=1, max_size=200), min_size=clean, max_size=clean))  # empty = separator
    data = bytearray(header(draw(st.sampled_from([1, 2, 3]))))
    for p in payloads:
        data += _record(p, ts=draw(st.integers(0, 2**63 - 1)))
    damage = draw(st.sampled_from(["length", "bytes", "cut", "none"]))
    if damage == "length":
        data += _U32.pack(draw(_lengths)) + draw(st.binary(max_size=300))
    elif damage == "bytes":
        data += draw(st.binary(min_size=1, max_size=300))
    elif damage == "cut" and len(data) > 8:
        del data[draw(st.integers(8, len(data) - 1)):]
        clean = -1  # some records lost: only "no more than written" holds
    return bytes(data), clean if damage in ("none", "length") else -1, damage == "none"


@given(cap=hostile_capture(), compress=st.booleans())
def test_reader_survives_any_damage(tmp_path_factory: object, cap: tuple[bytes, int, bool], compress: bool) -> None:
    data, clean, intact = cap
    path = Path(str(tmp_path_factory.mktemp("cap"))) / "c.dog"  # type: ignore[attr-defined]
    path.write_bytes(zstandard.ZstdCompressor().compress(data) if compress else data)
    try:
        r = CaptureReader(path, lambda _msg: None)
        msgs = list(r)
        fast = sum(len(b) for b in r.batches())
    except CaptureError:
        return  # a damaged header: one clear line, which the CLI prints
    assert fast == len(msgs)  # the fast and the full decoder agree on where the damage starts
    if clean >= 0:  # whole records before the damage are all read (a lying length may frame a few more)
        assert len(msgs) == clean if intact else len(msgs) >= clean
