"""The demo's LLM Observability side: traces of the simulated daemon's requests, sent to a trace port as a
ddtrace app in agent mode sends them (msgpack `/v0.4/traces`, each span's LLM data in
`meta_struct["_llmobs"]`), without ddtrace itself (a dev dependency only)."""

from __future__ import annotations

import http.client
import queue
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import msgpack

from .traceproxy import parse_http_url

ML_APP = "at-daemon"
SAMPLE_EVERY = 8  # one request in 8 is traced, and every other failed one: a few traces a second at 20 requests/s
FLUSH_S = 1.0  # ddtrace's writer sends about once a second
TIMEOUT_S = 5.0
QUEUE = 8  # payloads waiting for the sender
TAGS = {"env": "development", "version": "0.1.0", "service": "at-daemon", "ml_app": ML_APP, "source": "integration",
        "language": "python"}
PROMPTS = {  # per task type: the agent's request and the model's answer (one carries an address the redactor masks)
    "code-analysis": ("Find the slow paths in scheduler.py and say why they are slow.",
                      "The retry loop re-reads the config on every attempt; cache it once per run."),
    "spec-writing": ("Write the acceptance criteria for profile fallback.",
                     "1. A failed request is retried on the next profile. 2. Each switch is logged once."),
    "code-review": ("Review PR #412 from dana.lee@example.com: retry logic in the provider client.",
                    "Looks right; the backoff should cap at 30 s and the timeout error needs a test."),
    "planning": ("Plan the migration of the task queue to the new broker.",
                 "Three steps: dual-write, switch readers, retire the old queue after a week."),
    "code-generation": ("Write a function that parses DogStatsD tags into a dict.",
                        "def parse_tags(s):\n    return dict(t.split(':', 1) for t in s.split(','))"),
}
ERROR_MESSAGES = {"timeout": "upstream timed out after 30 s", "rate_limited": "429: rate limit reached",
                  "server_error": "502: provider returned an error",
                  "context_length": "prompt is over the model's context"}


@dataclass(frozen=True)
class DemoRequest:
    """One simulated request, as the DogStatsD side reported it."""

    n: int
    agent: str
    task: str
    model: str
    provider: str
    failed: bool
    error_type: str
    input_tokens: int
    output_tokens: int
    duration_ms: float


