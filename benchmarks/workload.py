"""Realistic DogStatsD traffic for the benchmarks: ~7 tags, a mix of c, d and g, some sample rates."""

from __future__ import annotations

import random

MODELS = [("gpt-4o", "openai"), ("gpt-4o-mini", "openai"), ("claude-sonnet-4-5", "anthropic"),
          ("llama-3.1-8b-instruct", "local")]
AGENTS = ["spec-agent", "review-agent", "planner-agent", "build-agent"]
TASKS = ["code-analysis", "code-review", "planning", "code-generation"]

KINDS = [("llm.request.complete", "c", "1", ""), ("llm.tokens.input", "c", "{v}", ""),
         ("llm.request.duration", "d", "{v}", ""), ("llm.tokens.output", "c", "{v}", "|@0.5"),
         ("llm.profile.total_available", "g", "3", ""), ("llm.agent.execution.duration", "d", "{v}", "|@0.25")]


def _tag_sets(count: int) -> list[str]:
    out = []
    for i in range(count):
        model, provider = MODELS[i % len(MODELS)]
        out.append(f"model:{model},provider:{provider},agent_name:{AGENTS[i // 4 % 4]},task_type:{TASKS[i // 16 % 4]},"
                   f"service:at-daemon,env:production,host_group:g{i // 64}")
    return out


def lines(n: int, seed: int = 1, contexts: int = 400) -> list[bytes]:
    """`n` lines drawn from about `contexts` distinct tag sets."""
    rng = random.Random(seed)
    pool = _tag_sets(contexts)
    out = []
    for _ in range(n):
        name, mtype, val, rate = rng.choice(KINDS)
        out.append(f"{name}:{val.format(v=rng.randint(1, 5000))}|{mtype}{rate}|#{rng.choice(pool)}".encode())
    return out


def context_lines(n: int, contexts: int = 1000, seed: int = 1) -> list[bytes]:
    """`n` lines drawn from exactly `contexts` distinct contexts (name, type and tags), values random."""
    rng = random.Random(seed)
    tag_sets = _tag_sets(-(-contexts // len(KINDS)))
    shapes = [(KINDS[i % len(KINDS)], tag_sets[i // len(KINDS)]) for i in range(contexts)]
    out = []
    for _ in range(n):
        (name, mtype, val, rate), tags = rng.choice(shapes)
        out.append(f"{name}:{val.format(v=rng.randint(1, 5000))}|{mtype}{rate}|#{tags}".encode())
    return out


def packets(all_lines: list[bytes], per_packet: int) -> list[bytes]:
    return [b"\n".join(all_lines[i : i + per_packet]) for i in range(0, len(all_lines), per_packet)]
