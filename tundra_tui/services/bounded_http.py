"""The Datadog API client's HTTP, bounded: keys stay with the configured origin, answers stay small.

datadog-api-client sends DD-API-KEY and DD-APPLICATION-KEY on every request through a urllib3
PoolManager, which follows redirects and keeps custom headers across origins (it strips only
`Authorization` and cookies), and reads whole bodies. This pool follows no redirect (a 3xx is an
error the poller reports), retries nothing (the poller owns backoff) and reads at most MAX_BODY
decoded bytes: a 2 GB answer, or a gzip bomb, costs MAX_BODY and one error, never the host's memory.
"""

from __future__ import annotations

from typing import Any

import urllib3

MAX_BODY = 32 << 20  # far above a 15-minute fleet answer; far below what would hurt


class AnswerTooLarge(Exception):
    """The API answered more than MAX_BODY bytes."""


class BoundedPool(urllib3.PoolManager):
    """A PoolManager for one API client: no redirects, no retries, bodies capped."""

    def urlopen(self, method: str, url: str, redirect: bool = True, **kw: Any) -> Any:  # type: ignore[override]
        kw.update(retries=False, preload_content=False)
        resp = super().urlopen(method, url, redirect=False, **kw)
        try:
            data = resp.read(MAX_BODY + 1, decode_content=True)
            too_large = len(data) > MAX_BODY
        finally:
            resp.close()  # whatever was not read is dropped with the connection
        if too_large:
            raise AnswerTooLarge(f"answer larger than {MAX_BODY >> 20} MiB")
        return urllib3.HTTPResponse(body=data, headers=resp.headers, status=resp.status, reason=resp.reason,
                                    preload_content=False, decode_content=False, request_url=url)


def bound(api_client: Any) -> None:
    """Swap a datadog-api-client ApiClient's pool for a BoundedPool with the same TLS settings."""
    rest = api_client.rest_client
    old = rest.pool_manager
    rest.pool_manager = BoundedPool(num_pools=4, **old.connection_pool_kw)
    old.clear()
