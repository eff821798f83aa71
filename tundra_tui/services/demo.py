"""A simulated Auto-Tundra daemon speaking the at-daemon vocabulary through the real `datadog` client."""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass

from datadog.dogstatsd.base import DogStatsd

from ..sources.urls import Address
from .demo_traces import FLUSH_S, DemoRequest, DemoTracer

PROFILES = [("local-runtime", "Local"), ("openai-prod", "OpenAI"), ("anthropic-prod", "Anthropic")]
MODELS = {
    "local-runtime": [("llama-3.1-8b-instruct", "Local", 900.0)],
    "openai-prod": [("gpt-4o", "OpenAI", 1400.0), ("gpt-4o-mini", "OpenAI", 650.0)],
    "anthropic-prod": [("claude-sonnet-4-5", "Anthropic", 1700.0), ("claude-haiku-4-5", "Anthropic", 700.0)],
}
AGENTS = [("spec-agent", "code-analysis"), ("spec-agent", "spec-writing"), ("review-agent", "code-review"),
          ("planner-agent", "planning"), ("build-agent", "code-generation")]
ERROR_TYPES = ["timeout", "rate_limited", "server_error", "context_length"]
BASE_TAGS = ["service:at-daemon", "env:development", "version:0.1.0"]
MAX_BURST = 2_000  # requests sent in one pass before the stop and the duration are looked at again


@dataclass
class DemoDaemon:
    """Deterministic for a seed: the n-th request is the same on every run."""

    statsd: DogStatsd
    seed: int = 7
    error_rate: float = 0.05
    tracer: DemoTracer | None = None  # also traces some requests to a trace port, as an LLM Observability app

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.selected = "local-runtime"
        self.burst_until = -1
        self.burst_provider = ""
        self.requests = 0

    def bootstrap(self) -> None:
        """Start-up: bootstrap counter, 3 profiles available, local-runtime selected."""
        s = self.statsd
        s.increment("llm.profile.bootstrap", 1, tags=BASE_TAGS)
        s.gauge("llm.profile.total_available", len(PROFILES), tags=BASE_TAGS)
        self._announce_selection()
        s.event("llm_profile_bootstrap", "best profile selected: local-runtime (Local)", alert_type="info",
                tags=[*BASE_TAGS, "profile:local-runtime", "provider:Local"])

    def _announce_selection(self) -> None:
        for name, provider in PROFILES:
            self.statsd.gauge("llm.profile.selected", 1 if name == self.selected else 0,
                              tags=[*BASE_TAGS, f"profile:{name}", f"provider:{provider}"])

    def _provider_of(self, profile: str) -> str:
        return dict(PROFILES)[profile]

    def request(self) -> None:
        """One LLM request: start, tokens, duration, completion; sometimes an error event."""
        rng, s = self.rng, self.statsd
        self.requests += 1
        n = self.requests
        # Mostly the selected profile; some fallback traffic to the others.
        profile = self.selected if rng.random() < 0.7 else rng.choice(PROFILES)[0]
        model, provider, base_ms = rng.choice(MODELS[profile])
        agent, task = rng.choice(AGENTS)
        tags = [*BASE_TAGS, f"model:{model}", f"provider:{provider}", f"profile:{profile}",
                f"agent_name:{agent}", f"task_type:{task}"]
        if n % 400 == 0:  # an error burst on one provider
            self.burst_until, self.burst_provider = n + 40, provider
        p_err = 0.35 if (n < self.burst_until and provider == self.burst_provider) else self.error_rate * 0.6
        failed = rng.random() < p_err
        in_tok = int(rng.lognormvariate(math.log(1200), 0.6))
        out_tok = 0 if failed else int(rng.lognormvariate(math.log(320), 0.7))
        duration = base_ms * rng.lognormvariate(0, 0.45) * (3.0 if failed and rng.random() < 0.5 else 1.0)
        s.increment("llm.request.start", 1, tags=tags)
        s.increment("llm.tokens.input", in_tok, tags=[t for t in tags if not t.startswith("profile:")])
        if out_tok:
            s.increment("llm.tokens.output", out_tok, tags=[t for t in tags if not t.startswith("profile:")])
        done = [*tags, f"success:{str(not failed).lower()}"]
        err = ""
        if failed:
            err = rng.choice(ERROR_TYPES)
            done.append(f"error_type:{err}")
            s.event("llm_request_complete", f"{model} request failed: {err}", alert_type="error",
                    tags=[*BASE_TAGS, f"model:{model}", f"provider:{provider}", "success:false"])
        s.increment("llm.request.complete", 1, tags=done)
        s.distribution("llm.request.duration", round(duration, 1), tags=done)
        exec_tags = [*BASE_TAGS, f"agent_name:{agent}", f"task_type:{task}", f"success:{str(not failed).lower()}"]
        s.increment("llm.agent.execution", 1, tags=exec_tags)
        s.distribution("llm.agent.execution.duration", round(duration * rng.uniform(1.05, 1.6), 1), tags=exec_tags)
        if self.tracer is not None:
            self.tracer.request(DemoRequest(n, agent, task, model, provider, failed, err, in_tok, out_tok, duration))
        if n % 500 == 0 and rng.random() < 0.8:
            self.switch_profile()

    def switch_profile(self) -> None:
        """Select another profile, as the daemon does after errors."""
        old = self.selected
        self.selected = self.rng.choice([p for p, _ in PROFILES if p != old])
        self._announce_selection()
        self.statsd.event("llm_profile_bootstrap",
                          f"best profile selected: {self.selected} ({self._provider_of(self.selected)})",
                          alert_type="warning", tags=[*BASE_TAGS, f"profile:{self.selected}"])

    def heartbeat(self) -> None:
        """Every few seconds: availability gauge and a provider health check each."""
        s = self.statsd
        s.gauge("llm.profile.total_available", len(PROFILES), tags=BASE_TAGS)
        self._announce_selection()
        for _, provider in PROFILES:
            bursting = self.requests < self.burst_until and provider == self.burst_provider
            status = DogStatsd.WARNING if bursting else DogStatsd.OK
            s.service_check("at_daemon.llm.provider", status, tags=[*BASE_TAGS, f"provider:{provider}"],
                            message="error burst" if bursting else None)


