"""Typed settings from `config.toml` (platformdirs config dir, or $TUNDRA_CONFIG).

Example:
    window_s = 600            # rolling window for sparklines, seconds
    rate_window_s = 10        # current rates (req/s, tok/s, $/min) cover the last this many seconds
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

import json
import math
import os
import re
import stat
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from .model.alerts import AlertRule, parse_alerts
from .model.budget import BudgetRule, parse_budget
from .model.vocab import AT_METRICS, AT_TAGS
from .sources.urls import BadURL, http_url

APP = "tundra"
MIN_REFRESH_S = 0.1  # faster than this the screen does nothing but repaint


class ConfigError(Exception):
    """An invalid config file; the message names the key."""


class _Unreadable(ConfigError):
    """The config could not be read (permissions, I/O), as opposed to being invalid."""


def config_dir() -> Path:
    """Where config.toml and user themes live."""
    return Path(platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    """Where recordings and crash reports go (created 0700)."""
    path = Path(platformdirs.user_data_dir(APP))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def fresh_capture_path(folder: Path | None = None) -> Path:
    """A capture name in the data dir (or `folder`) that no file has yet: tundra-DATE-TIME[-N].dog."""
    folder = folder or data_dir()
    stem = f"tundra-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = folder / f"{stem}.dog", 1
    while path.exists() or path.is_symlink():
        n += 1
        path = folder / f"{stem}-{n}.dog"
    return path


def state_path() -> Path:
    """What tundra remembers between runs (the picked theme), beside the config, never inside it."""
    return Path(platformdirs.user_state_dir(APP)) / "state.json"


def load_state() -> dict[str, Any]:
    """The remembered state; empty when missing, unreadable or damaged (it is only a convenience)."""
    try:
        with open(state_path(), "rb") as fh:
            doc = json.loads(fh.read(1 << 16))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def save_state(**changes: Any) -> str | None:
    """Merge `changes` into the state file (written 0600 via a temporary name); an error message, or None."""
    path = state_path()
    doc = {**load_state(), **changes}
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh)
        os.replace(tmp, path)
    except OSError as exc:
        return f"cannot save {path}: {exc.strerror or exc}"
    return None


def config_path() -> Path:
    """$TUNDRA_CONFIG, else config.toml in the config dir."""
    env = os.environ.get("TUNDRA_CONFIG")
    return Path(env) if env else config_dir() / "config.toml"


@dataclass
class Config:
    """Settings with their defaults."""

    window_s: int = 600
    """Rolling window for sparklines, in seconds (1-s resolution)."""
    rate_window_s: int = 10
    """Seconds the current rates cover (1 to window_s): after that long a silence, rates read 0."""
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
    alerts: tuple[AlertRule, ...] = ()
    """[[alerts]]: rules judged on capture time (model/alerts.py)."""
    budget: BudgetRule | None = None
    """[budget]: usd_per_hour or usd_per_day (model/budget.py)."""
    keys: dict[str, str] = field(default_factory=dict)
    """[keys]: binding id -> keys (comma-separated Textual key names), applied as the screen's keymap."""
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)


_PRICE_KEYS = {"input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok"}


MAX_WINDOW_S = 86_400  # a day of 1-s buckets, per series: past it the series alone outgrow memory (MemoryError)


def _num(value: Any, key: str, minimum: float, integer: bool = False, maximum: float = math.inf) -> Any:
    ok = (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
          and minimum <= value <= maximum)
    if not ok or (integer and not isinstance(value, int)):
        kind = "an integer" if integer else "a number"
        most = f" and <= {maximum:g}" if maximum < math.inf else ""
        raise ConfigError(f"config: '{key}' must be {kind} >= {minimum}{most}, got {value!r}")
    return value


MAX_CONFIG_BYTES = 1 << 20  # a config is a few KB; anything near this is not one (e.g. /dev/zero)


