"""Poll the Datadog API for the fleet-wide LLM picture (v2 query_timeseries_data), in a thread.

The keys come from DD_API_KEY / DD_APP_KEY and are never printed, logged or captured: messages
name the variables, and the UI shows at most a key's last 4 characters. 401/403 -> unauthorized,
429 -> rate_limited and silent until X-RateLimit-Reset has passed, 5xx/timeouts -> error with
backoff. The local tap never waits on any of it.
"""

from __future__ import annotations

import math
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..model.cost import CostSource, Pricer
from ..model.fleet import fleet_queries, fold_answer, host_points
from ..model.host_parts import FleetPart
from ..model.vocab import AT_METRICS, AT_TAGS

MIN_RETRY_S = 0.5  # a 429 saying "reset in 0 s" (or 1e-9) waits this long: at most two requests a second
MAX_RETRY_S = 600.0

_HEADER_TOKEN = re.compile(r"[!-~]+")  # printable ASCII, no space: what an API key can be in a header
_SITE = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")  # datadoghq.com, us5.datadoghq.com, ddog-gov.com
PRICE_WAIT_S = 10.0  # a fleet answer waits this long (on its own thread) for prices the helper is still loading


@dataclass
class FleetSettings:
    """Where and what to ask."""

    api_key: str | None = None
    app_key: str | None = None
    site: str = "datadoghq.com"
    url: str | None = None  # overrides the site's base URL (tests, proxies)
    scope: str = "*"
    window_s: int = 900
    interval_s: float = 30.0
    timeout_s: float = 10.0
    host: str | None = None  # this host's name in Datadog (default: $DD_HOSTNAME, else the hostname)

    @classmethod
    def from_env(cls, url: str | None = None, **kw: Any) -> FleetSettings:
        """Keys and site from DD_API_KEY, DD_APP_KEY and DD_SITE."""
        return cls(api_key=os.environ.get("DD_API_KEY") or None, app_key=os.environ.get("DD_APP_KEY") or None,
                   site=os.environ.get("DD_SITE") or "datadoghq.com", url=url, **kw)

    @property
    def enabled(self) -> bool:
        return bool(self.api_key and self.app_key)

    def problem(self) -> str | None:
        """Why these keys or this site cannot be sent (a key is never quoted: it is a secret), or None."""
        for name, key in (("DD_API_KEY", self.api_key), ("DD_APP_KEY", self.app_key)):
            if key and not _HEADER_TOKEN.fullmatch(key):
                return (f"{name} (or [datadog] {name[3:].lower()}) holds spaces or control characters, which no "
                        "key has and no HTTP header can carry (not shown)")
        if not _SITE.fullmatch(self.site):
            return f"DD_SITE (or [datadog] site) {self.site!r} is not a Datadog site such as datadoghq.com"
        return None

    def key_hint(self) -> str:
        """At most the last 4 characters of each key, for the UI."""
        def tail(k: str | None) -> str:
            return f"…{k[-4:]}" if k and len(k) > 8 else "set" if k else "unset"
        return f"api {tail(self.api_key)} app {tail(self.app_key)}"


