"""The price table in a helper process, asked from a worker thread, so no caller ever waits on it.

genai-prices brings pydantic and an HTTP client, and its first lookup builds the whole table:
about 0.7 s of pure Python that, in-process, holds the GIL while a replay or the live screen
waits. The child (`python -m tundra_tui.services.prices`) starts at the very beginning of `tundra top|replay`
(helper_proc.start_early), before the rest of tundra loads, and `HelperPricer` takes it over; the child
loads the table on the other core while tundra starts, then answers cost questions over a pipe,
one JSON line each way. Only the pricer's worker thread talks to the pipe: `cost()` answers from
what the worker already knows (PRICING for a model never answered yet; the last answer while a
newer token count is asked) and queues the question, so a dashboard built under the session
lock never waits on the helper. `settle()` waits, with no lock held, for the answers in flight;
`when_priced` callbacks hear of a model's first answer (the screen then draws it without waiting a refresh).
If the child cannot start or stops answering, the worker answers with an in-process `Pricer`.
The child answers models priced in an earlier session from a cache derived from the table (price_cache),
without loading genai-prices at all; it loads the table for the others (and at once when there is no cache).

The child is given only the user's price overrides, never a key. It is killed when the session
ends, and exits by itself when its stdin closes (which the kernel does when this process ends).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import IO, Any

from ..model.cost import PRICING, CostAnswer, MemoKey, Pricer, Tokens, average_request, usage_key
from .helper_proc import launch, nice_self, set_priority, take_early
from .price_cache import PriceCache

_LIVE: weakref.WeakValueDictionary[int, HelperPricer] = weakref.WeakValueDictionary()  # by id: see __reduce__
BATCH = 256  # questions written at once (a pipe holds about 800)
ANSWER_TIMEOUT_S = 20.0  # the first answer waits for the table to load; a stuck helper is given up on


def _live(key: int) -> HelperPricer:
    """The pricer a checkpoint was pickled with (KeyError once it is gone)."""
    return _LIVE[key]


class HelperPricer:
    """`Pricer.cost` answered by a helper process, asynchronously; same rules, same results. Thread-safe."""

    def __init__(self, overrides: dict[str, dict[str, Any]] | None = None, interactive: bool = True) -> None:
        self._overrides = overrides or {}
        # behind a screen the helper is niced (the screen comes first); for a one-shot answer (`--once`) the final
        # dashboard waits for its prices, so on a busy machine a niced helper would only load once ingest is done
        self._interactive = interactive
        self._cond = threading.Condition()  # guards the dicts below; never held across the pipe
        self._known: dict[MemoKey, tuple[Tokens, float | None]] = {}  # (model, part) -> its last answer
        self._wanted: dict[MemoKey, Tokens] = {}  # questions not asked yet (newest tokens per model and part)
        self._busy = False  # the worker is asking
        self._closed = False
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[str] | None = None  # the worker's alone
        self._fallback: Pricer | None = None
        self._on_priced: list[Callable[[], object]] = []

    def __deepcopy__(self, memo: dict[int, object]) -> HelperPricer:
        return self  # one helper per process: replay checkpoints copy engines, not the service they ask

    def __reduce__(self) -> tuple[Callable[[int], HelperPricer], tuple[int]]:
        """Pickled as a reference to this live pricer: replay checkpoints pickle engines to a private file and
        read them back in this process (a pickled Condition was a TypeError that ended the prescan)."""
        _LIVE[id(self)] = self
        return _live, (id(self),)

    def prefetch(self) -> None:
        """Start the worker and the helper now (idempotent), so the table loads before anyone asks."""
        with self._cond:
            self._start()

    def _start(self) -> None:
        if self._thread is None and not self._closed:
            self._busy = True  # until the helper is spawned: `settle()` after `prefetch()` waits for it
            self._thread = threading.Thread(target=self._run, name="tundra-prices", daemon=True)
            self._thread.start()

    def cost(self, model: str, provider: str, input_tokens: float, output_tokens: float,
             cache_read_tokens: float = 0.0, part: tuple[str, ...] = (), requests: float = 1.0) -> CostAnswer:
        """The known answer for these tokens (over `requests` requests, as `Pricer.cost`); else the last answer
        for this model and part (or PRICING) while the worker asks."""
        tokens = usage_key(input_tokens, output_tokens, cache_read_tokens, requests)
        if tokens is None:
            return None  # no price for tokens nobody can count (the engine never folds such values)
        key = (model, provider, part)
        with self._cond:
            known = self._known.get(key)
            if known is not None and known[0] == tokens:
                return known[1]
            if self._wanted.get(key) != tokens:
                self._wanted[key] = tokens
                self._start()
                self._cond.notify_all()
            return PRICING if known is None else known[1]

    def when_priced(self, callback: Callable[[], object]) -> None:
        """Call `callback` each time some model gets its first answer (on the worker thread, with no lock held;
        it must not wait), so a screen showing "…" can draw the price at once, not at its next refresh."""
        with self._cond:
            self._on_priced.append(callback)

    @property
    def helper_pid(self) -> int | None:
        """The helper process answering now; None before it starts and after it is given up on."""
        proc = self._proc
        return proc.pid if proc is not None else None

    def settle(self, timeout: float) -> bool:
        """Wait until every question asked so far is answered (call with no lock held); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._closed or not (self._wanted or self._busy), timeout)

    def close(self) -> None:
        """Let the helper go (it also goes by itself when this process ends)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            proc = self._proc
        if proc is not None:
            proc.kill()  # wakes a worker waiting on the pipe; the worker reaps it
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    # -- the worker thread ----------------------------------------------------------------------
    def _run(self) -> None:
        self._spawn()
        try:
            while True:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait_for(lambda: self._closed or bool(self._wanted))
                    if self._closed:
                        return
                    asks = list(self._wanted.items())[:BATCH]
                    for key, _ in asks:
                        del self._wanted[key]
                    self._busy = True
                answers = self._ask_all(asks)  # one pipe round trip for the batch, with no lock held
                with self._cond:
                    first = any(key not in self._known for key, _ in asks)
                    for (key, tokens), answer in zip(asks, answers, strict=True):
                        self._known[key] = (tokens, answer)
                    told = list(self._on_priced) if first else []  # a newer token count: the next refresh has it
                for callback in told:
                    callback()
        finally:
            with self._cond:
                self._busy = False
                self._closed = True
                self._cond.notify_all()
            self._kill()

    def _spawn(self) -> None:
        proc = take_early()  # the launcher's, started before tundra loaded: its table is loading already
        try:
            if proc is None:
                proc = launch(niced=self._interactive)
            elif not self._interactive:  # an early helper that niced itself for its table: back to this priority
                set_priority(proc.pid, niced=False)
        except OSError:
            self._fallback = Pricer(self._overrides)
            return
        with self._cond:
            self._proc = proc
            if self._closed:
                proc.kill()
        try:
            if proc.stdin is not None:
                proc.stdin.write(json.dumps({"overrides": self._overrides, "niced": self._interactive}) + "\n")
        except (OSError, ValueError):
            self._give_up()

    def _ask_all(self, asks: list[tuple[MemoKey, Tokens]]) -> list[float | None]:
        """Every question written at once, then the answers read: one wake-up of the (niced) helper per
        batch, not one per key, so a loaded machine still answers a replay's keys in time."""
        proc = self._proc
        if proc is not None and proc.stdin is not None and proc.stdout is not None:
            try:
                proc.stdin.write("".join(json.dumps([k[0], k[1], *t]) + "\n" for k, t in asks))
                proc.stdin.flush()
                answers = [json.loads(line) for line in _read_lines(proc.stdout.fileno(), len(asks))]
                if all(a is None or isinstance(a, (int, float)) for a in answers):
                    return [None if a is None else float(a) for a in answers]
            except (OSError, ValueError):
                pass
            self._give_up()  # a helper that died, stalled or said something odd: answer here from now on
        return [self._here(key, tokens) for key, tokens in asks]

    def _here(self, key: MemoKey, tokens: Tokens) -> float | None:
        """The answer from the in-process pricer (the helper is gone)."""
        if self._closed:
            return None  # closing: nobody waits for this answer, and the table need not load here
        if self._fallback is None:
            self._fallback = Pricer(self._overrides)
        answer_here = self._fallback.cost(key[0], key[1], *tokens[:3], part=key[2], requests=tokens[3])
        return answer_here if isinstance(answer_here, float) or answer_here is None else None

    def _give_up(self) -> None:
        self._kill()
        self._fallback = Pricer(self._overrides)

    def _kill(self) -> None:
        """Stop the helper (it holds nothing worth a graceful exit) and release its pipes."""
        with self._cond:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        for pipe in (proc.stdin, proc.stdout):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        proc.wait()


