"""A line shape's slot: where the engine's hot path puts the value bytes of lines it has seen before."""

from __future__ import annotations

import math
from typing import Any

from ..protocol import Context
from .llm import Groups, Plan
from .numbers import limit
from .store import ContextStats


class Slot:
    """One line shape: its context, weight, where its samples go, and the samples not yet folded."""

    __slots__ = ("ctx", "fplan", "gather", "is_set", "key", "lim", "mtype", "only_sums", "plan", "raw", "redacted",
                 "stats", "vals", "w")

    def __init__(self, ctx: Context, w: float, stats: ContextStats | None, plan: Plan | None,
                 fplan: Plan | None, key: tuple[bytes, bytes] | None, redacted: bool = False) -> None:
        self.ctx = ctx
        self.redacted = redacted  # shown redacted: its lines skip the hot path, so their datagrams are counted
        self.mtype = ctx.mtype
        self.is_set = ctx.mtype == "s"
        self.w = w
        self.lim = math.inf if self.is_set else limit(w)  # |value| past this is a bad value (numbers.limit)
        self.stats = stats
        self.plan = plan
        self.fplan = fplan
        self.key = key  # (name, tail): the line is name + b":" + value + b"|" + tail
        self.raw: list[bytes] = []  # value bytes from the hot path, unchecked
        # the plan, when it alone wants these values (a dashboard keeps no per-context sums): checked per plan
        self.gather = plan if stats is None and fplan is None else None
        self.vals: list[Any] = []  # values the parser produced (floats, or set members)
        # `stats` keeps per-context counts and sums, no series: its values need no float each (engine._flush)
        self.only_sums = stats is not None and plan is None and fplan is None and not self.is_set


def group_samples(groups: Groups, plan: Plan, vals: list[Any], s: float) -> None:
    """Gather samples that fold the same way (one plan) into one fold."""
    g = groups.get(plan)
    if g is None:
        groups[plan] = [vals[:], s]  # a copy: the same list may go to the filtered rollup's group too
    else:
        g[0] += vals
        g[1] += s


def set_member(v: bytes) -> str:
    """A set member; an empty one is the parser's to count."""
    if not v:
        raise ValueError("empty set member")
    return v.decode("utf-8", "replace")
