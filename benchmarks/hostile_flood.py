"""A unique-name flood into a live `tundra` (issue 19, point 8): peak memory, run time and the accounting.

    uv run python benchmarks/hostile_flood.py [--command stats|top|record] [--duration 10] [--send 8] [--tree DIR]

Starts `tundra stats --listen udp://127.0.0.1:0 --duration D --json` (or `top --once --json`, or `record`
stopped with SIGINT after D s), floods it from tests/apps/flood.py for S seconds (25 unique-name lines per
datagram, as fast as one process sends), and prints:
- the peak RSS of tundra's main process and of its receiver process (polled from /proc every 20 ms; the
  main one also as VmHWM, read just before exit),
- the wall time from start to exit, and how long past --duration it ran,
- sent, received (packets ingested), dropped and the difference (what nobody accounts for).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOD = ROOT / "tests" / "apps" / "flood.py"


def status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith(field + ":"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--command", choices=["stats", "top", "record"], default="stats")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--send", type=float, default=8.0)
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("--tree", type=Path, default=ROOT, help="the checkout whose tundra runs (before/after figures)")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tundra-flood-"))
    listen = ["--listen", "udp://127.0.0.1:0"]
    if a.command == "stats":
        argv = ["stats", *listen, "--duration", f"{a.duration:g}", "--json"]
    elif a.command == "top":
        argv = ["top", *listen, "--once", "--after", f"{a.duration:g}", "--json", "--no-traces"]
    else:
        argv = ["record", str(tmp / "flood.dog"), *listen]
    env = {"HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "cfg"), "XDG_DATA_HOME": str(tmp / "data"),
           "PATH": "/usr/bin:/bin"}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "tundra_tui", *argv], cwd=a.tree, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = {"main": 0, "receiver": 0, "hwm": 0, "vm": 0}
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            peak["main"] = max(peak["main"], status_kib(proc.pid, "VmRSS"))
            peak["hwm"] = max(peak["hwm"], status_kib(proc.pid, "VmHWM"))
            peak["vm"] = max(peak["vm"], status_kib(proc.pid, "VmPeak"))
            for c in children(proc.pid):
                peak["receiver"] = max(peak["receiver"], status_kib(c, "VmRSS"))
            time.sleep(0.02)

    threading.Thread(target=poll, daemon=True).start()
    err: list[str] = []
    port = None
    assert proc.stderr is not None
    for line in proc.stderr:
        err.append(line)
        m = re.search(r"(?:listening on|recording) udp://[^ ]*:(\d+)", line)
        if m:
            port = int(m.group(1))
            break
    if port is None:
        raise SystemExit("tundra never listened:\n" + "".join(err))
    listening = time.monotonic()
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    rate = ["--rate", str(a.rate)] if a.rate else []
    sent_out = subprocess.run([sys.executable, str(FLOOD), str(port), str(a.send), *rate],
                              capture_output=True, text=True, check=True).stdout
    sent = int(sent_out.split()[1])
    if a.command == "record":
        time.sleep(max(0.0, a.duration - (time.monotonic() - listening)))
        proc.send_signal(2)
    stop_at = listening + a.duration
    assert proc.stdout is not None
    out = proc.stdout.read()  # stderr is the reader thread's
    proc.wait(timeout=600)
    end = time.monotonic()
    done.set()
    reader.join()
    text = "".join(err)
    print(f"command: tundra {' '.join(argv)}")
    print(f"sender: {sent_out.strip()}")
    print(f"exit {proc.returncode}; wall {end - start:.1f}s, {end - stop_at:.1f}s past the stop")
    print(f"peak RSS main {peak['main'] / 1024:.0f} MiB (VmHWM {peak['hwm'] / 1024:.0f} MiB), "
          f"receiver {peak['receiver'] / 1024:.0f} MiB; address space (VmPeak) {peak['vm'] / 1024:.0f} MiB")
    if a.command in ("stats", "top"):
        doc = json.loads(out)
        tap = doc.get("tap", doc)
        packets = doc.get("packets", tap.get("packets"))
        print("json:", {k: v for k, v in doc.items() if not isinstance(v, (list, dict))})
        if "tap" in doc:
            print("tap:", {k: v for k, v in doc["tap"].items() if not isinstance(v, (list, dict))})
        dropped = doc.get("dropped") or tap.get("dropped") or 0
        print(f"sent {sent:,} packets {packets:,} dropped {dropped:,} unaccounted {sent - packets - dropped:,}")
    else:
        m = re.search(r"datagrams ([\d,]+) .*drops ([\d,]+)\s+recorded ([\d,]+)", text)
        assert m, repr(text)
        got, dropped, recorded = (int(x.replace(",", "")) for x in m.groups())
        print(f"sent {sent:,} datagrams {got:,} recorded {recorded:,} dropped {dropped:,} "
              f"unaccounted {sent - recorded - dropped:,}")
    print("stderr tail:", text.strip().splitlines()[-6:])


if __name__ == "__main__":
    main()
