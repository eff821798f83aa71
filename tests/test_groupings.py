"""Every grouping (model, provider, agent, profile) adds up: one row per key, and rows sum to the totals."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tundra_tui.capture import read_capture
from tundra_tui.commands.replay import SAMPLE
from tundra_tui.model import Engine, Pricer
from tundra_tui.model.engine import Mode
from tundra_tui.model.llm import GROUPINGS, Group, LLMRollup, group, total

T0 = 1_700_000_000
FIELDS = ("requests", "errors", "input_tokens", "output_tokens", "used_tokens")


def assert_adds_up(llm: LLMRollup, now_s: int) -> None:
    """For every grouping: unique keys, and each figure of the rows sums to the total."""
    whole = total(llm, now_s, 10)
    for by in GROUPINGS:
        rows = group(llm, by, now_s, 10)
        keys = [(r.key, r.sub) if by == "model" else r.key for r in rows]
        assert len(keys) == len(set(keys)), (by, keys)
        for f in FIELDS:
            assert math.fsum(getattr(r.agg, f) for r in rows) == pytest.approx(getattr(whole.agg, f)), (by, f)
        assert sum(r.agg.latency.count for r in rows) == pytest.approx(whole.agg.latency.count)
        priced = [r.cost_usd for r in rows if r.cost_usd is not None]
        assert (math.fsum(priced) if priced else None) == pytest.approx(whole.cost_usd), by
        for r in rows:  # a row's cost is its own keys' tokens priced, not a share of its model's cost
            assert r.cost_usd == pytest.approx(_own_cost(llm, by, r)), (by, r.key)
        per_s = [r.cost_per_s for r in rows if r.cost_per_s is not None]
        assert (math.fsum(per_s) if per_s else None) == pytest.approx(whole.cost_per_s), by
        assert math.fsum(r.agg.req_series.total(now_s) for r in rows) == pytest.approx(
            llm.req_series.total(now_s)), by
    assert whole.agg.requests == pytest.approx(llm.req_series.total(now_s)) or now_s - (llm.first_s or 0) > 600


def _own_cost(llm: LLMRollup, by: str, row: Group) -> float | None:
    """What the tokens carrying this row's tag cost, priced key by key by a pricer of its own."""
    pricer = Pricer(_PRICES)
    part = GROUPINGS.index(by)
    costs = []
    for k, a in llm.keys.items():
        if k[part] != row.key or (by == "model" and k[1] != row.sub):
            continue
        if a.reported_total_cost is not None:
            costs.append(a.reported_total_cost)
        elif a.has_tokens:
            costs.append(pricer.cost(k[0], k[1], a.input_tokens, a.output_tokens, a.cache_read_tokens))
    priced = [c for c in costs if isinstance(c, float)]
    return math.fsum(priced) if priced else None


def test_an_agents_cost_is_its_own_tokens_priced() -> None:
    """Two agents on one model, one all input, one all output: each pays its own tokens' price
    (gpt-4o: $2.50 per million in, $10 out), not half the model's cost by token count."""
    e = Engine(Mode.DASHBOARD, pricer=Pricer())
    e.feed([(T0 * 10**9, b"llm.tokens.input:1000000|c|#model:gpt-4o,provider:openai,agent_name:reader"),
            (T0 * 10**9, b"llm.tokens.output:1000000|c|#model:gpt-4o,provider:openai,agent_name:writer")])
    rows = {r.key: r for r in group(e.llm, "agent", T0, 10)}
    reader = Pricer().cost("gpt-4o", "openai", 1_000_000, 0)
    writer = Pricer().cost("gpt-4o", "openai", 0, 1_000_000)
    assert reader is not None and writer is not None and writer > 2 * reader
    assert rows["reader"].cost_usd == pytest.approx(reader)
    assert rows["writer"].cost_usd == pytest.approx(writer)
    assert total(e.llm, T0, 10).cost_usd == pytest.approx(reader + writer)


def test_sample_adds_up_in_every_grouping() -> None:
    packets = read_capture(SAMPLE)
    e = Engine(Mode.DASHBOARD, pricer=Pricer())
    e.feed([(m.timestamp, m.payload) for m in packets])
    now_s = packets[-1].timestamp // 1_000_000_000
    assert_adds_up(e.llm, now_s)
    by = {g: {r.key: r for r in group(e.llm, g, now_s, 10)} for g in GROUPINGS}
    # llm.tokens.* carry agent_name: agent rows have tokens and cost; task_type folds (one row per agent)
    spec = by["agent"]["spec-agent"]
    assert spec.agg.input_tokens > 0 and spec.cost_usd is not None and spec.executions
    assert len(by["agent"]) == len({k[0] for k in e.llm.agents})
    # llm.request.duration carries profile: profile rows have latency
    assert all(r.agg.latency.count for r in by["profile"].values() if r.agg.requests)
    # tokens carry no profile: they sit in the "unknown" row, not spread by guess
    assert all(not r.agg.has_tokens for k, r in by["profile"].items() if k != "unknown")
    assert by["profile"]["unknown"].agg.input_tokens == pytest.approx(e.dashboard().totals.input_tokens)


