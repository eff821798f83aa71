"""`--once --json`: the dashboard contract, the demo through the tap, and the bundled sample."""

from __future__ import annotations

import json
import subprocess

from tundra_tui.model import Engine
from tundra_tui.model.engine import Mode
from tundra_tui.services.demo import run_demo
from tundra_tui.sources import Tap, parse_url

from .conftest import run_cli
from .waits import Tundra

TOP_KEYS = {"generated_at", "source", "as_of", "rate_window_s", "window_s",
            "tap", "profiles", "totals", "models", "agents", "events", "service_checks", "dd_agent", "fleet", "spans",
            "alerts", "alerts_log", "budget", "prices"}
MODEL_KEYS = {"model", "provider", "requests", "errors", "error_rate", "input_tokens", "output_tokens", "cost_usd",
              "pricing", "p50_ms", "p95_ms", "p99_ms"}


def check_contract(doc: dict) -> None:
    assert set(doc) == TOP_KEYS
    assert {"mode", "packets", "lines", "errors", "dropped", "truncated", "contexts", "contexts_dropped",
            "bad_values", "redacted_datagrams", "last_datagram_age_s", "datagrams_per_s"} == set(doc["tap"])
    assert set(doc["tap"]["errors"]) == {"metric", "event", "service_check"}
    assert set(doc["profiles"]) == {"available", "selected", "selected_provider", "bootstraps", "profiles"}
    assert set(doc["totals"]) == {"since", "requests", "errors", "error_rate", "input_tokens", "output_tokens",
                                  "cost_usd", "cost_models", "cost_priced", "pricing", "requests_per_s",
                                  "tokens_per_s", "cost_per_min"}
    assert doc["rate_window_s"] <= doc["window_s"]
    for counter in ("requests", "errors", "input_tokens", "output_tokens"):
        assert isinstance(doc["totals"][counter], int)
    for m in doc["models"]:
        assert set(m) == MODEL_KEYS
    for a in doc["agents"]:
        assert set(a) == {"agent_name", "task_type", "executions", "errors", "error_rate", "p95_ms"}
    for e in doc["events"]:
        assert set(e) == {"ts", "title", "text", "alert_type", "tags"}
    for c in doc["service_checks"]:
        assert set(c) == {"name", "status", "tags", "message"}
    assert len(doc["events"]) <= 50
    assert doc["tap"]["mode"] in ("listen", "passive", None)  # None: a replay
    if doc["dd_agent"] is not None:
        assert set(doc["dd_agent"]) == {"socket", "expvar", "reachable", "version", "endpoints"}
        if doc["dd_agent"]["socket"] is not None:
            assert set(doc["dd_agent"]["socket"]) == {"port", "pid", "process", "rx_queue_bytes", "drops"}


def test_replay_sample_once_json(sample_replay_json: subprocess.CompletedProcess[str]) -> None:
    res = sample_replay_json
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    check_contract(doc)
    assert doc["prices"] == "ready" and "prices" not in res.stderr  # --once waited for them
    t = doc["totals"]
    assert t["requests"] == sum(m["requests"] for m in doc["models"]) > 0
    assert t["errors"] == sum(m["errors"] for m in doc["models"])
    assert 0.01 < t["error_rate"] < 0.15
    assert doc["profiles"]["available"] == 3 and doc["profiles"]["bootstraps"] == 1
    assert {p["name"] for p in doc["profiles"]["profiles"]} == {"local-runtime", "openai-prod", "anthropic-prod"}
    priced = [m for m in doc["models"] if m["cost_usd"] is not None]
    assert t["cost_usd"] is not None and abs(t["cost_usd"] - sum(m["cost_usd"] for m in priced)) < 1e-9
    local = next(m for m in doc["models"] if m["provider"] == "Local")
    assert local["cost_usd"] is None  # no price for a local runtime: n/a, never 0
    assert doc["tap"]["errors"] == {"metric": 0, "event": 0, "service_check": 0}
    # deterministic: the same file gives the same answers
    again = json.loads(run_cli("replay", "--sample", "--once", "--json").stdout)
    assert again["models"] == doc["models"] and again["totals"] == doc["totals"]


def test_demo_round_trips_through_the_tap() -> None:
    tap = Tap([parse_url("udp://127.0.0.1:0")])
    tap.start()
    engine = Engine(Mode.DASHBOARD)
    try:
        n = run_demo(tap.listeners[0].address, rate=1000, duration=0.5, seed=11)
        tap.stop()  # what was sent is queued: stopping hands all of it over, then the tap is done
        while not tap.done:
            engine.feed(tap.read(0.1))
    finally:
        tap.stop()
    doc = engine.dashboard().to_json()
    check_contract(doc)
    assert doc["totals"]["requests"] == n
    assert sum(a["executions"] for a in doc["agents"]) == n
    assert doc["profiles"]["selected"] == "local-runtime" or len(engine.llm.switches) > 1
    assert engine.parser.error_total == 0
    assert len({m["model"] for m in doc["models"]}) >= 4 and len(doc["agents"]) >= 3
    assert all(m["p95_ms"] >= m["p50_ms"] > 50 for m in doc["models"])
    assert doc["totals"]["input_tokens"] > n * 300


def test_top_once_with_demo_in_another_process() -> None:
    with Tundra("top", "--once", "--after", "60", "--json", "--listen", "udp://127.0.0.1:0") as top:
        port = top.port()
        demo = run_cli("demo", "--target", f"udp://127.0.0.1:{port}", "--rate", "200", "--duration", "0.5",
                       "--seed", "3")
        done = top.interrupt()  # Ctrl-C ends --after early; everything the demo sent is in the dashboard
    assert demo.returncode == 0 and done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    check_contract(doc)
    sent = int(demo.stderr.strip().splitlines()[-1].split()[1])
    assert sent > 50 and doc["totals"]["requests"] == sent
    assert doc["totals"]["requests_per_s"] > 0 and doc["profiles"]["available"] == 3


def test_top_once_demo_in_process_uses_a_free_port(demo_once_json: subprocess.CompletedProcess[str]) -> None:
    res = demo_once_json  # run with 8125 held by the test process
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["totals"]["requests"] > 10
