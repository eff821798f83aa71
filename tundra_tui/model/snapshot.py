"""The typed, immutable snapshot the engine builds and everything above it reads (docs/json.md).

Every part is a frozen dataclass. A part's JSON is its fields in order, nested parts as objects and
tuples as arrays; a field marked `screen_only()` is for the panes and stays out of the JSON. Adding
a section to the dashboard is adding one field (and its row in docs/json.md, which a test checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .alert_parts import AlertLogRow, AlertRow, BudgetPart
from .host_parts import DdAgentPart, FleetPart
from .parts import Part, omitted_when_zero, screen_only
from .receiver_parts import HEALTHY, ReceiverHealth
from .spans import SpanSummary

if TYPE_CHECKING:
    from .detail import DetailPart

Number = int | float  # figures from elsewhere (the fleet API) may be fractional; our counters are ints


# -- the dashboard (`top|replay --once --json`) ------------------------------------------------

@dataclass(frozen=True, slots=True)
class ParseErrors(Part):
    """Malformed lines counted by kind."""

    metric: int = 0
    event: int = 0
    service_check: int = 0


@dataclass(frozen=True, slots=True)
class TapPart(Part):
    """What reached the tap: how it listens, packets, lines, parse errors, drops and contexts."""

    mode: str | None
    packets: int
    lines: int
    errors: ParseErrors
    dropped: int
    truncated: int
    bad_values: int
    contexts: int
    contexts_dropped: int
    redacted_datagrams: int  # datagrams with something shown redacted, each once
    last_datagram_age_s: float | None  # seconds since the last datagram (capture time in a replay)
    datagrams_per_s: float  # over the rate window
    unparsed: int = omitted_when_zero(0)  # recorded but not parsed (ingest behind while recording)
    record_in_flight: int = omitted_when_zero(0)  # what a capture write given up on holds: in the file if it returns
    receiver: ReceiverHealth = omitted_when_zero(HEALTHY)  # once a receiver exited on its own


@dataclass(frozen=True, slots=True)
class Switch(Part):
    """A profile selection: `old` None for the first one."""

    ts: float
    old: str | None
    new: str


@dataclass(frozen=True, slots=True)
class ProfileRow(Part):
    """One daemon profile."""

    name: str
    provider: str | None
    requests: int
    error_rate: float


@dataclass(frozen=True, slots=True)
class ProfilesPart(Part):
    """Profiles: how many the daemon has, which one is selected, each one's share."""

    available: int | None
    selected: str | None
    selected_provider: str | None
    bootstraps: int
    profiles: tuple[ProfileRow, ...]
    switches: tuple[Switch, ...] = screen_only()


@dataclass(frozen=True, slots=True)
class Totals(Part):
    """Totals since the first datagram (`since`), and rates over the last `rate_window_s`."""

    since: float | None
    requests: int
    errors: int
    error_rate: float
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    cost_models: int
    cost_priced: int
    pricing: bool
    requests_per_s: float
    tokens_per_s: float
    cost_per_min: float | None
    req_spark: tuple[float, ...] = screen_only()  # per second over `window_s`, ending at `as_of`
    tok_spark: tuple[float, ...] = screen_only()


@dataclass(frozen=True, slots=True)
class ModelRow(Part):
    """One (model, provider)."""

    model: str
    provider: str
    requests: int
    errors: int
    error_rate: float
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    pricing: bool
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True, slots=True)
class AgentRow(Part):
    """One (agent_name, task_type)."""

    agent_name: str
    task_type: str
    executions: int
    errors: int
    error_rate: float
    p95_ms: float | None


GROUP_TAGS = {"agent": "agent_name"}  # a grouping whose tag has another name (the others are their own tag)


@dataclass(frozen=True, slots=True)
class EventRow(Part):
    """A DogStatsD event (or a profile switch), redacted."""

    ts: float
    title: str
    text: str
    alert_type: str
    tags: tuple[str, ...]

    def tag_value(self, group: str) -> str:
        """Its tag's value for a grouping (model, provider, agent, profile), or "" when it has none."""
        prefix = f"{GROUP_TAGS.get(group, group)}:"
        return next((t[len(prefix):] for t in self.tags if t.startswith(prefix)), "")