_line = st.tuples(
    st.sampled_from(["at", "at", "ml_obs", "gen_ai"]),
    st.sampled_from(["gpt-4o", "claude-sonnet-4-5", "llama-3.1-8b", ""]),
    st.sampled_from(["openai", "anthropic", "Local", ""]),
    st.sampled_from(["spec-agent", "qa-agent", ""]),
    st.sampled_from(["local-runtime", "openai-prod", ""]),
    st.sampled_from(["code-analysis", "review"]),
    st.booleans(),
    st.integers(1, 5000),
    st.sampled_from(["", "|@0.5", "|@0.25"]),
    st.integers(0, 30),
)


def _lines(spec: tuple[str, str, str, str, str, str, bool, int, str, int]) -> list[str]:
    vocab, model, provider, agent, profile, task, ok, n, rate, _sec = spec
    if vocab == "ml_obs":
        tags = f"#model_name:{model or 'm'},model_provider:{provider}"
        out = [f"ml_obs.span:1|c{rate}|{tags}", f"ml_obs.span.duration:{n / 1000}|d|{tags}",
               f"ml_obs.span.llm.input.tokens:{n}|d|{tags}", f"ml_obs.span.llm.output.tokens:{n // 3}|d|{tags}"]
        return out + ([] if ok else [f"ml_obs.span.error:1|c|{tags}"])
    if vocab == "gen_ai":
        tags = f"gen_ai.request.model:{model},gen_ai.system:{provider}"
        err = "" if ok else ",error.type:timeout"
        return [f"gen_ai.client.operation.duration:{n / 1000}|h{rate}|#{tags}{err}",
                f"gen_ai.client.token.usage:{n}|h|#{tags},gen_ai.token.type:input"]
    parts = [f"model:{model}" if model else "", f"provider:{provider}" if provider else "",
             f"agent_name:{agent}" if agent else "", f"task_type:{task}"]
    tags = ",".join(p for p in parts if p)
    req = ",".join(p for p in (tags, f"profile:{profile}" if profile else "", f"success:{str(ok).lower()}") if p)
    return [f"llm.request.complete:1|c{rate}|#{req}", f"llm.request.duration:{n}|d|#{req}",
            f"llm.tokens.input:{n}|c{rate}|#{tags}", f"llm.tokens.output:{n // 4}|c|#{tags}",
            f"llm.agent.execution:1|c|#agent_name:{agent or 'x'},task_type:{task},success:{str(ok).lower()}"]


@pytest.mark.fuzz  # the profile's budget: a few dozen examples here, `thorough`'s hundreds in .ci/run
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, min_size=1, max_size=40))
def test_generated_traffic_adds_up_in_every_grouping(traffic: list[tuple[str, str, str, str, str, str, bool, int,
                                                                          str, int]]) -> None:
    e = Engine(Mode.DASHBOARD, pricer=_PRICER)
    for spec in traffic:
        e.feed([((T0 + spec[-1]) * 10**9, line.encode()) for line in _lines(spec)])
    assert_adds_up(e.llm, T0 + 30)
    d = e.dashboard((T0 + 30) * 10**9)
    whole = total(e.llm, T0 + 30, 10)
    assert whole.agg.requests == pytest.approx(d.totals.requests)
    assert whole.agg.input_tokens == pytest.approx(d.totals.input_tokens)


_PRICES = {"llama-3.1-8b": {"input_mtok": 0.1, "output_mtok": 0.2}}
_PRICER = Pricer(_PRICES)


def test_a_tiered_price_applies_per_request_not_to_the_sum() -> None:
    """claude-sonnet-4-5 costs $3 per million input tokens, $6 once one request passes 200k. Three requests
    of 100k each cost 3 x $0.30, although their sum, 300k, would read $1.80 priced as one."""
    e = Engine(Mode.DASHBOARD, pricer=Pricer())
    line = b"llm.tokens.input:100000|c|#model:claude-sonnet-4-5,provider:anthropic,agent_name:a"
    e.feed([(T0 * 10**9 + i, line) for i in range(3)])
    one = Pricer().cost("claude-sonnet-4-5", "anthropic", 100_000, 0)
    assert one == pytest.approx(0.30) and Pricer().cost("claude-sonnet-4-5", "anthropic", 300_000, 0) == 1.8
    (row,) = group(e.llm, "model", T0, 10)
    assert row.cost_usd == pytest.approx(3 * one)
    assert e.dashboard(T0 * 10**9).totals.cost_usd == pytest.approx(0.90)
