"""Soak: 10 minutes at 50k lines/s of demo traffic, a cardinality bomb and 1% malformed lines, into a
live tap with the UI running under Pilot. Reports RSS growth after the first minute (target <= 10%),
lines lost (target 0) and the slowest UI ping (target <= 200 ms).

    uv run python benchmarks/soak.py [--minutes 10] [--rate 50000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import lines

from tundra_tui.config import Config
from tundra_tui.model.engine import Engine, Mode
from tundra_tui.session import Session
from tundra_tui.sources import Tap, parse_url
from tundra_tui.ui.app import TundraApp


def rss_mib() -> float:
    return int(next(ln for ln in open("/proc/self/status") if ln.startswith("VmRSS")).split()[1]) / 1024


def sender(port: int, rate: int, seconds: float, sent: list[int], stop: threading.Event) -> None:
    """The load, from its own process (as a daemon would be): see `--send`."""
    rng = random.Random(9)
    demo = lines(50_000, seed=5)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", port)
    start = time.monotonic()
    n = bomb = 0
    while not stop.is_set() and time.monotonic() - start < seconds:
        due = int((time.monotonic() - start) * rate)
        while n < due:
            batch = []
            for _ in range(25):
                r = rng.random()
                if r < 0.01:
                    batch.append(b"malformed line without a type")
                elif r < 0.06:
                    bomb += 1
                    batch.append(b"bomb.metric:1|c|#request_id:%d,env:prod" % bomb)
                else:
                    batch.append(demo[n % len(demo)])
            sock.sendto(b"\n".join(batch), target)
            n += 25
        time.sleep(0.002)
    sent.append(n)


def spawn_sender(port: int, rate: int, seconds: float, sent: list[int]) -> threading.Thread:
    def run() -> None:
        out = subprocess.run([sys.executable, __file__, "--send", str(port), "--rate", str(rate),
                              "--minutes", str(seconds / 60)], capture_output=True, text=True, check=True)
        sent.append(int(out.stdout.split()[-1]))
    return threading.Thread(target=run, daemon=True)


async def ping(app: TundraApp) -> float:
    """A round trip through the app's message queue."""
    done = asyncio.Event()
    t = time.perf_counter()
    app.call_later(done.set)
    await done.wait()
    return time.perf_counter() - t


async def main(minutes: float, rate: int) -> None:
    session = Session(Tap([parse_url("udp://127.0.0.1:0")]), Engine(Mode.DASHBOARD))
    session.start()
    port = session.source.listeners[0].address.port
    app = TundraApp(session, Config(), refresh=1.0)
    sent: list[int] = []
    stop = threading.Event()
    seconds = minutes * 60
    thread = spawn_sender(port, rate, seconds, sent)
    del stop
    rss: list[tuple[float, float]] = []
    pings: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        thread.start()
        start = time.monotonic()
        while thread.is_alive():
            await asyncio.sleep(1)
            pings.append(await ping(app))
            rss.append((time.monotonic() - start, rss_mib()))
        await asyncio.sleep(3)
        await pilot.press("q")
    session.stop()
    after_first = [r for t, r in rss if t >= 60] or [r for _, r in rss]
    growth = (max(after_first) - after_first[0]) / after_first[0]
    lost = sent[0] - session.engine.lines
    drops = session.source.status().kernel_drops
    print(f"soak_minutes {minutes:g} lines_sent {sent[0]} lines_seen {session.engine.lines} lost {lost} "
          f"kernel_drops {drops} rss_after_1min_mib {after_first[0]:.0f} rss_max_mib {max(after_first):.0f} "
          f"growth {growth:.1%} (target <= 10%) slowest_ui_ping_ms {max(pings) * 1000:.0f} (target <= 200) "
          f"contexts {len(session.engine.store.contexts)} dropped {session.engine.store.dropped_contexts} "
          f"parse_errors {session.engine.parser.error_total} pid {os.getpid()}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=int, default=50_000)
    ap.add_argument("--send", type=int, metavar="PORT", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.send:
        got: list[int] = []
        sender(a.send, a.rate, a.minutes * 60, got, threading.Event())
        print(got[0])
    else:
        asyncio.run(main(a.minutes, a.rate))
