"""How the price helper process starts: at the very beginning of `tundra top|replay`, or when first asked.

Kept to `os`, `subprocess` and `sys`, so the launcher can start the helper before the rest of tundra (a
quarter of a second of imports) loads: the helper loads its table on the other core meanwhile.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

HELPER = [sys.executable, "-m", "tundra_tui.services.prices"]
NICE = 10  # behind a screen the helper is niced while it loads genai-prices: the screen comes first
# tracing the helper's allocations serves nobody and makes its table load ~50x slower (--once then gave up on it)
UNINHERITED = ("PYTHONTRACEMALLOC",)

_early: subprocess.Popen[str] | None = None  # started by start_early, not taken yet
_early_lock = threading.Lock()


def launch(niced: bool) -> subprocess.Popen[str]:
    """A new helper, its pipes open (OSError when it cannot start). With `niced` it nices itself once it has to
    load genai-prices (no cache, a cache miss): answers from its derived cache keep this process's priority."""
    env = {k: v for k, v in os.environ.items() if k not in UNINHERITED}
    return subprocess.Popen(HELPER + (["--niced"] if niced else []), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, bufsize=1, env=env)


def nice_self() -> None:
    """Lower this process's own priority to NICE (unless it is lower already): the helper, before loading its table."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, max(NICE, os.getpriority(os.PRIO_PROCESS, 0)))
    except OSError:
        pass


def set_priority(pid: int, niced: bool) -> None:
    """Niced (NICE, or this process's own if lower) behind a screen; else this process's own priority, which
    only a privileged user may restore once niced (otherwise it stays niced)."""
    own = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        os.setpriority(os.PRIO_PROCESS, pid, max(NICE, own) if niced else own)
    except OSError:
        pass


def start_early(argv: list[str]) -> int | None:
    """Start the helper now when this command line prices models (`top`, `replay`; `--once` at full priority),
    for the first pricer to take: its pid, or None (the pricer then starts its own)."""
    global _early
    if not argv or argv[0] not in ("top", "replay") or {"-h", "--help"} & set(argv):
        return None
    try:
        proc = launch(niced="--once" not in argv)
    except OSError:
        return None
    with _early_lock:
        _early = proc
    return proc.pid


def take_early() -> subprocess.Popen[str] | None:
    """The helper start_early started, once, if it is still running."""
    global _early
    with _early_lock:
        proc, _early = _early, None
    if proc is not None and proc.poll() is not None:
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
        return None
    return proc


def drop_early() -> None:
    """Kill and reap the helper start_early started if no pricer took it: the command ended first (exit 2, Ctrl-C,
    a crash), and the helper would otherwise load its table as an orphan before it hears its stdin close."""
    global _early
    with _early_lock:
        proc, _early = _early, None
    if proc is not None:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()
