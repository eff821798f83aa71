"""Probe the local Datadog Agent's trace endpoint `/info` (aiohttp) for its version and endpoints.

Runs its own event loop in a daemon thread, every `interval_s`. No Agent is a state
("not reachable"), never an error.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from ..text import clean_any

DEFAULT_AGENT_URL = "http://127.0.0.1:8126/info"
MAX_INFO = 1 << 20  # the Agent's /info is a few KiB; any local user can bind 8126 when no Agent runs
MAX_ENDPOINTS = 64


@dataclass
class AgentState:
    """What the status bar shows about the Agent."""

    reachable: bool | None = None  # None: not probed yet
    version: str | None = None
    endpoints: list[str] = field(default_factory=list)
    message: str | None = None

    def summary(self) -> str:
        if self.reachable is None:
            return "agent: probing"
        if not self.reachable:
            return "agent: not reachable"
        eps = ",".join(e.strip("/").split("/")[-1] for e in self.endpoints[:3])
        return f"agent {self.version or '?'}" + (f" ({eps})" if eps else "")


class AgentProbe:
    """GETs the Agent's /info now and then; `state` always holds the latest answer."""

    def __init__(self, url: str = DEFAULT_AGENT_URL, interval_s: float = 30.0, timeout_s: float = 2.0) -> None:
        self.url = url
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.state = AgentState()
        self._stop = threading.Event()

    def start(self) -> None:
        threading.Thread(target=lambda: asyncio.run(self._loop()), name="tundra-agent", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    async def _loop(self) -> None:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        # no decompression: a gzip bomb would expand before any size check could see it
        async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as http:
            while not self._stop.is_set():
                self.state = await self.probe(http)
                for _ in range(int(self.interval_s * 10)):
                    if self._stop.is_set():
                        return
                    await asyncio.sleep(0.1)

    async def probe(self, http: Any) -> AgentState:
        """One GET of /info."""
        try:
            async with http.get(self.url, allow_redirects=False) as resp:
                if resp.status != 200:
                    return AgentState(False, message=f"/info answered {resp.status}")
                body = b""
                async for chunk in resp.content.iter_chunked(1 << 16):
                    body += chunk
                    if len(body) > MAX_INFO:
                        return AgentState(False, message=f"/info answer larger than {MAX_INFO >> 10} KiB")
            info = json.loads(body)
        except Exception as exc:
            return AgentState(False, message=type(exc).__name__)
        if not isinstance(info, dict):
            return AgentState(False, message="/info is not a JSON object")
        raw = info.get("endpoints")
        # whoever answers on 8126 chooses these strings: sanitised here, before the status bar shows them
        endpoints = [clean_any(e) or "" for e in (raw if isinstance(raw, list) else [])[:MAX_ENDPOINTS]
                     if isinstance(e, str)]
        version = clean_any(info.get("version") or "?")
        if version and version.startswith("tundra-"):  # a tundra's own trace port (this one's or another's)
            return AgentState(False, message=f"no Agent: {version} answers /info")
        return AgentState(True, version, endpoints)
