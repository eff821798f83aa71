"""Run inside `unshare --net` by test_passive: real IP fragments on a private loopback with a small MTU.

Prints one JSON object; exit 77 when the namespace cannot be set up."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tundra_tui.sources import Tap, parse_url


def main() -> int:
    try:
        subprocess.run(["ip", "link", "set", "lo", "up", "mtu", "1280"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"cannot set up loopback: {exc}")
        return 77
    agents = []
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind((host, 8125))
        agents.append(s)
    tap = Tap([parse_url("udp://127.0.0.1:8125")])  # held on both families: the lo tap sees both
    tap.start()
    sent = [b"big.v4:1|c|#" + b"a" * 4000, b"big.v6:1|c|#" + b"b" * 4000, b"small:1|c"]
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(sent[0], ("127.0.0.1", 8125))
    socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).sendto(sent[1], ("::1", 8125))
    orphan_first_fragment()
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(sent[2], ("127.0.0.1", 8125))
    got: list[bytes] = []
    deadline = time.monotonic() + 10
    while len(got) < len(sent) and time.monotonic() < deadline:
        got += [p for _, p in tap.read(0.05)]
    tap.stop()
    agent = 0
    for s in agents:
        s.setblocking(False)
        while True:
            try:
                s.recv(65536)
                agent += 1
            except BlockingIOError:
                break
    st = tap.status()
    print(json.dumps({"sent": [len(x) for x in sent], "payloads": [len(x) for x in got], "agent": agent,
                      "ok": got == sent, "status": {k: getattr(st, k) for k in ("fragments_lost", "bad_packets")}}))
    return 0 if got == sent else 1


def orphan_first_fragment() -> None:
    """The first fragment of a datagram to 8125 whose rest never comes."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    udp = (40000).to_bytes(2, "big") + (8125).to_bytes(2, "big") + (3000).to_bytes(2, "big") + b"\0\0"
    body = udp + b"o" * 1000
    hdr = bytes([0x45, 0, 0, 0, 0x12, 0x34, 0x20, 0, 64, 17, 0, 0]) + socket.inet_aton("127.0.0.1") * 2
    raw.sendto(hdr + body, ("127.0.0.1", 0))
    raw.close()


if __name__ == "__main__":
    sys.exit(main())
