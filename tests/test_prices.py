"""The price table in a helper process: same answers as in-process, and a dead helper loses nothing."""

from __future__ import annotations

import copy

from tundra_tui.model import Engine, Pricer
from tundra_tui.services.prices import HelperPricer

OVERRIDES = {"my-local-model": {"input_mtok": 2, "output_mtok": 4}}
CASES = [("gpt-4o", "openai", 1_000_000, 200_000, 0), ("claude-sonnet-4-5", "anthropic", 50_000, 7_000, 10_000),
         ("my-local-model", "local", 1_000_000, 1_000_000, 0), ("no-such-model-xyz", "nobody", 10, 10, 0)]


def test_helper_answers_as_the_in_process_pricer() -> None:
    local, helper = Pricer(OVERRIDES), HelperPricer(OVERRIDES)
    try:
        for case in CASES:
            assert helper.cost(*case) == local.cost(*case)
        assert helper.cost(*CASES[2]) == 6.0  # the override: $2 + $4 per million
        assert helper.cost(*CASES[3]) is None  # unpriced is "n/a", never $0
        assert helper._proc is not None and helper._proc.poll() is None  # answered by the child
    finally:
        helper.close()
    assert helper._proc is None


def test_a_dead_helper_falls_back_in_process() -> None:
    local, helper = Pricer(OVERRIDES), HelperPricer(OVERRIDES)
    helper.prefetch()
    assert helper._proc is not None
    helper._proc.kill()
    helper._proc.wait()
    for case in CASES:
        assert helper.cost(*case) == local.cost(*case)
    assert helper._proc is None and helper._fallback is not None


def test_engines_share_the_helper_and_prefetch_on_the_first_model() -> None:
    helper = HelperPricer()
    engine = Engine(pricer=helper)
    assert helper._proc is None  # nothing priced yet: no helper
    engine.feed([(1_700_000_000 * 10**9, b"llm.tokens.input:1000|c|#model:gpt-4o,provider:openai")])
    try:
        assert helper._proc is not None  # started when the first model appeared
        assert copy.deepcopy(engine).llm.pricer is helper  # replay checkpoints ask the same helper
        (row,) = engine.dashboard()["models"]
        assert row["cost_usd"] == Pricer().cost("gpt-4o", "openai", 1000, 0)
    finally:
        helper.close()


def test_a_stuck_helper_is_given_up_on(monkeypatch) -> None:
    """A helper that stops answering must not hang the screen: after the timeout, answers come from here."""
    import signal

    import tundra_tui.services.prices as prices

    monkeypatch.setattr(prices, "ANSWER_TIMEOUT_S", 0.5)
    helper = HelperPricer()
    helper.prefetch()
    assert helper._proc is not None
    helper._proc.send_signal(signal.SIGSTOP)  # alive, holding its pipes, answering nothing
    try:
        assert helper.cost("gpt-4o", "openai", 1000, 10) == Pricer().cost("gpt-4o", "openai", 1000, 10)
        assert helper._proc is None and helper._fallback is not None
    finally:
        helper.close()