@dataclass(frozen=True, slots=True)
class CheckRow(Part):
    """The latest status of one service check (name, tags)."""

    name: str
    status: int
    tags: tuple[str, ...]
    message: str | None
    status_name: str = screen_only("")
    ts: float = screen_only(0.0)


@dataclass(frozen=True, slots=True)
class Dashboard(Part):
    """The whole dashboard: the `--once --json` document, and what the panes draw."""

    generated_at: str
    source: str
    as_of: float
    rate_window_s: int
    window_s: int
    tap: TapPart
    profiles: ProfilesPart
    totals: Totals
    models: tuple[ModelRow, ...]
    agents: tuple[AgentRow, ...]
    events: tuple[EventRow, ...]
    service_checks: tuple[CheckRow, ...]
    dd_agent: DdAgentPart | None
    fleet: FleetPart
    spans: SpanSummary
    alerts: tuple[AlertRow, ...] = ()
    alerts_log: tuple[AlertLogRow, ...] = ()
    budget: BudgetPart | None = None
    prices: str = "ready"  # "pending" while a model's price is asked; "timed_out" when `--once` gave up waiting

    @property
    def replay(self) -> bool:
        """Whether it describes a replay (its times are capture time)."""
        return self.source.startswith("replay:")


# -- `stats --json` ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ContextRow(Part):
    """One context: name, type, sorted (redacted) tags and its aggregates."""

    name: str
    type: str
    tags: tuple[str, ...]
    samples: int
    count: float
    value: float
    bad_values: int = omitted_when_zero()


@dataclass(frozen=True, slots=True)
class Stats(Part):
    """The `stats --json` document."""

    source: str
    packets: int
    lines: int
    errors: ParseErrors
    bad_values: int
    events: int
    service_checks: int
    contexts: tuple[ContextRow, ...]
    mode: str | None = omitted_when_zero(None)  # with --listen: "listen" or "passive"
    dropped: int | None = omitted_when_zero(None)  # with --listen: datagrams lost before ingest
    receiver: ReceiverHealth = omitted_when_zero(HEALTHY)  # with --listen: as in TapPart
    contexts_total: int = screen_only(0)
    contexts_dropped: int = screen_only(0)
    max_contexts: int = screen_only(0)
    redacted_datagrams: int = screen_only(0)  # printed by `stats`; the JSON keeps its keys
    bad_lines: tuple[str, ...] = screen_only()  # `kind (reason): line`, redacted


# -- status: the same shape for every source ------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReplayPosition(Part):
    """Where a replay is in its capture."""

    file: str
    position_ns: int
    start_ns: int
    end_ns: int
    speed: float | None
    paused: bool
    index: int
    packets_total: int
    truncated_file: bool
    loops: int


@dataclass(frozen=True, slots=True)
class SourceStatus(Part):
    """A source's facts: a tap fills the counters, a replay its position."""

    kind: str  # "live" or "replay"
    label: str = ""
    mode: str | None = None  # a tap's: "listen" or "passive"
    listen: tuple[str, ...] = ()
    holders: tuple[dict[str, Any], ...] = ()  # who holds a port the tap watches passively (pid, port, ...)
    forward: str | None = None
    datagrams: int = 0
    bytes: int = 0
    truncated: int = 0
    oversize: int = 0
    kernel_drops: int | None = None
    forward_sent: int = 0
    forward_dropped: int = 0
    fragments_lost: int = 0
    bad_packets: int = 0
    rcvbuf: tuple[int, ...] = ()  # receive buffer granted per listener
    replay: ReplayPosition | None = None
    agent_socket: dict[str, Any] | None = None  # the Agent's socket as /proc/net/udp shows it
    queue_dropped: int = 0  # datagrams the receiver refused because tundra did not read its pipe in time
    stop_dropped: int = 0  # datagrams in flight when a stop's deadline came, or left in the socket at close
    exit_dropped: int = 0  # datagrams a receiver had taken but not shipped when it exited on its own
    receiver: ReceiverHealth = HEALTHY


