"""The Session's price plumbing: telling readers of a new live model or a first price, and the settled dashboard."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import replace

from .model.cost import CostSource
from .model.snapshot import Dashboard

PRICE_WAIT_S = 20.0  # `--once`: how long the final dashboard waits for the price helper (no lock held)
SIGHT_GAP_S = 0.25  # a new model asks a frame at once, but a flood of them at most this often


class FirstSight:
    """Who to tell when live ingest sees a new (model, provider) or the pricer a first price."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[], object]] = []
        self._keys_seen, self._models_seen, self._told_at = 0, 0, 0.0  # rollup keys, (model, provider)s: when

    def add(self, callback: Callable[[], object], pricer: CostSource) -> None:
        """Tell `callback` of a new model (see `tell`) and of `pricer`'s first prices."""
        self._callbacks.append(callback)
        pricer.when_priced(callback)

    def tell(self, keys: Collection[tuple[str, ...]]) -> None:
        """After a feed (no lock held), tell the callbacks of a model not seen before; at most every SIGHT_GAP_S."""
        if not self._callbacks or len(keys) == self._keys_seen or time.monotonic() < self._told_at + SIGHT_GAP_S:
            return
        self._keys_seen = len(keys)  # list(): one C call, while a dashboard's flush (under the lock) may add keys
        if (models := len({k[:2] for k in list(keys)})) > self._models_seen:
            self._models_seen, self._told_at = models, time.monotonic()
            for callback in self._callbacks:
                callback()


def settled(dashboard: Callable[[], Dashboard], pricer: Callable[[], CostSource], timeout: float) -> Dashboard:
    """`dashboard()` once `pricer()` answered for every model, else `prices` "timed_out" (no lock held)."""
    dash = dashboard()
    if dash.totals.pricing:
        pricer().settle(timeout)
        dash = dashboard()
    return replace(dash, prices="timed_out") if dash.totals.pricing else dash
