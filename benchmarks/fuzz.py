"""1M-datagram fuzz run (outside CI): grammar-aware lines plus byte mutation through the whole engine.

    uv run python benchmarks/fuzz.py [N]

Checks on every datagram: nothing raises, and every non-empty line is a record or a counted error.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tundra_tui.model.engine import Engine, Mode
from tundra_tui.protocol import Parser

GOOD = [b"llm.request.complete:1|c|#model:gpt-4o,provider:openai,success:true", b"m:1:2:3|d|@0.5|#a:b",
        b"_e{5,4}:title|text|p:low|t:error|#x", b"_sc|check|2|#a|m:msg", b"s:member|s", b"g:-1.5e3|g|T17",
        b"h:0x1p-2|h|c:ci-1|e:x|card:low", b"d:1|d|#host:h,dd.internal.entity_id:e"]
NOISE = [b"|", b":", b"#", b",", b"\r", b"@", b"\x00", b"\xff", b"_e{", b"_sc", b"}", b"\\n", b"T", b" "]


def mutate(rng: random.Random, line: bytes) -> bytes:
    b = bytearray(line)
    for _ in range(rng.randint(0, 4)):
        op = rng.random()
        pos = rng.randint(0, max(len(b) - 1, 0))
        if op < 0.3 and b:
            b[pos] = rng.randint(0, 255)
        elif op < 0.6:
            b[pos:pos] = rng.choice(NOISE)
        elif op < 0.8 and b:
            del b[pos : pos + rng.randint(1, 8)]
        else:
            b += bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 6)))
    return bytes(b)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = random.Random(1)
    engine = Engine(Mode.DASHBOARD, max_contexts=5000)
    engine.set_filter(frozenset({"model:gpt-4o"}))  # LLM lines then have two plans: values checked per slot
    dash = Engine(Mode.DASHBOARD, max_contexts=5000)  # checks values per plan, not per context
    reference = Parser()
    start = time.perf_counter()
    lines = 0
    for i in range(n):
        k = rng.randint(1, 6)
        pkt = b"\n".join(mutate(rng, rng.choice(GOOD)) for _ in range(k))
        if i % 97 == 0:
            pkt = bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 200)))
        before = reference.error_total
        recs = reference.parse_packet(pkt)
        nonempty = sum(1 for ln in pkt.split(b"\n") if (ln[:-1] if ln[-1:] == b"\r" else ln))
        assert len(recs) + reference.error_total - before == nonempty  # a record or a counted error, each
        engine.feed([(1_700_000_000_000_000_000 + i * 1000, pkt)])  # the fast path must agree exactly
        dash.feed([(1_700_000_000_000_000_000 + i * 1000, pkt)])
        assert engine.parser.errors == reference.errors == dash.parser.errors, (pkt, engine.parser.errors,
                                                                                reference.errors)
        lines += nonempty
    full, lean = engine.dashboard(), dash.dashboard()
    assert full.models == lean.models and full.agents == lean.agents
    elapsed = time.perf_counter() - start
    assert reference.lines == engine.lines == lines
    print(f"fuzz_datagrams {n} lines {lines} errors {reference.errors} exceptions 0 "
          f"fast_path_agrees_with_parser yes dashboard_engine_agrees yes seconds {elapsed:.1f}")


if __name__ == "__main__":
    main()
