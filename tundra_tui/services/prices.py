"""The price table in a helper process, so loading it does not hold up ingest.

genai-prices brings pydantic and an HTTP client, and its first lookup builds the whole table:
about 0.7 s of pure Python that, in-process, holds the GIL while a replay or the live screen
waits. `HelperPricer` starts a child (`python -m tundra_tui.services.prices`) the first time a
model shows up; the child loads the table on the other core while ingest goes on, then answers
cost questions over a pipe, one JSON line each way. If the child cannot start or stops
answering, the same answers come from an in-process `Pricer` instead.

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

from ..model.cost import MemoCost, Pricer, Tokens

ANSWER_TIMEOUT_S = 20.0  # the first answer waits for the table to load; a stuck helper must not hang the screen


class HelperPricer(MemoCost):
    """`Pricer.cost` answered by a helper process; same rules, same results. Thread-safe."""

    def __init__(self, overrides: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__()
        self._overrides = overrides or {}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._fallback: Pricer | None = None

    def __deepcopy__(self, memo: dict[int, object]) -> HelperPricer:
        return self  # one helper per process: replay checkpoints copy engines, not the service they ask

    def prefetch(self) -> None:
        """Start loading the table now (idempotent): called when the first model appears."""
        with self._lock:
            if self._proc is None and self._fallback is None:
                self._spawn()

    def _spawn(self) -> None:
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tundra_tui.services.prices"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
            try:
                os.setpriority(os.PRIO_PROCESS, self._proc.pid, 10)  # ingest and the screen come first
            except OSError:
                pass
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps({"overrides": self._overrides}) + "\n")
        except (OSError, ValueError):
            self._give_up()

    def _give_up(self) -> None:
        self._kill()
        self._fallback = Pricer(self._overrides)

    def _kill(self) -> None:
        """Stop the helper (it holds nothing worth a graceful exit) and release its pipes."""
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

    def cost(self, model: str, provider: str, input_tokens: float, output_tokens: float,
             cache_read_tokens: float = 0.0) -> float | None:
        with self._lock:  # the screen and the fleet poller ask from different threads
            return super().cost(model, provider, input_tokens, output_tokens, cache_read_tokens)

    def _compute(self, model: str, provider: str, tokens: Tokens) -> float | None:
        if self._proc is None and self._fallback is None:
            self._spawn()
        proc = self._proc
        if proc is not None:
            try:
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(json.dumps([model, provider, *tokens]) + "\n")
                ready, _, _ = select.select([proc.stdout], [], [], ANSWER_TIMEOUT_S)
                if not ready:
                    raise TimeoutError("price helper did not answer")
                answer = json.loads(proc.stdout.readline())
                if answer is None:
                    return None
                if isinstance(answer, (int, float)):
                    return float(answer)
            except (OSError, ValueError, AssertionError):  # TimeoutError is an OSError
                pass
            self._give_up()  # a helper that died or said something odd: answer here from now on
        assert self._fallback is not None
        return self._fallback.cost(model, provider, *tokens)

    def close(self) -> None:
        """Let the helper go (it also goes by itself when this process ends)."""
        with self._lock:
            self._kill()


def serve(stdin: IO[str], stdout: IO[str]) -> None:
    """The helper's loop: overrides first, then one cost question per line until stdin closes."""
    first = stdin.readline()
    if not first:
        return
    pricer = Pricer(json.loads(first).get("overrides") or {})
    pricer.cost("gpt-4o", "openai", 1, 1)  # load the table now, while nobody is waiting on it
    for line in stdin:
        model, provider, tin, tout, tcache = json.loads(line)
        stdout.write(json.dumps(pricer.cost(model, provider, tin, tout, tcache)) + "\n")
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
