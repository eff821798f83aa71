"""`--redact-captures` figures: the capture masks with the redactor's gates vs its regexes alone, same run.

    uv run python benchmarks/redact_masks.py

lines: LLM metric lines as daemons send them (one in ten with an e-mail and an address in its tags).
events: `_e{}` events with ~1.1 KiB of prose text, one in ten with an e-mail in it.
Each figure is datagrams masked per second, gated (the default) vs `Redactor(gated=False)`, over 5
interleaved rounds (best of each), with the floor any masker pays (splitting each datagram into its lines
and joining them back) as the minimal loop. Every masked datagram is checked equal between the two.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tundra_tui.model.redact import Redactor

ROUNDS = 5


def lines(n: int = 30_000) -> list[bytes]:
    """LLM metric lines; every tenth names a user by e-mail and an address."""
    out = []
    for i in range(n):
        out.append(b"llm.request.duration:%d|d|#model:gpt-4o,provider:openai,env:prod,agent_name:support"
                   % (100 + i % 50))
        if i % 10 == 0:
            out.append(b"user.login:1|c|#user:ann%d@corp.example.org,ip:10.0.%d.1" % (i, i % 255))
    return out


def events(n: int = 3_000) -> list[bytes]:
    """Events of ~1.1 KiB prose; every tenth quotes an e-mail address."""
    out = []
    for i in range(n):
        text = b"The assistant answered the customer's question about the refund policy and shipping times. " * 12
        if i % 10 == 0:
            text += b" Reply to ann@corp.example.org."
        title = b"answer %d" % i
        out.append(b"_e{%d,%d}:" % (len(title), len(text)) + title + b"|" + text + b"|#env:prod")
    return out


def rate(fn: Callable[[bytes], bytes], data: list[bytes]) -> float:
    """Datagrams per second through `fn`."""
    start = time.perf_counter()
    for d in data:
        fn(d)
    return len(data) / (time.perf_counter() - start)


def floor(payload: bytes) -> bytes:
    return b"\n".join(line for line in payload.split(b"\n"))


def bench(name: str, data: list[bytes]) -> None:
    gated, alone = Redactor(), Redactor(gated=False)
    assert [gated.datagram(d) for d in data] == [alone.datagram(d) for d in data], "gated masks differ"
    best = {"gated": 0.0, "alone": 0.0, "floor": 0.0}
    for _ in range(ROUNDS):
        best["gated"] = max(best["gated"], rate(gated.datagram, data))
        best["alone"] = max(best["alone"], rate(alone.datagram, data))
        best["floor"] = max(best["floor"], rate(floor, data))
    print(f"{name}: gated {best['gated']:,.0f}/s, regexes alone {best['alone']:,.0f}/s "
          f"({best['gated'] / best['alone']:.2f}x); split+join floor {best['floor']:,.0f}/s "
          f"(gated {best['gated'] / best['floor']:.3f}x of it)")


if __name__ == "__main__":
    bench("lines", lines())
    bench("events", events())