@dataclass(frozen=True, slots=True)
class SessionStatus(Part):
    """The source's status plus what the session adds: recording, filter, redacted datagrams, errors, the Agent."""

    source: SourceStatus
    packets: int = 0
    lines: int = 0
    recording: str | None = None
    recorded: int = 0
    recorder_dropped: int = 0
    recorder_in_flight: int = 0  # datagrams a stuck write given up on may still get into the file, or not
    stop_dropped: int = 0  # datagrams the tap delivered that the session stopped before feeding
    unparsed: int = 0  # datagrams recorded but never parsed: ingest was behind, the recording came first
    record_error: str | None = None
    filter: tuple[str, ...] = ()
    redacted_datagrams: int = 0
    internal_errors: int = 0
    ingest_stopped: bool = False  # an internal error ended ingest: what is shown no longer changes
    internal_error_report: str | None = None
    agent: str | None = None
    traces: str | None = None  # where the trace port listens
    traces_forward: str | None = None  # the Agent it passes traces on to
    traces_note: str | None = None  # why there is none
    spans_record_error: str | None = None
    spans_record_dropped: int = 0  # spans the `.spans` sidecar could not keep (its queue full, or it had stopped)
    spans_record_in_flight: int = 0  # spans a stuck sidecar write given up on holds: in the file only if it returns
    dd_agent: DdAgentPart | None = None

    @property
    def dropped(self) -> int:
        """Datagrams lost before the engine: the kernel's, the receiver's backlog's, those a receiver that died
        had not shipped, those still in flight when a stop's deadline came, and the recorder's."""
        return ((self.source.kernel_drops or 0) + self.source.queue_dropped + self.source.exit_dropped
                + self.source.stop_dropped + self.stop_dropped + self.recorder_dropped)


# -- what one screen refresh shows ------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class GroupRow(Part):
    """One line of the grouped panes; None means "not known for this grouping"."""

    key: str
    sub: str = ""
    requests: float = 0.0
    errors: float = 0.0
    input_tokens: float | None = None
    output_tokens: float | None = None
    cost_usd: float | None = None
    cost_per_min: float | None = None
    pricing: bool = False
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    req_spark: tuple[float, ...] = ()
    tok_spark: tuple[float, ...] = ()
    req_rate: float = 0.0
    tok_rate: float = 0.0
    executions: float | None = None  # agent runs (`llm.agent.execution`), by agent only
    cost_models: int = 0  # (model, provider) pairs in the row with tokens to price
    cost_priced: int = 0  # ... of which priced: the cost is partial when fewer

    @property
    def error_rate(self) -> float:
        """Errors over requests (0 without requests)."""
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True, slots=True)
class Grouping(Part):
    """The rows of the grouped panes, grouped by `group` and sorted by `sort`."""

    group: str
    sort: str
    rows: tuple[GroupRow, ...]


@dataclass(frozen=True, slots=True)
class TimelinePart(Part):
    """A replay's head over the whole capture, and per second how many error marks it holds (None: not
    scanned yet)."""

    position: ReplayPosition
    errors: tuple[tuple[int, int], ...] | None
    indexed: float = 1.0  # how much of the capture the index covers (the rest is still being read)
    waiting: bool = False  # a seek waits for the index to reach its target


@dataclass(frozen=True, slots=True)
class Frame(Part):
    """Everything one screen refresh draws: the (filtered) dashboard, its grouped rows, the status, and in a
    replay the timeline."""

    dashboard: Dashboard
    grouping: Grouping
    status: SessionStatus
    timeline: TimelinePart | None = None
    detail: DetailPart | None = None  # asked for by the detail screen or a maximised pane
