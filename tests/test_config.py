"""config.toml: defaults, overrides, and one clear line naming a bad key."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tundra_tui.config import ConfigError, config_path, load_config

from .conftest import ROOT, run_cli


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text)
    p.chmod(0o600)
    return p


def test_defaults_when_missing(tmp_path: Path) -> None:
    cfg = load_config(tmp_path / "none.toml")
    assert (cfg.window_s, cfg.max_contexts, cfg.prices) == (600, 20_000, {})


def test_env_points_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, "window_s = 120\n")
    monkeypatch.setenv("TUNDRA_CONFIG", str(p))
    assert config_path() == p
    assert load_config().window_s == 120
    assert load_config().rate_window_s == 10  # current rates: the last 10 s unless set


def test_full_config(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
window_s = 300
max_contexts = 500
theme = "tundra-light"
[prices."llama-3.1-8b-instruct"]
input_mtok = 0
output_mtok = 0
[vocabulary.metrics]
request_complete = "my.done"
[vocabulary.tags]
model = "llm_model"
"""))
    assert cfg.window_s == 300 and cfg.max_contexts == 500 and cfg.theme == "tundra-light"
    assert cfg.prices == {"llama-3.1-8b-instruct": {"input_mtok": 0, "output_mtok": 0}}
    assert cfg.vocab_metrics == {"request_complete": "my.done"} and cfg.vocab_tags == {"model": "llm_model"}


@pytest.mark.parametrize(("text", "key"), [
    ("window_s = 'x'", "window_s"),
    ("max_contexts = -1", "max_contexts"),
    ("colour = 1", "colour"),
    ("[prices.gpt]\ninput_mtok = 1\n", "prices.gpt.output_mtok"),
    ("[prices.gpt]\ninput_mtok = 1\noutput_mtok = 'a'\n", "prices.gpt.output_mtok"),
    ("[prices.gpt]\ninput = 1\n", "prices.gpt.input"),
    ("[vocabulary.metrics]\nnope = 'x'\n", "vocabulary.metrics.nope"),
    ("[vocabulary.tags]\nmodel = ''\n", "vocabulary.tags.model"),
    ("window_s = [", "TOML"),
    ("rate_window_s = 0", "rate_window_s"),
    ("window_s = 30\nrate_window_s = 60", "rate_window_s"),
    ('[redact]\nrules = [{name = "x\\\\9", pattern = "model"}]', "redact.rules[0].name"),
    ('[redact]\nrules = [{name = "", pattern = "model"}]', "redact.rules[0].name"),
])
def test_invalid_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)):
        load_config(write(tmp_path, text))


def test_cli_reports_bad_config_in_one_line(tmp_path: Path) -> None:
    p = write(tmp_path, "max_contexts = 'lots'\n")
    res = run_cli("replay", "--sample", "--once", "--json", env={"TUNDRA_CONFIG": str(p)})
    assert res.returncode == 2 and "max_contexts" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and res.stdout == ""


def test_price_override_reaches_the_dashboard(tmp_path: Path,
                                              sample_replay_json: subprocess.CompletedProcess[str]) -> None:
    import json

    p = write(tmp_path, '[prices."llama-3.1-8b-instruct"]\ninput_mtok = 0\noutput_mtok = 0\n')
    plain = json.loads(sample_replay_json.stdout)  # the same run without the override
    priced = json.loads(run_cli("replay", "--sample", "--once", "--json", env={"TUNDRA_CONFIG": str(p)}).stdout)
    llama = "llama-3.1-8b-instruct"
    assert next(m for m in plain["models"] if m["model"] == llama)["cost_usd"] is None
    assert next(m for m in priced["models"] if m["model"] == llama)["cost_usd"] == 0.0


def test_group_readable_config_with_keys_warns(tmp_path: Path) -> None:
    p = write(tmp_path, '[datadog]\napi_key = "abc"\n')
    p.chmod(0o644)
    assert any("readable by others" in w for w in load_config(p).warnings)


def test_a_rule_name_the_config_refuses_is_one_line_and_a_redactor_shows_any_name_as_text(tmp_path: Path) -> None:
    from tundra_tui.model.redact import Redactor

    p = write(tmp_path, '[redact]\nrules = [{name = "x\\\\9", pattern = "model"}]\n')
    res = run_cli("stats", str(ROOT / "tundra_tui" / "data" / "sample.dog"), env={"TUNDRA_CONFIG": str(p)})
    assert res.returncode == 2 and "redact.rules[0].name" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and res.stdout == ""
    # built directly (no config in between), a backslash in a name is still shown as written, not a group ref
    assert Redactor([("x\\9", "model", "both")]).name("a.model.b") == "a.[redacted:x\\9].b"
