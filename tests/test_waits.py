"""The waiting helpers themselves (tests/waits.py): the value they return, what they say when nothing came, and
settle's yielding to the event loop, which a frame built in a worker thread needs to arrive."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from .waits import settle, wait_until


def test_wait_until_returns_the_first_truthy_value() -> None:
    calls = itertools.count()
    assert wait_until(lambda: next(calls) >= 3 and "third", "three polls") == "third"
    assert next(calls) == 4  # polled until then, and no more


def test_wait_until_fails_naming_what_never_happened() -> None:
    with pytest.raises(AssertionError, match=r"timed out after 0\.02s waiting for the moon"):
        wait_until(lambda: 0, "the moon", timeout=0.02)


async def test_settle_lets_the_loop_run_between_polls() -> None:
    seen: list[str] = []
    asyncio.get_running_loop().call_soon(seen.append, "frame")  # runs only if settle yields to the loop
    assert await settle(lambda: seen, "the frame", timeout=5) == ["frame"]


async def test_settle_fails_naming_what_never_happened() -> None:
    with pytest.raises(AssertionError, match=r"timed out after 0\.02s waiting for the moon"):
        await settle(lambda: None, "the moon", timeout=0.02)
