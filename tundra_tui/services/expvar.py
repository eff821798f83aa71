"""The Agent's own DogStatsD counters from its expvar endpoint (`/debug/vars`), polled with aiohttp.

They say what the Agent read and could not parse, which places a loss between the Agent's
socket (its /proc/net/udp drops) and Datadog. No Agent, or no expvar, is a state (None),
never an error. The body comes from whatever answers on that port: it is capped at MAX_BODY,
redirects are not followed, and only non-negative integers are taken from it.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from typing import Any

DEFAULT_EXPVAR_URL = "http://127.0.0.1:5000/debug/vars"
MAX_BODY = 4 << 20  # the Agent's vars (memstats included) are tens of KB

# (our name, expvar map, field): the maps and fields the Agent's DogStatsD server publishes
FIELDS = (
    ("udp_packets", "dogstatsd-udp", "Packets"),
    ("udp_bytes", "dogstatsd-udp", "Bytes"),
    ("udp_reading_errors", "dogstatsd-udp", "PacketReadingErrors"),
    ("uds_packets", "dogstatsd-uds", "Packets"),
    ("uds_reading_errors", "dogstatsd-uds", "PacketReadingErrors"),
    ("metric_packets", "dogstatsd", "MetricPackets"),
    ("metric_parse_errors", "dogstatsd", "MetricParseErrors"),
    ("event_parse_errors", "dogstatsd", "EventParseErrors"),
    ("service_check_parse_errors", "dogstatsd", "ServiceCheckParseErrors"),
)


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        return None
    return int(value) if 0 <= value < 2**63 else None


def parse_expvar(doc: Any) -> dict[str, int | None] | None:
    """Our counters from a /debug/vars document; None when it has no DogStatsD maps at all."""
    if not isinstance(doc, dict):
        return None
    maps = {m: doc.get(m) for m in ("dogstatsd-udp", "dogstatsd-uds", "dogstatsd")}
    if not any(isinstance(v, dict) for v in maps.values()):
        return None
    out: dict[str, int | None] = {}
    for name, m, field in FIELDS:
        section = maps[m]
        out[name] = _count(section.get(field)) if isinstance(section, dict) else None
    return out


class ExpvarPoller:
    """GETs the expvar URL every `interval_s` on a thread of its own; `counters` holds the latest answer."""

    def __init__(self, url: str = DEFAULT_EXPVAR_URL, interval_s: float = 5.0, timeout_s: float = 2.0) -> None:
        self.url = url
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.counters: dict[str, int | None] | None = None
        self.message: str | None = None  # why there are no counters (one short reason)
        self.polls = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Poll in the background until stop()."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self._loop()), name="tundra-expvar", daemon=True)
        self._thread.start()

    def stop(self, wait: float = 0.0) -> None:
        """Stop polling (the thread ends within one poll's timeout); with `wait`, first let the poll in
        flight, or the first one, land (`--once` prints an answer, however loaded the machine)."""
        self._stop.set()
        if wait and self._thread is not None:
            self._thread.join(wait)

    async def _loop(self) -> None:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:  # the first poll always runs: a stop during start-up still gets one answer
                self.counters, self.message = await self.poll(http)
                self.polls += 1
                for _ in range(max(1, int(self.interval_s * 10))):
                    if self._stop.is_set():
                        return
                    await asyncio.sleep(0.1)

    async def poll(self, http: Any) -> tuple[dict[str, int | None] | None, str | None]:
        """One GET: (counters, None), or (None, the reason there are none)."""
        try:
            async with http.get(self.url, allow_redirects=False) as resp:
                if resp.status != 200:
                    return None, f"expvar answered {resp.status}"
                chunks: list[bytes] = []
                size = 0
                while size <= MAX_BODY:  # decoded bytes: a compressed bomb stops here too
                    chunk = await resp.content.read(1 << 16)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
        except Exception as exc:
            return None, f"expvar: {type(exc).__name__}"
        if size > MAX_BODY:
            return None, "expvar answer too large"
        try:
            doc = json.loads(b"".join(chunks))
        except (ValueError, RecursionError):
            return None, "expvar answer is not JSON"
        counters = parse_expvar(doc)
        return counters, None if counters is not None else "no DogStatsD counters in expvar"