class DemoTracer:
    """Turns some of the daemon's requests into traces (an agent span over retrieval, llm and tool spans) and
    PUTs them to the trace port at `url` at each flush (once a second), from a thread of its own. Its own random
    stream: the DogStatsD side is the same for a seed with or without it."""

    def __init__(self, url: str, seed: int = 7) -> None:
        self.host, self.port = parse_http_url(url, "trace port")
        self.rng = random.Random(seed * 7919 + 1)
        self.pending: list[list[dict[str, Any]]] = []
        self.sent = 0  # traces the trace port took
        self.failed = 0  # traces lost to a port that did not answer (the demo goes on)
        self.dropped = 0  # traces never sent: too many payloads waited for the sender, or it was given up on
        self._queue: queue.Queue[tuple[int, bytes] | None] = queue.Queue(QUEUE)
        self._lock = threading.Lock()  # the counts, once close() may give up on a stuck sender
        self._sending = 0  # traces in the payload being sent
        self._given_up = False  # close() counted what the sender held: it counts nothing more
        self._sender: threading.Thread | None = None

    def request(self, r: DemoRequest) -> None:
        """Trace `r` if it is sampled (deterministic: by its number)."""
        if r.n % SAMPLE_EVERY == 0 or (r.failed and r.n % 2 == 0):
            self.pending.append(self.trace(r, time.time_ns()))

    def _id(self) -> int:
        return self.rng.getrandbits(63) or 1

    def trace(self, r: DemoRequest, end_ns: int) -> list[dict[str, Any]]:
        """The spans of one request's trace, ending at `end_ns`, root first (as a tracer's chunk is)."""
        rng = self.rng
        llm_ns = int(r.duration_ms * 1e6)
        fetch_ns = int(rng.uniform(4, 40) * 1e6)
        apply_ns = 0 if r.failed else int(rng.uniform(8, 90) * 1e6)
        gap = 1_000_000
        start = end_ns - (fetch_ns + llm_ns + apply_ns + 4 * gap)
        high = (start // 1_000_000_000) << 32  # ddtrace's 128-bit ids: the start second in the top 32 bits
        low, root_id = self._id(), self._id()
        tid = f"{high << 64 | low:032x}"
        prompt, answer = PROMPTS.get(r.task, ("Do the task.", "Done."))
        error = {"type": r.error_type, "message": ERROR_MESSAGES.get(r.error_type, "request failed")} if r.failed \
            else None
        root = self._span(low, tid, root_id, 0, r.agent, "agent", start, end_ns - start, error,
                          {"input": {"value": f"{r.task}: {prompt}"},
                           **({} if r.failed else {"output": {"value": answer}})})
        root["meta"]["_dd.p.tid"] = f"{high:016x}"  # on the chunk's first span only, as the tracer puts it
        root["metrics"].update({"_dd.top_level": 1.0, "_sampling_priority_v1": 1.0})
        t = start + gap
        spans = [root, self._span(low, tid, self._id(), root_id, "fetch-context", "retrieval", t, fetch_ns, None,
                                  {"input": {"value": r.task},
                                   "output": {"documents": [{"text": f"{r.task} notes", "name": "notes.md"}]}})]
        t += fetch_ns + gap
        io: dict[str, Any] = {"input": {"messages": [{"role": "system", "content": f"You are the {r.agent}."},
                                                     {"role": "user", "content": prompt}]},
                              "model_name": r.model, "model_provider": r.provider}
        if not r.failed:
            io["output"] = {"messages": [{"role": "assistant", "content": answer}]}
        tokens = {"input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
                  "total_tokens": r.input_tokens + r.output_tokens}
        spans.append(self._span(low, tid, self._id(), root_id, r.task, "llm", t, llm_ns, error, io, tokens))
        if not r.failed:
            t += llm_ns + gap
            spans.append(self._span(low, tid, self._id(), root_id, "apply-result", "tool", t, apply_ns, None,
                                    {"input": {"value": "write result"}, "output": {"value": "ok"}}))
        return spans

    @staticmethod
    def _span(trace_low: int, tid: str, span_id: int, parent: int, name: str, kind: str, start: int,
              duration: int, error: dict[str, str] | None, meta: dict[str, Any],
              metrics: dict[str, int] | None = None) -> dict[str, Any]:
        """One APM span map as ddtrace's v0.4 encoder writes it, the LLM Observability data in meta_struct."""
        lm = {"span": {"kind": kind}, **meta, **({"error": error} if error else {})}
        struct = {"name": name, "ml_app": ML_APP, "trace_id": tid, "parent_id": str(parent) if parent else "undefined",
                  "tags": TAGS, "meta": lm, "metrics": metrics or {}}
        apm_meta = {"language": "python", "env": TAGS["env"], "version": TAGS["version"]}
        if error:
            apm_meta.update({"error.type": error["type"], "error.message": error["message"]})
        span: dict[str, Any] = {"service": "at-daemon", "name": name, "resource": kind, "type": "llm",
                                "trace_id": trace_low, "span_id": span_id, "parent_id": parent, "start": start,
                                "duration": max(duration, 1), "error": 1 if error else 0, "meta": apm_meta,
                                "metrics": {}, "meta_struct": {"_llmobs": msgpack.packb(struct)}}
        return span

    def flush(self) -> None:
        """Hand the traces gathered since the last flush to the sender thread: the DogStatsD side never waits on
        HTTP. Past QUEUE payloads waiting (a port that does not answer) they are dropped, and counted."""
        traces, self.pending = self.pending, []
        if not traces:
            return
        try:
            self._queue.put_nowait((len(traces), msgpack.packb(traces)))
        except queue.Full:
            self.dropped += len(traces)
            return
        if self._sender is None:
            self._sender = threading.Thread(target=self._send_loop, name="tundra-demo-traces", daemon=True)
            self._sender.start()

    def _send_loop(self) -> None:
        conn: http.client.HTTPConnection | None = None
        while (item := self._queue.get()) is not None:
            n, body = item
            with self._lock:
                if self._given_up:  # taken after close() counted the queue: not sent
                    self.dropped += n
                    break
                self._sending = n
            headers = {"Content-Type": "application/msgpack", "X-Datadog-Trace-Count": str(n),
                       "Datadog-Meta-Lang": "python", "Datadog-Meta-Tracer-Version": "tundra-demo"}
            try:
                conn = conn or http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_S)
                conn.request("PUT", "/v0.4/traces", body, headers)
                reply = conn.getresponse()
                reply.read()
                ok = reply.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                if conn is not None:
                    conn.close()
                conn = None  # the next payload opens another connection
            with self._lock:
                self._sending = 0
                if self._given_up:  # close() counted it as failed already
                    break
                if ok:
                    self.sent += n
                else:
                    self.failed += n
        if conn is not None:
            conn.close()

    def close(self, timeout: float = TIMEOUT_S) -> None:
        """Send what was flushed (waiting up to `timeout`), then stop the sender. A sender still stuck on a port
        that does not answer is given up on (a daemon thread, it ends with the process): what still waits is counted
        as dropped, the payload being sent as failed."""
        sender, self._sender = self._sender, None
        if sender is None:
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            pass
        else:
            sender.join(timeout)
        if not sender.is_alive():
            return
        with self._lock:
            self._given_up = True
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    self.dropped += item[0]
            self.failed += self._sending
            self._sending = 0
