"""Typed settings from `config.toml` (platformdirs config dir, or $TUNDRA_CONFIG).

Example:
    window_s = 600            # rolling window for rates and sparklines, seconds
    max_contexts = 20000      # cardinality cap of the context store
    theme = "tundra-dark"
    [prices."llama-3.1-8b"]   # USD per million tokens; wins over the genai-prices table
    input_mtok = 0
    output_mtok = 0
    [vocabulary.metrics]      # roles -> the daemon's metric names
    request_complete = "myllm.request.done"
    [vocabulary.tags]
    model = "llm_model"
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from .model.vocab import AT_METRICS, AT_TAGS

APP = "tundra"


class ConfigError(Exception):
    """An invalid config file; the message names the key."""


def config_dir() -> Path:
    """Where config.toml and user themes live."""
    return Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    """Where recordings and crash reports go (created 0700)."""
    path = Path(platformdirs.user_data_dir(APP))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def config_path() -> Path:
    """$TUNDRA_CONFIG, else config.toml in the config dir."""
    env = os.environ.get("TUNDRA_CONFIG")
    return Path(env) if env else config_dir() / "config.toml"


@dataclass
class Config:
    """Settings with their defaults."""

    window_s: int = 600
    """Rolling window for rates and sparklines, in seconds (1-s resolution)."""
    max_contexts: int = 20_000
    """Cardinality cap: contexts past it are only counted."""
    theme: str | None = None
    """Theme name to start with."""
    refresh_s: float = 1.0
    """UI refresh interval."""
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per-model prices in USD per million tokens (`input_mtok`, `output_mtok`, `cache_read_mtok`)."""
    vocab_metrics: dict[str, str] = field(default_factory=dict)
    """Overrides of at-daemon metric names, by role."""
    vocab_tags: dict[str, str] = field(default_factory=dict)
    """Overrides of at-daemon tag keys, by role."""
    datadog: dict[str, Any] = field(default_factory=dict)
    """[datadog]: scope, window_s, interval_s (and api_key/app_key; DD_API_KEY/DD_APP_KEY win)."""
    agent_url: str = "http://127.0.0.1:8126/info"
    """[agent] url: the local Agent's trace-agent /info."""
    expvar_url: str = "http://127.0.0.1:5000/debug/vars"
    """[agent] expvar_url: the Agent's expvar, for its own DogStatsD counters."""
    redact: dict[str, Any] = field(default_factory=dict)
    """[redact]: enabled, defaults (keep the built-in rules), rules = [{name, pattern, where}]."""
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)


_PRICE_KEYS = {"input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok"}


def _num(value: Any, key: str, minimum: float, integer: bool = False) -> Any:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= minimum
    if not ok or (integer and not isinstance(value, int)):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"config: '{key}' must be {kind} >= {minimum}, got {value!r}")
    return value


def load_config(path: Path | None = None) -> Config:
    """Read and validate the config; a missing file gives the defaults."""
    path = path or config_path()
    cfg = Config(path=path)
    if not path.exists():
        if os.environ.get("TUNDRA_CONFIG"):
            raise ConfigError(f"config: {path} does not exist (from TUNDRA_CONFIG)")
        return cfg
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror}") from None
    if sys.platform != "win32" and path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH) and _holds_keys(raw):
        cfg.warnings.append(f"warning: {path} holds keys and is readable by others; chmod 600 it")
    for key, value in raw.items():
        if key == "window_s":
            cfg.window_s = _num(value, key, 10, integer=True)
        elif key == "max_contexts":
            cfg.max_contexts = _num(value, key, 1, integer=True)
        elif key == "refresh_s":
            cfg.refresh_s = _num(value, key, 0.1)
        elif key == "theme":
            if not isinstance(value, str):
                raise ConfigError(f"config: 'theme' must be a string, got {value!r}")
            cfg.theme = value
        elif key == "prices":
            cfg.prices = _prices(value)
        elif key == "vocabulary":
            cfg.vocab_metrics, cfg.vocab_tags = _vocab(value)
        elif key == "datadog":
            cfg.datadog = _datadog(value)
        elif key == "redact":
            cfg.redact = _redact(value)
        elif key == "agent":
            if (not isinstance(value, dict) or set(value) - {"url", "expvar_url"}
                    or not all(isinstance(v, str) and v.startswith(("http://", "https://")) for v in value.values())):
                raise ConfigError("config: 'agent' takes 'url' and 'expvar_url' (http(s) URLs)")
            cfg.agent_url = value.get("url", cfg.agent_url)
            cfg.expvar_url = value.get("expvar_url", cfg.expvar_url)
        else:
            raise ConfigError(f"config: unknown key '{key}'")
    return cfg


