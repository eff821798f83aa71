"""The replay screen at any length: peak RSS, time to ready and seek latency on generated captures.

    uv run python benchmarks/replay_scale.py 1000000 5000000 20000000

Each size, two captures of the same single-line datagrams at 1,400/s are generated in benchmarks/out/
(reused if present): one zstd frame (the Agent's way: spilled) and a frame per second of capture
(tundra's way: indexed in place). A fresh process opens each as the screen does (Session + Replay +
ReplayController, no terminal) and reports: seconds until the replay can play (its first block indexed;
the screen's first frame follows), a seek while it indexes, the time to index it all, peak RSS
(ru_maxrss), the spill's size (packets and checkpoints) and the checkpoints' pickled size in memory
terms, and the worst of 20 seeks to random points once the checkpoints are built. Then the real
screen (`tundra replay FILE`, 80x24 pty): first frame and peak RSS (VmHWM). Ratios: the same child's
RSS is compared with a bare `import tundra_tui` baseline in the same run. Not run in CI.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import zstandard

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
OUT = HERE / "out"
RATE = 1400

from tundra_tui.capture import header  # noqa: E402
from tundra_tui.capture.bulk import _key  # noqa: E402 - a 9-byte timestamp varint, as the Agent writes it


def _varint(v: int) -> bytes:
    out = bytearray()
    while v >= 0x80:
        out.append(v & 0x7F | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def generate(n: int, framed: bool = False) -> Path:
    """A capture of `n` one-line datagrams, RATE a second, a few hundred contexts: one zstd frame, or
    (`framed`) a frame per second of capture, as tundra's writer flushes."""
    path = OUT / f"replay-{n}{'-framed' if framed else ''}.dog"
    if path.exists():
        return path
    OUT.mkdir(exist_ok=True)
    rng = random.Random(7)
    names = [f"llm.tokens.{i % 20}:{{}}|c|#model:m{i % 60},service:s{i % 7}".encode() for i in range(300)]
    tails = [b"".join((b"\x10", _varint(len(p)), b"\x1a", _varint(len(p)), p))  # record fields after the time
             for p in (n.replace(b"{}", str(v).encode()) for n in names for v in range(97))]
    t0 = 1_700_000_000_000_000_000
    step = 1_000_000_000 // RATE
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as fh, zstandard.ZstdCompressor(level=3).stream_writer(fh) as zw:
        zw.write(header())
        block = RATE if framed else 100_000
        for start in range(0, n, block):
            recs = []
            for i in range(start, min(start + block, n)):
                rec = b"\x08" + _key(t0 + i * step).to_bytes(9, "little") + rng.choice(tails)
                recs.append(len(rec).to_bytes(4, "little") + rec)
            zw.write(b"".join(recs))
            if framed:
                zw.flush(zstandard.FLUSH_FRAME)
        zw.write(b"\0" * 8)
    tmp.rename(path)
    return path


CHILD = r"""
import json, random, resource, sys, threading, time
t0 = time.monotonic()
from tundra_tui.model import Engine
from tundra_tui.model.engine import Mode
from tundra_tui.session import Session
from tundra_tui.sources import Replay
if sys.argv[1] == "baseline":
    print(json.dumps({"rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    sys.exit()
rp = Replay(sys.argv[1], speed=1.0)
session = Session(rp, Engine(Mode.DASHBOARD))
session.start()
ready = time.monotonic() - t0  # the first block indexed: the screen can draw and play
ctl = session.replay_control
rng = random.Random(1)
early = rng.randrange(rp.start_ns, rp.start_ns + 10**9 * 60)
s = time.monotonic()
ctl.seek(early)  # a seek in the first minute, while indexing
ctl.settle()
early_seek = time.monotonic() - s
rp.spill.wait_for(2**62)
indexed = time.monotonic() - t0
while any(t.name == "tundra-prescan" for t in threading.enumerate()):  # every checkpoint built
    time.sleep(0.2)
checkpointed = time.monotonic() - t0
worst = 0.0
for _ in range(20):
    target = rng.randrange(rp.start_ns, rp.end_ns)
    s = time.monotonic()
    ctl.seek(target)
    ctl.settle()
    worst = max(worst, time.monotonic() - s)
import pickle
with session.lock:
    pickled = len(pickle.dumps(session.engine, pickle.HIGHEST_PROTOCOL))  # one checkpoint, uncompressed
out = {"ready_s": ready, "indexed_s": indexed, "early_seek_s": early_seek,
       "checkpoints_s": checkpointed, "seek_worst_s": worst, "packets": rp.count,
       "spill_mib": rp.spill.spilled_bytes / 2**20, "blocks": len(rp.spill.offsets),
       "in_place": rp.frames_in_place, "checkpoints": len(ctl._checkpoints),
       "checkpoint_mib": ctl.checkpoint_bytes() / 2**20, "pickled_mib": pickled / 2**20,
       "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
session.stop()
print(json.dumps(out))
"""