class FleetPoller:
    """A daemon thread that replaces `state` (immutable) every `interval_s`."""

    def __init__(self, settings: FleetSettings, pricer: CostSource | None = None,
                 metrics: dict[str, str] | None = None, tags: dict[str, str] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.pricer: CostSource = pricer or Pricer()
        self.metrics = {**AT_METRICS, **(metrics or {})}
        self.tags = {**AT_TAGS, **(tags or {})}
        self.clock = clock
        self.host = settings.host or os.environ.get("DD_HOSTNAME") or socket.gethostname()
        self.state = FleetPart(window_s=settings.window_s, host=self.host if settings.enabled else None,
                               message=None if settings.enabled else
                               "set DD_API_KEY and DD_APP_KEY to see the fleet")
        self.answered = threading.Event()  # set after the first answer of any kind but a 429
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0

    def start(self) -> None:
        if self.settings.enabled:
            self._thread = threading.Thread(target=self._run, name="tundra-fleet", daemon=True)
            self._thread.start()

    def stop(self, wait: float = 0.0) -> None:
        """Stop polling; with `wait`, first let a request already sent land (within its own timeout)."""
        self._stop.set()
        if wait and self._thread is not None:
            self._thread.join(min(wait, self.settings.timeout_s + 1))

    def _run(self) -> None:
        api = self._api()
        while not self._stop.is_set():
            try:
                delay = self.poll_once(api)
            except Exception as exc:  # whatever an answer does, the poller lives on and says so
                delay = self._failed(0, {}, type(exc).__name__)
            self._stop.wait(delay)

    def _api(self) -> Any:
        from datadog_api_client import ApiClient, Configuration
        from datadog_api_client.v2.api.metrics_api import MetricsApi

        from .bounded_http import bound  # urllib3, like the client: loaded when the fleet is polled

        cfg = Configuration(request_timeout=self.settings.timeout_s)
        if self.settings.url:
            cfg.host = self.settings.url.rstrip("/")
        else:
            cfg.server_variables["site"] = self.settings.site
        cfg.api_key["apiKeyAuth"] = self.settings.api_key or ""
        cfg.api_key["appKeyAuth"] = self.settings.app_key or ""
        cfg.enable_retry = False
        client = ApiClient(cfg)
        bound(client)  # the keys never follow a redirect; answers are read up to a cap
        return MetricsApi(client)

    def _body(self) -> Any:
        from datadog_api_client.v2.model.metrics_data_source import MetricsDataSource
        from datadog_api_client.v2.model.metrics_timeseries_query import MetricsTimeseriesQuery
        from datadog_api_client.v2.model.query_formula import QueryFormula
        from datadog_api_client.v2.model.timeseries_formula_query_request import TimeseriesFormulaQueryRequest
        from datadog_api_client.v2.model.timeseries_formula_request import TimeseriesFormulaRequest
        from datadog_api_client.v2.model.timeseries_formula_request_attributes import (
            TimeseriesFormulaRequestAttributes,
        )
        from datadog_api_client.v2.model.timeseries_formula_request_queries import TimeseriesFormulaRequestQueries
        from datadog_api_client.v2.model.timeseries_formula_request_type import TimeseriesFormulaRequestType

        now_ms = int(self.clock() * 1000)
        qs = fleet_queries(self.settings.scope, self.metrics, self.tags)
        names = "abc"
        queries = [MetricsTimeseriesQuery(data_source=MetricsDataSource.METRICS, query=q, name=names[i])
                   for i, (_, q) in enumerate(qs)]
        attrs = TimeseriesFormulaRequestAttributes(
            _from=now_ms - self.settings.window_s * 1000, to=now_ms,
            queries=TimeseriesFormulaRequestQueries(queries),
            formulas=[QueryFormula(formula=names[i]) for i in range(len(qs))])
        return TimeseriesFormulaQueryRequest(
            data=TimeseriesFormulaRequest(attributes=attrs, type=TimeseriesFormulaRequestType.TIMESERIES_REQUEST))

    def poll_once(self, api: Any | None = None) -> float:
        """One request; update the state; return the seconds to wait before the next one."""
        from datadog_api_client.exceptions import ApiException

        api = api or self._api()
        interval = self.settings.interval_s
        try:
            answer = api.query_timeseries_data(body=self._body())
        except ApiException as exc:
            return self._failed(exc.status or 0, exc.headers or {})
        except Exception as exc:
            return self._failed(0, {}, type(exc).__name__)
        try:
            data = answer.to_dict()
            rows, hosts, pending = fold_answer(data, self.tags, self.pricer)
            if pending and self.pricer.settle(PRICE_WAIT_S):  # this thread holds no lock: it may wait for prices
                rows, hosts, _ = fold_answer(data, self.tags, self.pricer)
            mine = host_points(data, self.host)
        except Exception as exc:  # an answer of the wrong shape is the API's problem, not a reason to stop
            return self._failed(0, {}, f"unreadable answer: {type(exc).__name__}")
        self.state = replace(self.state, status="ok", updated=self.clock(), models=rows, hosts=hosts, host_points=mine,
                             message=f"{hosts} hosts" if hosts else None)
        self._failures = 0
        self.answered.set()
        return interval

    def _set(self, status: str, message: str) -> None:
        """A new state keeping the last rows (a failed poll does not erase what the fleet last said)."""
        self.state = replace(self.state, status=status, message=message)

    def _failed(self, status: int, headers: dict[str, str], what: str = "") -> float:
        if status in (401, 403):
            self._set("unauthorized", f"Datadog answered {status}: check DD_API_KEY and DD_APP_KEY "
                                      f"(and DD_SITE={self.settings.site})")
            self.answered.set()
            return max(self.settings.interval_s, 60.0)
        if status == 429:
            # never sooner than MIN_RETRY_S: a reset of 0 once meant thousands of requests a second
            reset = min(max(_seconds(headers, "X-RateLimit-Reset", default=self.settings.interval_s),
                            MIN_RETRY_S), MAX_RETRY_S)
            self._set("rate_limited", f"rate limited by Datadog; next request in {reset:g}s")
            return reset
        self._failures += 1
        backoff = min(max(self.settings.interval_s, MIN_RETRY_S) * 2 ** min(self._failures - 1, 10), MAX_RETRY_S)
        self._set("error", (f"Datadog answered {status}" if status else f"Datadog API: {what}")
                  + f"; retrying in {backoff:g}s")
        self.answered.set()
        return float(backoff)


def _seconds(headers: Any, name: str, default: float) -> float:
    """A header's value in seconds; the default when it is missing, not a number, or not finite."""
    for k, v in dict(headers).items():
        if str(k).lower() == name.lower():
            try:
                x = float(v)
            except (TypeError, ValueError):
                return default
            return x if math.isfinite(x) else default
    return default
