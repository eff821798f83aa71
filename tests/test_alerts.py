"""Alerts on generated captures with known crossing times: they fire within one second of it, live or replayed."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tundra_tui.capture import read_capture
from tundra_tui.capture.dogfile import CaptureWriter
from tundra_tui.config import ConfigError, load_config
from tundra_tui.model import Engine, Pricer
from tundra_tui.model.alerts import AlertBook, parse_alerts
from tundra_tui.model.engine import Mode
from tundra_tui.model.watch import Watch

from .conftest import run_cli

T0 = 1_700_000_000
SECONDS = 300
RATE = 10  # requests a second


def failing(n: int) -> int:
    """Requests failing in second T0+n: half of them from n=100 to n=199."""
    return RATE // 2 if 100 <= n < 200 else 0


def latency(n: int) -> float:
    """Every request's latency in second T0+n: slow from n=150 for 60 s."""
    return 900.0 if 150 <= n < 210 else 100.0


def generate(path: Path) -> Path:
    """A capture of SECONDS seconds of traffic for model m1 (provider p1), one request every 1/RATE s."""
    w = CaptureWriter(path, compress=False)
    for n in range(SECONDS):
        for i in range(RATE):
            ts = (T0 + n) * 1_000_000_000 + i * (1_000_000_000 // RATE)
            ok = "false" if i < failing(n) else "true"
            tags = f"model:m1,provider:p1,profile:fast,success:{ok}"
            w.write(f"llm.request.complete:1|c|#{tags}\nllm.request.duration:{latency(n)}|d|#{tags}\n"
                    f"llm.tokens.input:100|c|#{tags}\nllm.tokens.output:50|c|#{tags}".encode(), ts)
    w.close()
    return path


def first_crossing(metric: list[float], window: int, test: object, after: int = 0) -> int:
    """The first second n >= after whose window ending at n passes `test` (computed from the generator)."""
    for n in range(after, SECONDS):
        if test(metric[max(0, n - window + 1): n + 1]):  # type: ignore[operator]
            return n
    raise AssertionError("never crosses")


def engine_with(rules: list[dict[str, object]], window_s: int = 600) -> Engine:
    e = Engine(Mode.DASHBOARD, window=window_s, pricer=Pricer({"m1": {"input_mtok": 10, "output_mtok": 30}}))
    e.watch = Watch(AlertBook(parse_alerts(rules, window_s), e.llm))
    return e


RULES: list[dict[str, object]] = [
    {"name": "errors", "metric": "error_rate", "above": 0.2, "window_s": 30, "for_s": 20, "group_by": "model"},
    {"name": "slow", "metric": "p95_ms", "above": 500, "window_s": 10, "for_s": 5, "provider": "p1"},
    {"name": "quiet", "metric": "requests_per_s", "below": 5, "window_s": 10},
]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[int, bytes]]:
    path = generate(tmp_path_factory.mktemp("alerts") / "gen.dog")
    return [(m.timestamp, m.payload) for m in read_capture(path)]


@pytest.fixture(scope="module")
def live(capture: list[tuple[int, bytes]]) -> Engine:
    """The capture judged as live: a refresh every second."""
    return run(capture, 1)


def run(packets: list[tuple[int, bytes]], step_s: int) -> Engine:
    """Feed the capture, taking a dashboard every `step_s` seconds of capture time, as refreshes would."""
    e = engine_with(RULES)
    batch: list[tuple[int, bytes]] = []
    next_refresh = T0 + step_s
    for ts, payload in packets:
        if ts // 1_000_000_000 >= next_refresh:
            e.feed(batch)
            batch = []
            e.dashboard(ts)
            next_refresh = ts // 1_000_000_000 + step_s
        batch.append((ts, payload))
    e.feed(batch)
    e.dashboard((T0 + SECONDS + 1) * 1_000_000_000)
    return e


def test_error_rate_fires_and_resolves_at_the_known_seconds(live: Engine) -> None:
    dash = live.dashboard((T0 + SECONDS + 1) * 1_000_000_000)
    errs = [float(failing(n)) for n in range(SECONDS)]
    breach = first_crossing(errs, 30, lambda w: sum(w) / (RATE * len(w)) > 0.2)
    clear = first_crossing(errs, 30, lambda w: sum(w) / (RATE * len(w)) <= 0.2, after=breach)
    log = [r for r in dash.alerts_log if r.name == "errors"]
    assert [r.state for r in log] == ["firing", "resolved"]
    assert abs(log[0].ts - (T0 + breach + 20)) <= 1
    assert abs(log[1].ts - (T0 + clear)) <= 1
    assert log[0].group == "m1" and log[0].value is not None and log[0].value > 0.2


