"""The price table in a helper process, asked from a worker thread, so no caller ever waits on it.

genai-prices brings pydantic and an HTTP client, and its first lookup builds the whole table:
about 0.7 s of pure Python that, in-process, holds the GIL while a replay or the live screen
waits. `HelperPricer` starts a child (`python -m tundra_tui.services.prices`) at launch; the child
loads the table on the other core while ingest goes on, then answers cost questions over a pipe,
one JSON line each way. Only the pricer's worker thread talks to the pipe: `cost()` answers from
what the worker already knows (PRICING for a model never answered yet; the last answer while a
newer token count is asked) and queues the question, so a dashboard built under the session
lock never waits on the helper. `settle()` waits, with no lock held, for the answers in flight.
If the child cannot start or stops answering, the worker answers with an in-process `Pricer`.

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
from typing import IO, Any

from ..model.cost import PRICING, CostAnswer, MemoKey, Pricer, Tokens, usage_key

ANSWER_TIMEOUT_S = 20.0  # the first answer waits for the table to load; a stuck helper is given up on


class HelperPricer:
    """`Pricer.cost` answered by a helper process, asynchronously; same rules, same results. Thread-safe."""

    def __init__(self, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        self._overrides = overrides or {}
        self._cond = threading.Condition()  # guards the dicts below; never held across the pipe
        self._known: dict[MemoKey, tuple[Tokens, float | None]] = {}  # (model, part) -> its last answer
        self._wanted: dict[MemoKey, Tokens] = {}  # questions not asked yet (newest tokens per model and part)
        self._busy = False  # the worker is asking
        self._closed = False
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[str] | None = None  # the worker's alone
        self._fallback: Pricer | None = None

    def __deepcopy__(self, memo: dict[int, object]) -> HelperPricer:
        return self  # one helper per process: replay checkpoints copy engines, not the service they ask

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
                    key, tokens = next(iter(self._wanted.items()))
                    del self._wanted[key]
                    self._busy = True
                answer = self._ask(key, tokens)  # the pipe round trip, with no lock held
                with self._cond:
                    self._known[key] = (tokens, answer)
        finally:
            with self._cond:
                self._busy = False
                self._closed = True
                self._cond.notify_all()
            self._kill()

    def _spawn(self) -> None:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tundra_tui.services.prices"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        except OSError:
            self._fallback = Pricer(self._overrides)
            return
        with self._cond:
            self._proc = proc
            if self._closed:
                proc.kill()
        try:
            os.setpriority(os.PRIO_PROCESS, proc.pid, 10)  # ingest and the screen come first
        except OSError:
            pass
        try:
            if proc.stdin is not None:
                proc.stdin.write(json.dumps({"overrides": self._overrides}) + "\n")
        except (OSError, ValueError):
            self._give_up()

    def _ask(self, key: MemoKey, tokens: Tokens) -> float | None:
        proc = self._proc
        if proc is not None and proc.stdin is not None and proc.stdout is not None:
            try:
                proc.stdin.write(json.dumps([key[0], key[1], *tokens]) + "\n")
                ready, _, _ = select.select([proc.stdout], [], [], ANSWER_TIMEOUT_S)
                answer = json.loads(proc.stdout.readline()) if ready else "timeout"
                if answer is None or isinstance(answer, (int, float)):
                    return None if answer is None else float(answer)
            except (OSError, ValueError):
                pass
            self._give_up()  # a helper that died, stalled or said something odd: answer here from now on
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


def serve(stdin: IO[str], stdout: IO[str]) -> None:
    """The helper's loop: overrides first, then one cost question per line until stdin closes."""
    first = stdin.readline()
    if not first:
        return
    pricer = Pricer(json.loads(first).get("overrides") or {})
    pricer.cost("gpt-4o", "openai", 1, 1)  # load the table now, while nobody is waiting on it
    for line in stdin:
        model, provider, tin, tout, tcache, requests = json.loads(line)
        stdout.write(json.dumps(pricer.cost(model, provider, tin, tout, tcache, requests=requests)) + "\n")
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
