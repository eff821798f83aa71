"""The budget on a generated capture: spend, burn, projection and the second the limit is reached."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tundra_tui.capture import read_capture
from tundra_tui.config import ConfigError, load_config
from tundra_tui.model import Engine, Pricer
from tundra_tui.model.budget import BudgetBook, BudgetRule, period_bounds
from tundra_tui.model.engine import Mode
from tundra_tui.model.watch import Watch

from .conftest import run_cli
from .test_alerts import RATE, T0, generate

PRICES = {"m1": {"input_mtok": 10, "output_mtok": 30}}
PER_REQUEST = (100 * 10 + 50 * 30) / 1e6  # USD: the generator's 100 in + 50 out tokens a request


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def packets(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[int, bytes]]:
    path = generate(tmp_path_factory.mktemp("budget") / "gen.dog")
    return [(m.timestamp, m.payload) for m in read_capture(path)]


def engine(limit: float, period: str = "hour", prices: dict[str, dict[str, float]] | None = None) -> Engine:
    e = Engine(Mode.DASHBOARD, pricer=Pricer(PRICES if prices is None else prices))
    e.watch = Watch(budget=BudgetBook(BudgetRule(limit, period)))
    return e


def test_spend_burn_projection_and_exhaustion(packets: list[tuple[int, bytes]]) -> None:
    e = engine(20.0)
    e.feed([p for p in packets if p[0] < (T0 + 200) * 1_000_000_000])
    now = T0 + 200
    b = e.dashboard(now * 1_000_000_000).budget
    assert b is not None
    start, end = period_bounds("hour", now)
    assert start <= T0 and end - start == 3600 and time.gmtime(start).tm_min == 0
    spent = 200 * RATE * PER_REQUEST
    burn = spent / 300 * 3600  # the 300 s ending now hold the 200 s of traffic
    assert b.period == "hour" and b.limit_usd == 20.0
    assert b.spent_usd == pytest.approx(spent)
    assert b.burn_usd_per_hour == pytest.approx(burn)
    assert b.projected_usd == pytest.approx(spent + burn * (end - now) / 3600)
    assert b.exhausted_at == pytest.approx(now + (20.0 - spent) / burn * 3600, abs=1e-3)
    assert b.unpriced == ()


def test_limit_reached_at_the_known_second(packets: list[tuple[int, bytes]]) -> None:
    e = engine(3.0)
    step = 37  # refreshes far apart, as in a fast replay: the crossing is still found to the second
    for n in range(0, 300, step):
        e.feed([p for p in packets if (T0 + n) * 1_000_000_000 <= p[0] < (T0 + n + step) * 1_000_000_000])
        b = e.dashboard((T0 + n + step) * 1_000_000_000).budget
    assert b is not None and b.exhausted_at is not None
    per_s = RATE * PER_REQUEST
    crossing = T0 + 3.0 / per_s  # the spend reaches $3 after this many seconds of traffic
    assert abs(b.exhausted_at - crossing) <= 1


def test_unpriced_spend_is_unknown_never_zero(packets: list[tuple[int, bytes]]) -> None:
    e = engine(5.0, prices={})
    e.feed([(ts, p.replace(b"model:m1", b"model:tundra-unpriced-model")) for ts, p in packets[:500]])
    b = e.dashboard((T0 + 60) * 1_000_000_000).budget
    assert b is not None and b.spent_usd is None and b.projected_usd is None and b.burn_usd_per_hour is None
    assert b.unpriced == ("tundra-unpriced-model",)


def test_day_period_follows_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    dst_day = 1774778400  # 2026-03-29 12:00 CEST: clocks went forward at 02:00, a 23-hour day
    start, end = period_bounds("day", dst_day)
    assert time.localtime(start)[3:6] == (0, 0, 0) and end - start == 23 * 3600
    assert period_bounds("day", dst_day - 86400)[1] == start


@pytest.mark.parametrize(("table", "message"), [
    ("[budget]\nusd_per_week = 1", "unknown key 'budget.usd_per_week'"),
    ("[budget]\nusd_per_hour = -1", "must be a number > 0"),
    ("[budget]\nusd_per_hour = 1\nusd_per_day = 2", "exactly one"),
])
def test_bad_budget_config_is_one_clear_line(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(table)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_replay_json_carries_the_budget(tmp_path: Path) -> None:
    cap = generate(tmp_path / "g.dog")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[budget]\nusd_per_day = 100\n[prices.m1]\ninput_mtok = 10\noutput_mtok = 30\n')
    out = run_cli("replay", str(cap), "--once", "--json", env={"TUNDRA_CONFIG": str(cfg), "TZ": "UTC"})
    assert out.returncode == 0, out.stderr
    b = json.loads(out.stdout)["budget"]
    assert b["period"] == "day" and b["limit_usd"] == 100
    assert b["spent_usd"] == pytest.approx(300 * RATE * PER_REQUEST)
    assert set(b) == {"limit_usd", "period", "spent_usd", "burn_usd_per_hour", "projected_usd", "exhausted_at",
                      "unpriced"}