def make_client(target: Address) -> DogStatsd:
    """A real DogStatsd client aimed at `target`, with its own telemetry off."""
    if target.scheme == "unix":
        return DogStatsd(socket_path=target.host, disable_telemetry=True, origin_detection_enabled=False)
    return DogStatsd(host=target.host, port=target.port, disable_telemetry=True, origin_detection_enabled=False)


def run_demo(target: Address, rate: float = 20.0, duration: float | None = None, seed: int = 7,
             stop: threading.Event | None = None, tracer: DemoTracer | None = None) -> int:
    """Emit at `rate` requests/s until `duration` passes or `stop` is set; return requests sent. With `tracer`,
    some requests are also sent to its trace port as LLM Observability traces (sent before it returns)."""
    client = make_client(target)
    daemon = DemoDaemon(client, seed=seed, tracer=tracer)
    stop = stop or threading.Event()
    daemon.bootstrap()
    daemon.heartbeat()
    start = time.monotonic()
    next_beat = start + 5.0
    next_flush = start + FLUSH_S
    interval = 1.0 / max(rate, 0.1)
    i = 0
    try:
        while not stop.is_set():
            now = time.monotonic()
            if duration is not None and now - start >= duration:
                break
            # at most MAX_BURST behind per pass: a rate past what can be sent still sees its stop and duration
            due = int(min((now - start) / interval + 1, i + MAX_BURST))
            while i < due:
                daemon.request()
                i += 1
            if now >= next_beat:
                daemon.heartbeat()
                next_beat += 5.0
            if tracer is not None and now >= next_flush:
                tracer.flush()
                next_flush = now + FLUSH_S
            stop.wait(min(interval, 0.05))
    finally:
        client.flush()
        client.close_socket()
        if tracer is not None:  # what it traced goes out before it returns, as a tracer flushes at exit
            tracer.flush()
            tracer.close()
    return daemon.requests