def run(arg: str) -> dict[str, float]:
    """One fresh process on `arg` (a capture path, or "baseline")."""
    done = subprocess.run([sys.executable, "-c", CHILD, arg], capture_output=True, text=True, check=True,
                          cwd=HERE.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def screen(path: Path, seconds: float = 20) -> tuple[float | None, float, float]:
    """The real screen at 80x24 on a pty: seconds to the first frame (borders drawn), then its peak RSS (VmHWM,
    MiB) after `seconds` of play while it indexes, and how many seconds it ran."""
    from ptyrun import PtyRun
    from speed import WATCH

    run = PtyRun([sys.executable, "-m", "tundra_tui", "replay", str(path)], watch={"borders": WATCH["borders"]})
    end = time.monotonic() + seconds
    while time.monotonic() < end and run.proc.poll() is None:
        time.sleep(0.05)
    hwm = 0.0
    for line in Path(f"/proc/{run.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    ran = time.monotonic() - run.started
    run.close()
    return run.seen.get("borders"), hwm, ran


def main() -> None:
    """Each size on the command line (datagrams), one result line each."""
    sizes = [int(a) for a in sys.argv[1:]] or [1_000_000]
    print(f"load average at start {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
    base = run("baseline")
    print(f"baseline: import tundra_tui + engine, peak RSS {base['rss_mib']:.0f} MiB")
    from tundra_tui.commands.replay import SAMPLE

    first, hwm, ran = screen(Path(SAMPLE))
    print(f"baseline screen on the bundled 8,494-datagram sample: first frame "
          f"{first if first is None else f'{first:.2f}'} s, peak RSS {hwm:.0f} MiB after {ran:.0f} s")
    for n in sizes:
        for framed in (False, True):
            s = time.monotonic()
            path = generate(n, framed)
            gen = time.monotonic() - s
            r = run(str(path))
            kind = "frame per second, in place" if framed else "one frame, spilled"
            print(f"{n:>11,} datagrams, {kind} ({path.stat().st_size / 2**20:.0f} MiB on disk, generated in "
                  f"{gen:.0f} s): first block {r['ready_s']:.2f} s, seek while indexing "
                  f"{r['early_seek_s'] * 1000:.0f} ms, indexed {r['indexed_s']:.1f} s ({r['in_place']:,} frames in "
                  f"place), peak RSS {r['rss_mib']:.0f} MiB ({r['rss_mib'] / base['rss_mib']:.2f}x baseline), "
                  f"spill {r['spill_mib']:.1f} MiB, {r['blocks']:.0f} blocks, {r['checkpoints']:.0f} checkpoints "
                  f"({r['checkpoint_mib']:.2f} MiB compressed on disk; one pickled {r['pickled_mib']:.2f} MiB) "
                  f"by {r['checkpoints_s']:.1f} s, seek worst of 20 {r['seek_worst_s'] * 1000:.0f} ms", flush=True)
            first, hwm, ran = screen(path)
            print(f"    screen `tundra replay` at 80x24: first frame "
                  f"{first if first is None else f'{first:.2f}'} s, peak RSS {hwm:.0f} MiB after {ran:.0f} s",
                  flush=True)
    print(f"(load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}; ru_maxrss of the parent "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
