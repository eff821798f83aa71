"""The derived price cache: its answers are genai-prices' own, its file is trusted only when it is private and
well formed (anything else is ignored and rebuilt), and a helper with it answers without loading genai-prices."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tundra_tui.model import Pricer
from tundra_tui.model.cost import PRICING, average_request, usage_key
from tundra_tui.services.helper_proc import NICE
from tundra_tui.services.price_cache import MAX_BYTES, MAX_UNPRICED, PriceCache
from tundra_tui.services.prices import HelperPricer

# what the sample and the demo send, and tiered, dated (past and coming) and time-of-day priced models
SEEN = [("gpt-4o", "OpenAI"), ("gpt-4o-mini", "OpenAI"), ("claude-sonnet-4-5", "Anthropic"),
        ("claude-haiku-4-5", "Anthropic"), ("llama-3.1-8b-instruct", "Local"), ("gemini-2.5-pro", "google"),
        ("gpt-5.5", "openai"), ("claude-sonnet-4-6", "anthropic"), ("gemini-3.6-flash", "google"),
        ("no-such-model-xyz", "nobody")]
TOKENS = [(0, 0, 0, 1.0), (1000, 200, 0, 1.0), (1_000_000, 200_000, 0, 1.0), (200_000, 10, 5, 1.0),
          (200_001, 10, 5, 1.0), (450_000, 9_000, 120_000, 2.0), (1_234_567, 89_012, 345_678, 7.0),
          (50_000, 7_000, 10_000, 3.0), (10**9, 10**6, 10**8, 1.0), (12_345, 678, 9, 1.333),
          (10, 1, 100, 1.0)]  # cache reads past the input: refused, by genai-prices too where they are priced


def cached_cost(cache: PriceCache, model: str, provider: str, tokens: tuple[int, int, int, float]) -> float | None:
    key = usage_key(*tokens)
    assert key is not None
    hit, answer = cache.cost(model, provider, *average_request(key))
    assert hit, (model, provider)
    return answer


def test_cached_answers_are_genai_prices_own(tmp_path: Path) -> None:
    built = PriceCache.open(tmp_path)
    assert built is not None and built.entries == {}
    for model, provider in SEEN:
        built.learn(model, provider)
    built.save()
    cache = PriceCache.open(tmp_path)  # read back from the file
    assert cache is not None and set(cache.entries) == set(SEEN)
    live = Pricer()
    for model, provider in SEEN:
        for tokens in TOKENS:
            want = live.cost(model, provider, *tokens[:3], requests=tokens[3])
            assert cached_cost(cache, model, provider, tokens) == want, (model, tokens)
    assert cache.entries[("no-such-model-xyz", "nobody")] == (None, None)  # unpriced: "n/a", cached too
    assert cache.entries[("llama-3.1-8b-instruct", "Local")] == (None, None)
    tiers = dict((k, t) for k, _, t in cache.entries[("gemini-2.5-pro", "google")][1] or ())
    assert tiers["input_mtok"]  # a tiered price, kept with its tiers (answers past 200k checked above)
    until = cache.entries[("gemini-3.6-flash", "google")][0]
    if dt.datetime.now(dt.UTC).date() < dt.date(2027, 1, 1):  # its price changes then: the entry ends then
        assert until == dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()
    cache.entries[("gemini-3.6-flash", "google")] = (1.0, cache.entries[("gemini-3.6-flash", "google")][1])
    assert cache.cost("gemini-3.6-flash", "google", Decimal(1), Decimal(1), None, Decimal(1)) == (False, None)


def test_a_time_of_day_price_is_never_cached(tmp_path: Path) -> None:
    cache = PriceCache.open(tmp_path)
    assert cache is not None
    cache.learn("deepseek-chat", "deepseek")  # off-peak prices: the price changes within a session
    assert ("deepseek-chat", "deepseek") not in cache.entries
    assert cache.cost("deepseek-chat", "deepseek", Decimal(1), Decimal(1), None, Decimal(1)) == (False, None)


def good_cache(tmp_path: Path) -> Path:
    cache = PriceCache.open(tmp_path)
    assert cache is not None
    cache.learn("gpt-4o", "OpenAI")
    cache.save()
    assert PriceCache.open(tmp_path).entries  # type: ignore[union-attr]
    return cache.path


def rewrite(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


HOSTILE = {
    "not json": lambda p: p.write_text("{not json"),
    "truncated": lambda p: p.write_text(p.read_text()[:40]),
    "another table": lambda p: rewrite(p, lambda d: d.update(table="0.0.1-1-1")),
    "a negative price": lambda p: rewrite(p, lambda d: d["entries"][0][3][0].__setitem__(1, "-1")),
    "a price not a number": lambda p: rewrite(p, lambda d: d["entries"][0][3][0].__setitem__(1, "NaN")),
    "a huge price": lambda p: rewrite(p, lambda d: d["entries"][0][3][0].__setitem__(1, "1e999999")),
    "an unknown price key": lambda p: rewrite(p, lambda d: d["entries"][0][3][0].__setitem__(0, "__class__")),
    "tiers out of order": lambda p: rewrite(p, lambda d: d["entries"][0][3][0].__setitem__(2, [[5, "1"], [1, "2"]])),
    "an entry of another shape": lambda p: rewrite(p, lambda d: d["entries"].append({"a": 1, "b": 2, "c": 3, "d": 4})),
    "until not a number": lambda p: rewrite(p, lambda d: d["entries"][0].__setitem__(2, "soon")),
    "deep nesting": lambda p: p.write_text("[" * 100_000 + "]" * 100_000),
    "too big": lambda p: p.write_text(" " * (MAX_BYTES + 1) + p.read_text()),
    "writable by others": lambda p: p.chmod(0o666),
    "another user's": lambda p: os.chown(p, 65534, 65534),
    "a symlink to a good file": lambda p: (p.rename(p.with_suffix(".real")), p.symlink_to(p.with_suffix(".real"))),
    "a fifo": lambda p: (p.unlink(), os.mkfifo(p, 0o600)),
    "its directory writable by others": lambda p: p.parent.chmod(0o777),
}


@pytest.mark.parametrize("how", list(HOSTILE))
def test_a_hostile_or_corrupt_cache_is_ignored_and_rebuilt(tmp_path: Path, how: str) -> None:
    path = good_cache(tmp_path)
    HOSTILE[how](path)
    cache = PriceCache.open(tmp_path)
    assert cache is not None and cache.entries == {}  # ignored: the helper loads genai-prices as on a first run
    cache.learn("gpt-4o", "OpenAI")
    cache.save()
    if how == "its directory writable by others":
        return  # nothing written where it would never be read back
    st = path.lstat()
    assert path.is_file() and not path.is_symlink() and st.st_uid == os.getuid() and st.st_mode & 0o777 == 0o600
    again = PriceCache.open(tmp_path)
    assert again is not None and set(again.entries) == {("gpt-4o", "OpenAI")}  # rebuilt


def test_a_helper_with_the_cache_answers_without_loading_genai_prices(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The second helper (XDG_CACHE_HOME is this test's own) answers every model of the first from the file the
    first wrote, as the in-process pricer does, and never maps pydantic's compiled core: genai-prices not loaded."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cases = [(m, p, 450_000, 9_000, 120_000) for m, p in SEEN]
    answers = []
    for _ in range(2):
        helper = HelperPricer()
        try:
            for case in cases:
                helper.cost(*case, requests=2.0)
            assert helper.settle(60)
            answers.append([helper.cost(*case, requests=2.0) for case in cases])
            pid = helper.helper_pid
            assert pid is not None
            loaded = "pydantic_core" in Path(f"/proc/{pid}/maps").read_text()
        finally:
            helper.close()
    assert loaded is False  # the second helper's
    assert answers[0] == answers[1] == [Pricer().cost(*case, requests=2.0) for case in cases]


def niceness(pid: int) -> int:
    """A process's nice value as the kernel reports it (field 19 of /proc/<pid>/stat)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def helper_niceness_after(helper: HelperPricer, model: str, provider: str) -> int:
    """Price one model (waiting for the answer), then read the helper's niceness."""
    assert helper.cost(model, provider, 1000, 200) is PRICING
    assert helper.settle(60)
    pid = helper.helper_pid
    assert pid is not None
    return niceness(pid)


