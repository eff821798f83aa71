"""Terminal output of the detail screen and of a maximised pane's charts, as the dashboard's is measured.

    uv run python benchmarks/run.py detail_ssh

`tundra replay --sample --speed 1` (a live-rate replay) in an 80x24 pty: the dashboard alone, then the
detail screen of the busiest model (pane 2 maximised and restored, which leaves it focused, then Enter),
the same at the 1m zoom (`z`: 1-second buckets, so its charts move every second), then pane 3
maximised (its chart form); bytes written to the terminal over 20 s each, after the
screen has settled. Each in its own process, so one's start-up is never in another's figure.
"""

from __future__ import annotations

import re
import sys
import time

from ptyrun import PtyRun

TUNDRA = [sys.executable, "-m", "tundra_tui", "replay", "--sample", "--speed", "1"]
SETTLE_S, MEASURE_S = 2.0, 20.0


def _bytes_per_s(keys: list[bytes], shown: bytes, quit: bytes = b"q") -> tuple[float, int]:
    """Bytes/s written over MEASURE_S once `keys` are sent and the screen shows `shown`; and the exit status."""
    run = PtyRun(TUNDRA, watch={"ready": rb"Throughput", "shown": shown})
    end = time.monotonic() + 30
    while "ready" not in run.seen and time.monotonic() < end:  # the dashboard is up: keys now reach it
        time.sleep(0.05)
    time.sleep(SETTLE_S)
    for key in keys:
        run.send(key)
        time.sleep(0.3)
    end = time.monotonic() + 10
    while "shown" not in run.seen and time.monotonic() < end:
        time.sleep(0.05)
    if "shown" not in run.seen:
        run.close()
        raise RuntimeError(f"the screen never showed {shown!r}")
    time.sleep(2)  # the first frames of the new screen are not the steady state
    t0 = time.monotonic()
    time.sleep(MEASURE_S)
    n = run.bytes_between(t0, time.monotonic())
    return n / MEASURE_S, run.close(quit)


def bench_detail_bytes() -> None:
    """Dashboard, detail screen and a maximised pane's charts: bytes/s at 80x24 in a live-rate replay."""
    dash, rc0 = _bytes_per_s([], rb"Throughput")
    detail, rc1 = _bytes_per_s([b"2", b"\x1b", b"\r"], re.escape(b"z/Z zoom"), b"qq")  # back, then quit
    minute, rc2 = _bytes_per_s([b"2", b"\x1b", b"\r", b"z"], rb"span 1m", b"qq")  # 1-s buckets: the busiest
    pane, rc3 = _bytes_per_s([b"3"], rb"buckets \(1-6")
    print(f"ssh_output_80x24_bytes_per_s dashboard {dash:.0f} detail_screen {detail:.0f} detail_screen_1m_zoom "
          f"{minute:.0f} maximised_pane_charts {pane:.0f} (target <= 8192) exits {rc0} {rc1} {rc2} {rc3}")


BENCHES = {"detail_ssh": bench_detail_bytes}
