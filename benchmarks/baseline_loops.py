"""Minimal reference loops, measured in the same run as tundra (the idea of shared/bench/baseline.py)."""

from __future__ import annotations

import time
from collections.abc import Callable


def parse_rate(packets: list[bytes], seconds: float = 3.0, clock: Callable[[], float] = time.perf_counter) -> float:
    """Lines/s of a minimal split-and-sum loop over the same packets tundra ingests (`clock`: wall time, or
    time.process_time for this process's CPU time, steadier on a busy machine)."""
    agg: dict[tuple[bytes, bytes, bytes], float] = {}
    n = 0
    start = clock()
    while clock() - start < seconds:
        for packet in packets:
            for line in packet.split(b"\n"):
                name, _, rest = line.partition(b":")
                parts = rest.split(b"|")
                value = float(parts[0])
                tags = b""
                for part in parts[2:]:
                    if part[:1] == b"#":
                        tags = part
                key = (name, parts[1], tags)
                agg[key] = agg.get(key, 0.0) + value
                n += 1
    return n / (clock() - start)