@pytest.fixture
def normal_priority() -> Iterator[int]:
    """This process at nice 0 for the test (xdist workers run at the helper's NICE: conftest), so a helper it
    starts shows its own nicing; root only (tests run as root), restored after."""
    before = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except PermissionError:
        pytest.skip("raising this process's priority needs root")
    try:
        yield 0
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, before)


def test_a_helper_behind_a_screen_is_niced_only_once_it_loads_genai_prices(normal_priority: int, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached answer keeps tundra's priority (the priced row no longer trails the model row under load); the
    first cache miss nices the helper; `--once` (not interactive) stays at tundra's priority even on a miss."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # an empty cache of its own (the suite's is shared)
    own = normal_priority
    first = HelperPricer()  # no cache yet: it loads the table (niced) and caches gpt-4o
    try:
        assert helper_niceness_after(first, "gpt-4o", "OpenAI") == NICE
    finally:
        first.close()
    second = HelperPricer()
    try:
        assert helper_niceness_after(second, "gpt-4o", "OpenAI") == own  # from the cache: not niced
        assert helper_niceness_after(second, "claude-sonnet-4-5", "Anthropic") == NICE  # a miss: genai-prices
    finally:
        second.close()
    once = HelperPricer(interactive=False)
    try:
        assert helper_niceness_after(once, "gemini-2.5-pro", "google") == own
    finally:
        once.close()


def test_a_flood_of_unknown_names_leaves_room_for_priced_models(tmp_path: Path) -> None:
    """Names from traffic that genai-prices does not price are kept as "no price" only up to MAX_UNPRICED: a flood
    of junk names no longer fills the cache, so a real model seen after it is still learnt and written."""
    cache = PriceCache.open(tmp_path)
    assert cache is not None
    for n in range(MAX_UNPRICED + 20):
        cache.learn(f"junk-model-{n}", "nobody")
    assert len(cache.entries) == MAX_UNPRICED
    cache.learn("gpt-4o", "OpenAI")
    cache.save()
    again = PriceCache.open(tmp_path)
    assert again is not None and again.entries[("gpt-4o", "OpenAI")][1] is not None