_DD_KEYS: dict[str, type | tuple[type, ...]] = {
    "scope": str, "window_s": int, "interval_s": (int, float), "api_key": str, "app_key": str, "site": str}


def _datadog(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError("config: 'datadog' must be a table")
    for k, v in value.items():
        kind = _DD_KEYS.get(k)
        if kind is None:
            raise ConfigError(f"config: unknown key 'datadog.{k}' (use {', '.join(_DD_KEYS)})")
        if not isinstance(v, kind) or isinstance(v, bool) or (isinstance(v, int | float) and v <= 0):
            raise ConfigError(f"config: 'datadog.{k}' has a bad value")  # never echo: it may be a key
    return dict(value)


def _redact(value: Any) -> dict[str, Any]:
    import re

    if not isinstance(value, dict):
        raise ConfigError("config: 'redact' must be a table")
    for k in value:
        if k not in ("enabled", "defaults", "rules"):
            raise ConfigError(f"config: unknown key 'redact.{k}' (use enabled, defaults, rules)")
    for k in ("enabled", "defaults"):
        if k in value and not isinstance(value[k], bool):
            raise ConfigError(f"config: 'redact.{k}' must be true or false")
    rules = value.get("rules", [])
    if not isinstance(rules, list):
        raise ConfigError("config: 'redact.rules' must be a list of tables")
    for i, rule in enumerate(rules):
        where = f"redact.rules[{i}]"
        if not isinstance(rule, dict) or not isinstance(rule.get("name"), str) or "pattern" not in rule:
            raise ConfigError(f"config: '{where}' needs a name and a pattern")
        try:
            re.compile(rule["pattern"])
        except (re.error, TypeError) as exc:
            raise ConfigError(f"config: '{where}.pattern' is not a valid regex: {exc}") from None
        if rule.get("where", "both") not in ("tags", "text", "both"):
            raise ConfigError(f"config: '{where}.where' must be tags, text or both")
    return dict(value)


def _holds_keys(raw: dict[str, Any]) -> bool:
    dd = raw.get("datadog")
    return isinstance(dd, dict) and any(k in dd for k in ("api_key", "app_key"))


def _prices(value: Any) -> dict[str, dict[str, float]]:
    if not isinstance(value, dict):
        raise ConfigError("config: 'prices' must be a table of models")
    out = {}
    for model, entry in value.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"config: 'prices.{model}' must be a table")
        for k, v in entry.items():
            if k not in _PRICE_KEYS:
                raise ConfigError(f"config: unknown key 'prices.{model}.{k}' (use {', '.join(sorted(_PRICE_KEYS))})")
            _num(v, f"prices.{model}.{k}", 0)
        for need in ("input_mtok", "output_mtok"):
            if need not in entry:
                raise ConfigError(f"config: 'prices.{model}.{need}' is missing")
        out[model] = dict(entry)
    return out


def _vocab(value: Any) -> tuple[dict[str, str], dict[str, str]]:
    if not isinstance(value, dict):
        raise ConfigError("config: 'vocabulary' must be a table")
    metrics, tags = value.get("metrics", {}), value.get("tags", {})
    for key in value:
        if key not in ("metrics", "tags"):
            raise ConfigError(f"config: unknown key 'vocabulary.{key}'")
    for section, given, known in (("metrics", metrics, AT_METRICS), ("tags", tags, AT_TAGS)):
        if not isinstance(given, dict):
            raise ConfigError(f"config: 'vocabulary.{section}' must be a table")
        for role, name in given.items():
            if role not in known:
                raise ConfigError(f"config: unknown key 'vocabulary.{section}.{role}' "
                                  f"(roles: {', '.join(known)})")
            if not isinstance(name, str) or not name:
                raise ConfigError(f"config: 'vocabulary.{section}.{role}' must be a non-empty string")
    return dict(metrics), dict(tags)