def _read_config(path: Path) -> tuple[str, int] | None:
    """The text and mode of a regular file of at most MAX_CONFIG_BYTES; None if it does not exist.

    Stat before open, and open non-blocking: a FIFO must be refused, not waited on."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _Unreadable(f"config: cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"config: {path} is not a regular file")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # swapped between stat and open
                raise ConfigError(f"config: {path} is not a regular file")
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise _Unreadable(f"config: cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config: {path} is larger than {MAX_CONFIG_BYTES >> 20} MiB")
    try:
        return data.decode("utf-8"), st.st_mode
    except UnicodeDecodeError:
        raise ConfigError(f"config: {path} is not UTF-8 text") from None


def load_config(path: Path | None = None) -> Config:
    """Read and validate the config; a missing file gives the defaults.

    An explicit file (argument or $TUNDRA_CONFIG) must be readable; the default one, when its folder
    cannot be read (an unreadable HOME), gives a warning and the defaults."""
    explicit = path is not None or bool(os.environ.get("TUNDRA_CONFIG"))
    try:
        path = path or config_path()
        found = _read_config(path)
    except _Unreadable as exc:
        if explicit:
            raise ConfigError(str(exc)) from None
        cfg = Config(path=path)
        cfg.warnings.append(f"warning: {exc}; using the defaults")
        return cfg
    cfg = Config(path=path)
    if found is None:
        if os.environ.get("TUNDRA_CONFIG"):
            raise ConfigError(f"config: {path} does not exist (from TUNDRA_CONFIG)")
        return cfg
    text, mode = found
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path} is not valid TOML: {exc}") from None
    if sys.platform != "win32" and mode & (stat.S_IRGRP | stat.S_IROTH) and _holds_keys(raw):
        cfg.warnings.append(f"warning: {path} holds keys and is readable by others; chmod 600 it")
    alerts_raw = None
    for key, value in raw.items():
        if key == "window_s":
            cfg.window_s = _num(value, key, 10, integer=True, maximum=MAX_WINDOW_S)
        elif key == "rate_window_s":
            cfg.rate_window_s = _num(value, key, 1, integer=True)
        elif key == "max_contexts":
            cfg.max_contexts = _num(value, key, 1, integer=True)
        elif key == "refresh_s":
            cfg.refresh_s = _num(value, key, MIN_REFRESH_S)
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
        elif key == "alerts":
            alerts_raw = value  # judged once window_s is known
        elif key == "keys":
            cfg.keys = _keys(value)
        elif key == "budget":
            try:
                cfg.budget = parse_budget(value)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        elif key == "agent":
            if (not isinstance(value, dict) or set(value) - {"url", "expvar_url"}
                    or not all(isinstance(v, str) for v in value.values())):
                raise ConfigError("config: 'agent' takes 'url' and 'expvar_url' (http(s) URLs)")
            for k, v in value.items():
                try:
                    http_url(v, f"'agent.{k}'")
                except BadURL as exc:
                    raise ConfigError(f"config: {exc}") from None
            cfg.agent_url = value.get("url", cfg.agent_url)
            cfg.expvar_url = value.get("expvar_url", cfg.expvar_url)
        else:
            raise ConfigError(f"config: unknown key '{key}'")
    if cfg.rate_window_s > cfg.window_s:
        raise ConfigError(f"config: 'rate_window_s' ({cfg.rate_window_s}) must not exceed 'window_s' ({cfg.window_s})")
    try:
        cfg.alerts = parse_alerts(alerts_raw, cfg.window_s) if alerts_raw is not None else ()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
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
        if not isinstance(v, kind) or isinstance(v, bool) or (isinstance(v, int | float) and not 0 < v < math.inf):
            raise ConfigError(f"config: 'datadog.{k}' has a bad value")  # never echo: it may be a key
    return dict(value)


_RULE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")  # shown as [redacted:NAME]


def _redact(value: Any) -> dict[str, Any]:
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
        if not _RULE_NAME.fullmatch(rule["name"]):
            raise ConfigError(f"config: '{where}.name' must be 1-40 letters, digits, '_', '-' or '.' (it is shown)")
        if rule.get("where", "both") not in ("tags", "text", "both"):
            raise ConfigError(f"config: '{where}.where' must be tags, text or both")
    return dict(value)


def _keys(value: Any) -> dict[str, str]:
    """`[keys]`: id -> keys; which ids exist is checked where the screen's bindings are (ui/keys.py)."""
    if not isinstance(value, dict):
        raise ConfigError("config: 'keys' must be a table of binding id = \"keys\"")
    for k, v in value.items():
        if not isinstance(v, str) or not v.strip() or len(v) > 100 or not v.isprintable():
            raise ConfigError(f"config: 'keys.{k}' must be a key name such as \"j\" or \"ctrl+k\" (commas between)")
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
