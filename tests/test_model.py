"""The model fed known sessions: exact totals, sketch accuracy, cost rules, units, cardinality cap."""

from __future__ import annotations

import random

import pytest
from genai_prices import Usage, calc_price

from tundra_tui.model import Engine, Pricer
from tundra_tui.model.engine import Mode
from tundra_tui.model.series import Series

T0 = 1_700_000_000 * 10**9


def feed(engine: Engine, lines: list[str], ts: int = T0) -> None:
    engine.feed([(ts, line.encode()) for line in lines])


def at_session(n_ok: int, n_err: int, model: str = "gpt-4o", provider: str = "openai") -> list[str]:
    tags = f"model:{model},provider:{provider},profile:openai-prod,agent_name:spec-agent,task_type:code-analysis"
    out = []
    for i in range(n_ok + n_err):
        ok = "true" if i < n_ok else "false"
        out.append(f"llm.request.complete:1|c|#{tags},success:{ok}")
        out.append(f"llm.request.duration:{100 + i}|d|#{tags},success:{ok}")
        out.append(f"llm.tokens.input:1000|c|#{tags}")
        out.append(f"llm.tokens.output:{200 if ok == 'true' else 0}|c|#{tags}")
        out.append(f"llm.agent.execution:1|c|#agent_name:spec-agent,task_type:code-analysis,success:{ok}")
    return out


def test_exact_totals() -> None:
    e = Engine(Mode.DASHBOARD)
    feed(e, at_session(90, 10))
    feed(e, at_session(45, 5, "claude-sonnet-4-5", "anthropic"))
    feed(e, ["llm.profile.bootstrap:1|c", "llm.profile.total_available:3|g",
             "llm.profile.selected:0|g|#profile:openai-prod,provider:OpenAI",
             "llm.profile.selected:1|g|#profile:local-runtime,provider:Local"])
    d = e.dashboard(T0).to_json()
    t = d["totals"]
    assert (t["requests"], t["errors"], t["input_tokens"], t["output_tokens"]) == (150, 15, 150_000, 27_000)
    assert t["error_rate"] == pytest.approx(0.1)
    m = {x["model"]: x for x in d["models"]}
    assert m["gpt-4o"]["requests"] == 100 and m["gpt-4o"]["errors"] == 10
    assert m["claude-sonnet-4-5"]["input_tokens"] == 50_000
    p = d["profiles"]
    assert (p["available"], p["selected"], p["selected_provider"], p["bootstraps"]) == (3, "local-runtime", "Local", 1)
    prof = {x["name"]: x for x in p["profiles"]}
    assert prof["openai-prod"]["requests"] == 150 and prof["openai-prod"]["error_rate"] == pytest.approx(0.1)
    assert d["agents"] == [{"agent_name": "spec-agent", "task_type": "code-analysis", "executions": 150,
                            "errors": 15, "error_rate": 0.1, "p95_ms": None}]


def test_sample_rates_are_honoured() -> None:
    e, st = Engine(Mode.DASHBOARD), Engine(Mode.STATS)
    for engine in (e, st):
        feed(engine, ["llm.request.complete:1|c|@0.25|#model:m,provider:p,success:true"] * 10)
        feed(engine, ["g:5|g|@0.5", "s:x|s|@0.5", "d:10|d|@0.5"])
    d = e.dashboard(T0).to_json()
    assert d["totals"]["requests"] == 40
    rows = {r.name: r.to_json() for r in st.stats("x").contexts}
    assert rows["g"]["count"] == 1 and rows["s"]["count"] == 1  # gauges and sets ignore it
    assert rows["d"]["count"] == 2 and rows["d"]["value"] == 10  # weight 1/rate, sum unweighted


