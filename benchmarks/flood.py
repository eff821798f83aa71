"""Flood sender, run as its own process: N single-line datagrams as fast as possible, then M packets
of 25 lines. Prints `sent_lines L datagrams D per_s R` (R: single-line datagrams per second)."""

from __future__ import annotations

import socket
import sys
import time

from workload import lines, packets


def main() -> None:
    port, singles, multis = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    single = lines(min(singles, 20_000), seed=2)
    multi = packets(lines(multis * 25, seed=3), 25)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", port)
    send = sock.sendto
    start = time.perf_counter()
    n_single = len(single)
    for i in range(singles):
        send(single[i % n_single], target)
    mid = time.perf_counter()
    for p in multi:
        send(p, target)
    print(f"sent_lines {singles + multis * 25} datagrams {singles + multis} per_s {singles / (mid - start):.0f}",
          flush=True)


if __name__ == "__main__":
    main()