def _read_lines(fd: int, n: int) -> list[str]:
    """`n` lines from a pipe, waiting at most ANSWER_TIMEOUT_S in all; ValueError on a timeout, OSError at its end."""
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    buf = b""
    while buf.count(b"\n") < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise ValueError("the price helper did not answer in time")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise OSError("the price helper closed its pipe")
        buf += chunk
    return buf.decode().split("\n")[:n]


def serve(stdin: IO[str], stdout: IO[str], niced: bool = False) -> None:
    """The helper's loop: the table readied, then the overrides read, then one cost question per line until stdin
    closes. The table comes first: a helper started early (helper_proc.start_early) gets its overrides only once
    the command line and the config are read. Models priced before answer from the derived cache
    (price_cache), without genai-prices; others load it, and are added to the cache. `niced` (behind a screen; the
    first line may change it): the helper nices itself only when it has to load genai-prices, so a cached answer
    is not kept behind a busy screen's ingest."""
    cache = PriceCache.open()
    if cache is None or not cache.entries:
        if niced:
            nice_self()
        Pricer().cost("gpt-4o", "openai", 1, 1)  # no cache (yet): load the table now, while nobody waits on it
    first = stdin.readline()
    if not first:
        return
    told = json.loads(first)
    overrides, niced = told.get("overrides") or {}, bool(told.get("niced", niced))
    pricer = Pricer(overrides)
    for line in stdin:
        model, provider, tin, tout, tcache, requests = json.loads(line)
        tokens = usage_key(tin, tout, tcache, requests)
        answer: float | None = None
        if tokens is not None:
            table = cache if f"{provider}/{model}" not in overrides and model not in overrides else None
            hit, answer = table.cost(model, provider, *average_request(tokens)) if table else (False, None)
            if not hit:
                if niced:  # genai-prices loads now (once; the answers after it are as slow whoever waits)
                    nice_self()
                    niced = False
                answer = pricer.cost(model, provider, tin, tout, tcache, requests=requests)
                if table is not None:
                    table.learn(model, provider)
            if cache is not None:
                cache.save()
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout, niced="--niced" in sys.argv[1:])