@pytest.mark.parametrize("dist", ["uniform", "lognormal"])
def test_quantiles_within_two_percent(dist: str) -> None:
    rng = random.Random(3)
    values = [rng.uniform(5, 5000) if dist == "uniform" else rng.lognormvariate(6, 1) for _ in range(20_000)]
    e = Engine(Mode.DASHBOARD)
    lines = [f"llm.request.duration:{v:.3f}|d|#model:m,provider:p" for v in values]
    for i in range(0, len(lines), 50):
        e.feed([(T0, "\n".join(lines[i:i + 50]).encode())])
    m = e.dashboard(T0).to_json()["models"][0]
    ordered = sorted(values)
    for key, q in (("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99)):
        exact = ordered[int(q * (len(ordered) - 1))]
        assert m[key] == pytest.approx(exact, rel=0.02), key


def test_cost_equals_genai_prices() -> None:
    e = Engine(Mode.DASHBOARD)
    feed(e, at_session(10, 0, "claude-sonnet-4-5", "Anthropic"))
    want = calc_price(Usage(input_tokens=10_000, output_tokens=2_000), "claude-sonnet-4-5", provider_id="anthropic")
    got = e.dashboard(T0).to_json()["models"][0]["cost_usd"]
    assert got == pytest.approx(float(want.total_price))
    assert got > 0


def test_cost_with_cached_tokens_follows_genai_prices() -> None:
    e = Engine(Mode.DASHBOARD)
    tags = "model_name:gpt-4o,model_provider:openai"
    feed(e, [f"ml_obs.span:1|c|#{tags}", f"ml_obs.span.llm.input.tokens:10000|d|#{tags}",
             f"ml_obs.span.llm.input.cache_read.tokens:4000|d|#{tags}",
             f"ml_obs.span.llm.output.tokens:500|d|#{tags}"])
    want = calc_price(Usage(input_tokens=10_000, cache_read_tokens=4_000, output_tokens=500), "gpt-4o",
                      provider_id="openai").total_price
    got = e.dashboard(T0).to_json()["models"][0]["cost_usd"]
    assert got == pytest.approx(float(want))
    # cached tokens are cheaper: the same usage without the cache costs more
    assert float(want) < float(calc_price(Usage(input_tokens=10_000, output_tokens=500), "gpt-4o").total_price)


def test_unknown_model_cost_is_null_not_zero() -> None:
    e = Engine(Mode.DASHBOARD)
    feed(e, at_session(5, 0, "my-private-model-x9", "Local"))
    d = e.dashboard(T0).to_json()
    assert d["models"][0]["cost_usd"] is None
    assert d["totals"]["cost_usd"] is None


def test_configured_price_wins_over_table() -> None:
    e = Engine(Mode.DASHBOARD, pricer=Pricer({"gpt-4o": {"input_mtok": 1, "output_mtok": 2}}))
    feed(e, at_session(10, 0))  # 10k input, 2k output
    assert e.dashboard(T0).to_json()["models"][0]["cost_usd"] == pytest.approx(10_000 / 1e6 * 1 + 2_000 / 1e6 * 2)
    local = Engine(Mode.DASHBOARD, pricer=Pricer({"llama-3.1-8b-instruct": {"input_mtok": 0, "output_mtok": 0}}))
    feed(local, at_session(3, 0, "llama-3.1-8b-instruct", "Local"))
    assert local.dashboard(T0).to_json()["models"][0]["cost_usd"] == 0.0


def test_ml_obs_units_and_reported_cost() -> None:
    e = Engine(Mode.DASHBOARD, pricer=Pricer({"gpt-4o": {"input_mtok": 1000, "output_mtok": 1000}}))
    tags = "model_name:gpt-4o,model_provider:openai,ml_app:bot,span_kind:llm"
    feed(e, [f"ml_obs.span:1|c|#{tags}", f"ml_obs.span:1|c|#{tags}", f"ml_obs.span.error:1|c|#{tags}",
             f"ml_obs.span.duration:0.25|d|#{tags}", f"ml_obs.span.duration:0.25|d|#{tags}",
             f"ml_obs.span.llm.total.cost:1500000|d|#{tags}", f"ml_obs.span.llm.total.cost:500000|d|#{tags}",
             f"ml_obs.span.llm.input.tokens:100|d|#{tags}"])
    m = e.dashboard(T0).to_json()["models"][0]
    assert (m["requests"], m["errors"]) == (2, 1)
    assert m["p50_ms"] == pytest.approx(250, rel=0.02)  # seconds -> ms
    assert m["cost_usd"] == pytest.approx(0.002)  # nanodollars -> USD, and it wins over the configured price


def test_gen_ai_vocabulary() -> None:
    e = Engine(Mode.DASHBOARD)
    base = "gen_ai.request.model:gpt-4o-mini,gen_ai.response.model:gpt-4o-mini-2024-07-18,gen_ai.system:openai"
    feed(e, [f"gen_ai.client.token.usage:300|h|#{base},gen_ai.token.type:input",
             f"gen_ai.client.token.usage:40|h|#{base},gen_ai.token.type:output",
             f"gen_ai.client.operation.duration:1.5|h|#{base}",
             f"gen_ai.client.operation.duration:0.5|h|#{base},error.type:timeout"])
    m = e.dashboard(T0).to_json()["models"][0]
    assert (m["model"], m["provider"]) == ("gpt-4o-mini-2024-07-18", "openai")
    assert (m["requests"], m["errors"], m["input_tokens"], m["output_tokens"]) == (2, 1, 300, 40)
    assert m["p50_ms"] == pytest.approx(500, rel=0.02)  # seconds -> ms
    assert m["cost_usd"] is not None and m["cost_usd"] > 0


def test_vocabulary_overrides() -> None:
    from tundra_tui.model import Vocabulary

    e = Engine(Mode.DASHBOARD, vocab=Vocabulary.with_overrides({"request_complete": "my.done"}, {"model": "llm_model"}))
    feed(e, ["my.done:1|c|#llm_model:gpt-4o,provider:openai,success:false"])
    m = e.dashboard(T0).to_json()["models"][0]
    assert (m["model"], m["requests"], m["errors"]) == ("gpt-4o", 1, 1)


def test_profile_switches_become_events() -> None:
    e = Engine(Mode.DASHBOARD)
    feed(e, ["llm.profile.selected:1|g|#profile:a,provider:Local"])
    feed(e, ["llm.profile.selected:1|g|#profile:b,provider:OpenAI"], T0 + 10**9)
    d = e.dashboard(T0 + 10**9).to_json()
    assert d["profiles"]["selected"] == "b"
    assert d["events"][-1]["title"] == "profile switch" and d["events"][-1]["text"] == "a -> b"
    assert [(s.old, s.new) for s in e.dashboard().profiles.switches] == [(None, "a"), ("a", "b")]


def test_events_and_checks() -> None:
    e = Engine(Mode.DASHBOARD)
    feed(e, [f"_e{{2,1}}:e{i % 10}|x|t:error" if i < 10 else f"_e{{3,1}}:e{i}|x" for i in range(60)])
    feed(e, ["_sc|at_daemon.llm.provider|0|#provider:openai", "_sc|at_daemon.llm.provider|2|#provider:openai|m:down",
             "_sc|at_daemon.llm.provider|1|#provider:anthropic"])
    d = e.dashboard(T0).to_json()
    assert len(d["events"]) == 50 and d["events"][-1]["title"] == "e59" and d["events"][0]["title"] == "e10"
    checks = {tuple(c["tags"]): c for c in d["service_checks"]}
    assert checks[("provider:openai",)] == {"name": "at_daemon.llm.provider", "status": 2,
                                            "tags": ["provider:openai"], "message": "down"}
    assert checks[("provider:anthropic",)]["status"] == 1


def test_rates_cover_the_last_window() -> None:
    e = Engine(Mode.DASHBOARD, window=60)
    for s in range(100):  # 2 requests/s for 100 s
        feed(e, ["llm.request.complete:2|c|#model:m,provider:p,success:true",
                 "llm.tokens.input:10|c|#model:m,provider:p"], T0 + s * 10**9)
    d = e.dashboard(T0 + 99 * 10**9).to_json()
    assert d["totals"]["requests"] == 200  # totals: the whole session
    assert d["totals"]["requests_per_s"] == pytest.approx(2.0)  # rates: the last window
    assert d["totals"]["tokens_per_s"] == pytest.approx(10.0)


def test_cardinality_cap_keeps_llm_totals() -> None:
    e = Engine(Mode.DASHBOARD, max_contexts=100)
    feed(e, [f"llm.request.complete:1|c|#model:m,provider:p,request_id:{i},success:true" for i in range(1000)])
    d = e.dashboard(T0).to_json()
    assert d["tap"]["contexts"] == 100 and d["tap"]["contexts_dropped"] == 900
    assert d["totals"]["requests"] == 1000


def test_series_ring() -> None:
    s = Series(5)
    for sec in range(10):
        s.add(sec, 1.0)
    assert s.values(9) == [1.0] * 5
    s.add(20, 3.0)
    assert s.values(20) == [0.0, 0.0, 0.0, 0.0, 3.0]
    s.add(3, 9.0)  # older than the window: ignored
    assert s.total(20) == 3.0 and s.total(25) == 0.0


@pytest.mark.soak
def test_memory_bounded_under_cardinality_bomb() -> None:
    import subprocess
    import sys

    code = (
        "from tundra_tui.model.engine import Engine, Mode\n"
        "e = Engine(Mode.DASHBOARD)\n"
        "for b in range(3000):\n"
        "    pkt = '\\n'.join(f'bomb.metric:1|d|#id:{b}-{i},model:m{i % 7},env:prod' for i in range(100)).encode()\n"
        "    e.feed([(1700000000000000000 + b * 10**6, pkt)])\n"
        "d = e.dashboard().to_json()\n"
        "assert d['tap']['contexts'] == 20000, d['tap']\n"
        "assert d['tap']['contexts_dropped'] == 280000, d['tap']\n"
        "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    rss_mib = int(out.stdout) / 1024  # VmHWM: this program's own peak (ru_maxrss counts pytest's too)
    assert rss_mib < 300, rss_mib


def test_batched_sketch_equals_one_by_one() -> None:
    from ddsketch import DDSketch

    from tundra_tui.model.sketch import add_many

    rng = random.Random(5)
    values = [rng.lognormvariate(5, 2) for _ in range(20_000)] + [0.0, -3.5, 1e-300, 7.0, 7.0]
    one, many = DDSketch(), DDSketch()
    for v in values:
        one.add(v, 4.0)
    add_many(many, values, 4.0)
    assert (one.count, one._min, one._max) == (many.count, many._min, many._max)
    assert one.sum == pytest.approx(many.sum)
    for q in (0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 1.0):
        assert one.get_quantile_value(q) == many.get_quantile_value(q)


def test_non_finite_durations_do_not_break_the_dashboard() -> None:
    """The Agent's float grammar accepts inf and NaN; a sketch cannot place them, so they are left out."""
    tags = b"|d|#model:gpt-4o,provider:openai"
    e = Engine(Mode.DASHBOARD)
    e.feed([(T0, b"\n".join(b"llm.request.duration:" + v + tags for v in (b"inf", b"NaN", b"-Inf", b"40", b"60")))])
    (row,) = e.dashboard().to_json()["models"]
    assert 40 <= row["p50_ms"] <= 61 and row["p99_ms"] <= 61
    assert e.parser.errors["metric"] == 0 and e.lines == 5


def test_fast_path_agrees_with_the_parser() -> None:
    """Lines of a known shape skip the parser; the totals must not notice."""
    lines = [b"m:1|c|#a:1", b"m:2.5|c|#a:1", b"m:1:2|c|#a:1", b"m:-1|c|#a:1", b"m: 1|c|#a:1", b"m:1_0|c|#a:1",
             b"m:1e400|c|#a:1", b"m:0x1p1|c|#a:1", b"m:|c|#a:1", b"m:1|c|#a:1\r", b"\r", b"s:x|s", b"s:y|s",
             b"s:x|s", b"m:3|c|@0.5|#a:1", b"m:3|c|@0.5|#a:1"] * 3
    e = Engine(Mode.STATS)
    e.feed([(T0, b"\n".join(lines[i:i + 5])) for i in range(0, len(lines), 5)])
    rows = {(r.name, r.tags): r.to_json() for r in e.stats("x").contexts}
    m = rows[("m", ("a:1",))]
    # per round: 1, 2.5, 1+2, -1, 2 (0x1p1), 1 (\r line) at rate 1, and 3+3 at rate 0.5
    assert m["value"] == pytest.approx(3 * (1 + 2.5 + 3 - 1 + 2 + 1 + 12))
    assert m["samples"] == 3 * 9
    assert e.parser.errors["metric"] == 3 * 4  # ' 1', '1_0', '1e400', ''
    assert e.lines == 3 * 15  # the lone '\r' is an empty line
    assert rows[("s", ())]["value"] == 2


def test_vocabulary_names_with_odd_types_do_not_break_the_view() -> None:
    e = Engine(Mode.DASHBOARD)
    feed(e, ["llm.request.complete:x|s|#model:m", "llm.request.duration:y|s", "llm.tokens.input:5|g|#model:m",
             "llm.request.complete:1|c|#model:m,provider:p,success:true"])
    d = e.dashboard(T0).to_json()
    assert d["totals"]["requests"] == 1 and d["totals"]["input_tokens"] == 5


def test_contexts_sharing_a_plan_fold_together_without_losing_anything() -> None:
    """Thousands of contexts feed a few models: samples are grouped per plan, and every one still counts."""
    rng = random.Random(11)
    e = Engine(Mode.DASHBOARD)
    e.set_filter(frozenset({"agent_name:a1"}))
    want = {"in": 0.0, "req": 0, "err": 0, "a1_in": 0.0}
    for sec in range(5):
        lines = []
        for _ in range(400):
            agent = f"a{rng.randrange(50)}"
            v = rng.randrange(1, 900)
            rate = rng.choice([b"", b"|@0.5"])
            ok = rng.random() < 0.9
            host = f"h{rng.randrange(20)}"  # a tag no handler reads: contexts differing in it share plans
            tags = f"#model:gpt-4o,provider:openai,agent_name:{agent},host:{host},success:{str(ok).lower()}".encode()
            lines.append(b"llm.tokens.input:%d|c%s|%s" % (v, rate, tags))
            lines.append(b"llm.request.complete:1|c|" + tags)
            weighted = v * (2 if rate else 1)
            want["in"] += weighted
            want["req"] += 1
            want["err"] += not ok
            if agent == "a1":
                want["a1_in"] += weighted
        e.feed([(T0 + sec * 10**9 + i, b"\n".join(lines[i : i + 20])) for i in range(0, len(lines), 20)])
    (row,) = e.dashboard().to_json()["models"]
    assert row["input_tokens"] == want["in"]
    assert (row["requests"], row["errors"]) == (want["req"], want["err"])
    (frow,) = e.dashboard(shown=True).to_json()["models"]
    assert frow["input_tokens"] == want["a1_in"] > 0
    # per (model, agent): tokens at two rates, completions ok and failed; not per host
    assert len(e.llm._plans) <= 4 * 50 < len(e.store.contexts)


def test_dashboard_engines_check_values_per_plan_with_the_same_result() -> None:
    """Without per-context sums, values are checked per plan in bulk; odd ones must still reach the parser
    with their own line (the error sample names the right context) and count exactly as before."""
    values = [b"1", b"2.5", b"1:2", b"-1", b" 1", b"1_0", b"", b"0x1p1", b"1e400", b"7"]
    lines = [b"llm.tokens.input:%s|c|#model:gpt-4o,provider:openai,host:h%d" % (v, i % 3)
             for i, v in enumerate(values * 4)]
    docs, samples = [], []
    for filtered in (True, False):
        e = Engine(Mode.DASHBOARD)
        if filtered:  # a filter every line passes: values then go to two plans, and are checked per slot
            e.set_filter(frozenset({"model:gpt-4o"}))
        e.feed([(T0, b"\n".join(lines[i : i + 7])) for i in range(0, len(lines), 7)])
        e.feed([(T0 + 10**9, b"\n".join(lines))])
        docs.append((e.dashboard().to_json()["models"], dict(e.parser.errors), e.lines))
        samples.append(sorted(b.line for b in e.parser.bad_lines))
    assert docs[0] == docs[1]
    assert samples[0] == samples[1] and set(samples[1]) <= set(lines)
    assert docs[1][1]["metric"] == 4 * 4 * 2  # ' 1', '1_0', '' and '1e400', in 4 repeats, fed twice
