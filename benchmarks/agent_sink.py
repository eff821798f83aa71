"""A stand-in Agent for the benchmarks when /work/shared/bench/sink.py is not there (same output).

    agent_sink.py PORT SECONDS    prints "ready", then one JSON line: datagrams, lines, digest, kernel_drops
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tundra_tui.sources.procnet import udp_sockets


def main() -> None:
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 1 << 30)  # SO_RCVBUFFORCE, as root
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 30)
    s.bind(("127.0.0.1", port))
    print("ready", flush=True)
    s.settimeout(0.2)
    end = time.time() + seconds
    buf = bytearray(65536)
    n = lines = digest = 0
    while time.time() < end:
        try:
            k = s.recv_into(buf)
        except TimeoutError:
            continue
        b = bytes(buf[:k])
        n += 1
        lines += b.count(b"\n") + 1 if b else 0
        digest = (digest + int.from_bytes(hashlib.blake2b(b, digest_size=8).digest(), "little")) & ((1 << 64) - 1)
    drops = sum(r.drops for r in udp_sockets(port))
    print(json.dumps({"datagrams": n, "lines": lines, "digest": digest, "kernel_drops": drops}), flush=True)


if __name__ == "__main__":
    main()