def test_p95_fires_after_its_sustain(live: Engine) -> None:
    dash = live.dashboard((T0 + SECONDS + 1) * 1_000_000_000)
    lat = [latency(n) for n in range(SECONDS)]
    breach = first_crossing(lat, 10, lambda w: sorted(w)[math.ceil(0.95 * len(w)) - 1] > 500)
    log = [r for r in dash.alerts_log if r.name == "slow"]
    assert log[0].state == "firing" and log[0].group == "totals"
    assert abs(log[0].ts - (T0 + breach + 5)) <= 1


def test_replay_at_any_pace_fires_exactly_as_live(capture: list[tuple[int, bytes]], live: Engine) -> None:
    slow = live.dashboard((T0 + SECONDS + 20) * 1_000_000_000)  # 20 s after the stream stopped
    fast = run(capture, 37).dashboard((T0 + SECONDS + 20) * 1_000_000_000)
    assert slow.alerts_log == fast.alerts_log
    assert slow.alerts == fast.alerts
    assert any(r.name == "quiet" and r.state == "firing" for r in slow.alerts)  # the stream stopped


def test_cooldown_keeps_a_flapping_alert_quiet(capture: list[tuple[int, bytes]]) -> None:
    rules: list[dict[str, object]] = [{"name": "q", "metric": "requests_per_s", "below": 5, "window_s": 1}]
    gappy = [p for p in capture if (p[0] // 1_000_000_000 - T0) % 20 != 0]  # a silent second every 20 s
    # silent seconds 20, 40, ..., 260 and the tail from 271: every one fires without a cooldown (13 + 1);
    # with 60 s, a gap 59 s after a resolution stays quiet: 20, 100, 180 and 260 fire
    for cooldown, fires in ((0, 14), (60, 4)):
        e = engine_with([{**rules[0], "cooldown_s": cooldown}])
        e.feed(gappy[: len(gappy) * 9 // 10])
        log = e.dashboard((T0 + 280) * 1_000_000_000).alerts_log
        assert sum(r.state == "firing" for r in log) == fires, cooldown


def test_cost_per_hour_uses_the_configured_price(capture: list[tuple[int, bytes]]) -> None:
    e = engine_with([{"name": "spend", "metric": "cost_per_hour", "above": 1.0, "window_s": 60}])
    e.feed(capture)
    row = e.dashboard((T0 + 200) * 1_000_000_000).alerts[0]
    per_s = RATE * (100 * 10 + 50 * 30) / 1e6  # USD a second at these prices
    assert row.value == pytest.approx(per_s * 3600, rel=1e-6)
    assert row.state == "firing" and row.threshold == 1.0


@pytest.mark.parametrize(("table", "message"), [
    ('[[alerts]]\nname="x"\nmetric="nope"\nabove=1', "alerts[0].metric"),
    ('[[alerts]]\nname="x"\nmetric="p95_ms"', "exactly one of 'above' and 'below'"),
    ('[[alerts]]\nname="x"\nmetric="p95_ms"\nabove=1\nwindow_s=9999', "must not exceed 'window_s'"),
    ('[[alerts]]\nname="x"\nmetric="p95_ms"\nabove=1\ngroup_by="host"', "group_by"),
    ('[[alerts]]\nname="x"\nmetric="p95_ms"\nabove=1\ncolour="red"', "unknown key 'alerts[0].colour'"),
])
def test_bad_alert_config_is_one_clear_line(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(table)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(path)


def test_replay_json_carries_alerts(tmp_path: Path, capture: list[tuple[int, bytes]]) -> None:
    cap = generate(tmp_path / "g.dog")
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[alerts]]\nname = "errors"\nmetric = "error_rate"\nabove = 0.2\nwindow_s = 30\nfor_s = 20\n'
                   'group_by = "model"\n')
    out = run_cli("replay", str(cap), "--once", "--json", env={"TUNDRA_CONFIG": str(cfg)})
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [r["state"] for r in doc["alerts_log"]] == ["firing", "resolved"]
    assert doc["alerts"][0]["name"] == "errors" and doc["alerts"][0]["group"] == "m1"
