"""The dashboard's parts about the host and the fleet around it: Datadog's fleet answer, this host's check
against it, and the local Agent's DogStatsD health (docs/json.md: `fleet`, `dd_agent`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .parts import Part, screen_only

Number = int | float  # figures from the fleet API may be fractional


@dataclass(frozen=True, slots=True)
class FleetModel(Part):
    """One (model, provider) across the fleet, as Datadog aggregated it."""

    model: str
    provider: str
    requests: Number
    errors: Number
    input_tokens: Number
    output_tokens: Number
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class HostCheck(Part):
    """This host's requests as Datadog counted them beside the tap's, over the same whole points."""

    host: str
    start: int | None = None  # unix seconds: the first whole point compared
    end: int | None = None  # and where the last one ends
    datadog_requests: Number | None = None  # null: no whole point since the tap started yet
    tap_requests: Number | None = None


@dataclass(frozen=True, slots=True)
class FleetPart(Part):
    """The fleet poller's last answer; status `off` without keys."""

    status: str = "off"
    window_s: int = 900
    updated: float | None = None
    message: str | None = None
    models: tuple[FleetModel, ...] = ()
    this_host: HostCheck | None = None  # live, with keys: this host in Datadog beside the tap
    hosts: int | None = screen_only(None)
    host: str | None = screen_only(None)  # this host's name in Datadog
    host_points: tuple[tuple[int, float], ...] = screen_only(())  # (point start ms, its requests)


@dataclass(frozen=True, slots=True)
class DdAgentPart(Part):
    """Where the local Agent may lose what the tap saw (live only)."""

    socket: dict[str, Any] | None  # its DogStatsD socket in /proc/net/udp: port, pid, process, rx_queue_bytes, drops
    expvar: dict[str, int | None] | None  # its own DogStatsD counters
    reachable: bool | None  # /info answered (None: not probed)
    version: str | None
    endpoints: tuple[str, ...]
