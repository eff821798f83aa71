"""A hostile sender: DogStatsD datagrams of 25 lines, every metric name unique, as fast as one process can send
them (or at `--rate` datagrams/s), for `seconds`. Raw UDP, as any local process could.

    python tests/apps/flood.py PORT SECONDS [--rate N] [--lines 25]

Prints `sent D datagrams L lines` on stdout when done (every sendto that returned counts: a datagram the
local kernel refused with an error is not counted as sent).
"""

from __future__ import annotations

import argparse
import socket
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("seconds", type=float)
    ap.add_argument("--rate", type=float, default=0.0, help="datagrams per second (0: as fast as possible)")
    ap.add_argument("--lines", type=int, default=25)
    ap.add_argument("--host", default="127.0.0.1")
    a = ap.parse_args()
    sock = socket.socket(socket.AF_INET6 if ":" in a.host else socket.AF_INET, socket.SOCK_DGRAM)
    target = (a.host, a.port)
    send, clock = sock.sendto, time.monotonic
    # one template per datagram: 25 lines whose names differ by a counter (a cardinality flood)
    fmt = b"\n".join(b"flood.u%d.n" + str(j).encode() + b":1|c|#id:%d,env:x" for j in range(a.lines))
    start = clock()
    end = start + a.seconds
    sent = failed = 0
    while True:
        now = clock()
        if now >= end:
            break
        due = int((now - start) * a.rate) + 64 if a.rate else sent + 256
        while sent < due:
            pkt = fmt % ((sent, sent) * a.lines)
            try:
                send(pkt, target)
            except OSError:  # ENOBUFS and the like: never left this host
                failed += 1
                continue
            sent += 1
        if a.rate and sent >= due:
            time.sleep(0.001)
    print(f"sent {sent} datagrams {sent * a.lines} lines failed {failed} in {clock() - start:.2f}s", flush=True)


if __name__ == "__main__":
    main()
