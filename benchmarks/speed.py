"""Benchmarks for one-line datagrams and the first frame, as ratios measured in the same run.

    uv run python benchmarks/run.py single first_frame

`single`: `tundra stats` and `tundra replay --once` on a capture of one line per datagram (1M datagrams,
1,000 contexts, 50k/s for 20 s), whole processes, start-up (an empty capture's run) taken off, against the
minimal split-and-sum loop on the same lines (25 to a packet), in rounds that interleave them. Wall-clock
and CPU-time ratios both: on a busy machine CPU time is the steadier of the two. The children cache their bytecode,
as an installed package has it (the shell here sets PYTHONDONTWRITEBYTECODE).
`first_frame`: seconds from Enter until the screen shows borders, a model row and a priced row, in an 80x24 pty,
launched as `uv run tundra ...` and straight from the venv (min and median of N runs, load average beside
them); tundra's own CPU seconds by its first borders (steadier than wall time on a busy machine); and what
`uv run` itself costs (`uv run true` against `true`).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from baseline_loops import parse_rate
from ptyrun import PtyRun
from workload import context_lines, packets

from tundra_tui.capture import CaptureWriter

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
PY = sys.executable
TUNDRA = [PY, "-m", "tundra_tui"]
DATAGRAMS = 1_000_000
T0 = 1_700_000_000_000_000_000


def _shared_baseline() -> Path | None:
    """The team's reference loop (shared/bench/baseline.py) beside the checkout or its worktree, if there."""
    for up in (ROOT.parent, ROOT.parent.parent):
        path = up / "shared" / "bench" / "baseline.py"
        if path.exists():
            return path
    return None


# An installed package has its bytecode cached; a shell with PYTHONDONTWRITEBYTECODE set (this project's sandbox)
# recompiles every import each run: the price helper's table then costs 0.6 s of CPU instead of 0.2 s (genai-prices
# ships its table as a 1.6 MB module). The children write and use the cache, as a user's install does.
WARM_BYTECODE = dict(os.environ, PYTHONDONTWRITEBYTECODE="")


def _run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, its waited-for children included) of one tundra run."""
    t = time.perf_counter()
    proc = subprocess.Popen([*TUNDRA, *args], stdout=subprocess.DEVNULL, cwd=ROOT, env=WARM_BYTECODE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"tundra {' '.join(args)} exited {proc.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def single_capture() -> tuple[Path, list[bytes]]:
    """1M one-line datagrams from 1,000 contexts at 50k/s (20 s of capture time); written once, then reused."""
    OUT.mkdir(exist_ok=True)
    path = OUT / "1M-single-1k.dog"
    all_lines = context_lines(DATAGRAMS, contexts=1000, seed=4)
    if not path.exists():
        w = CaptureWriter(path.with_suffix(".tmp"), overwrite=True)
        for i, line in enumerate(all_lines):
            w.write(line, T0 + i * 20_000)
        w.close()
        path.with_suffix(".tmp").rename(path)
    return path, all_lines


def _span(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


def bench_single(rounds: int = 5) -> None:
    """One line per datagram: stats and replay --once against the minimal loop, round by round."""
    path, all_lines = single_capture()
    empty = OUT / "empty-single.dog"
    CaptureWriter(empty, overwrite=True).close()
    pk = packets(all_lines[:100_000], 25)
    shared = _shared_baseline()
    walls: dict[str, list[float]] = {"stats": [], "replay": [], "replay_over_stats": [], "shared": []}
    cpus: dict[str, list[float]] = {"stats": [], "replay_over_stats": []}
    best = {"base": 0.0, "stats": 1e9, "stats0": 1e9, "replay": 1e9, "replay0": 1e9}
    loads = []
    for _ in range(rounds):
        loads.append(os.getloadavg()[0])
        base = parse_rate(pk, seconds=1.0)
        base_cpu = parse_rate(pk, seconds=1.0, clock=time.process_time)
        shared_rate = 0.0
        if shared is not None:
            out = subprocess.run([PY, str(shared), "parse", "--seconds", "1"], capture_output=True, text=True)
            shared_rate = float(out.stdout.split()[-1])
        s0, s = _run(["stats", str(empty), "--json"]), _run(["stats", str(path), "--json"])
        r0, r = _run(["replay", str(empty), "--once", "--json"]), _run(["replay", str(path), "--once", "--json"])
        stats_s, replay_s = s[0] - s0[0], r[0] - r0[0]
        walls["stats"].append(DATAGRAMS / stats_s / base)
        walls["replay"].append(DATAGRAMS / replay_s / base)
        walls["replay_over_stats"].append(replay_s / stats_s)
        if shared_rate:
            walls["shared"].append(DATAGRAMS / stats_s / shared_rate)
        cpus["stats"].append(DATAGRAMS / (s[1] - s0[1]) / base_cpu)
        cpus["replay_over_stats"].append((r[1] - r0[1]) / (s[1] - s0[1]))
        best = {"base": max(best["base"], base), "stats": min(best["stats"], s[0]),
                "stats0": min(best["stats0"], s0[0]), "replay": min(best["replay"], r[0]),
                "replay0": min(best["replay0"], r0[0])}
    stats_s, replay_s = best["stats"] - best["stats0"], best["replay"] - best["replay0"]
    print(f"single_line_capture datagrams {DATAGRAMS} contexts 1000 rate 50k/s rounds {rounds} "
          f"load_average {min(loads):.1f}-{max(loads):.1f} (2 cores: {os.cpu_count()})")
    print(f"single_line_stats best lines_per_s {DATAGRAMS / stats_s:.0f} baseline_lines_per_s {best['base']:.0f} "
          f"ratio {DATAGRAMS / stats_s / best['base']:.2f} (target >= 0.70); per round: wall {_span(walls['stats'])}"
          f" cpu {_span(cpus['stats'])}" + (f" vs shared/bench/baseline.py {_span(walls['shared'])}" if walls["shared"]
                                            else ""))
    print(f"single_line_replay_once best seconds {replay_s:.2f} stats_seconds {stats_s:.2f} replay_over_stats "
          f"{replay_s / stats_s:.2f} (target <= 1.25); per round: wall {_span(walls['replay_over_stats'])} "
          f"cpu {_span(cpus['replay_over_stats'])} (replay's cpu includes its price helper)")
    print(f"startup_seconds stats {best['stats0']:.2f} replay {best['replay0']:.2f}")


WATCH = {"borders": "[─│╭╮╰╯┌┐└┘]".encode(), "model_row": rb"(gpt-|claude-|llama-)[\w.-]*\s+[\d.]+k?",
         "priced_row": rb"\$\d+\.\d"}


def _first_frame(argv: list[str], timeout: float = 20) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    run = PtyRun(argv, watch=WATCH, env={"PYTHONDONTWRITEBYTECODE": ""})
    end = time.monotonic() + timeout
    while len(run.seen) < len(WATCH) and time.monotonic() < end and run.proc.poll() is None:
        time.sleep(0.01)
    run.close()
    return run.seen, run.seen_cpu


def _med(values: list[float]) -> str:
    return f"min {min(values):.2f} median {statistics.median(values):.2f}" if values else "never"


def bench_first_frame(rounds: int = 7) -> None:
    """Seconds from Enter to borders, a model row and a priced row in an 80x24 pty, launched as a user does
    (`uv run tundra ...`) and straight from the venv; CPU seconds of tundra's process by its first borders."""
    def launch(cmd: list[str]) -> float:
        t = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t

    load = os.getloadavg()[0]
    venv_tundra = str(Path(PY).with_name("tundra"))
    bare = [launch(["true"]) for _ in range(rounds)]
    via_uv = [launch(["uv", "run", "--", "true"]) for _ in range(rounds)]
    py = [launch([PY, "-c", "pass"]) for _ in range(rounds)]
    print(f"uv_run_overhead_s median {statistics.median(via_uv) - statistics.median(bare):.3f} (uv run true "
          f"{_med(via_uv)}; true {_med(bare)}; venv python -c pass {_med(py)}) load_average {load:.1f}")
    for args in (["replay", "--sample"], ["top", "--demo"]):
        for how, cmd in (("uv run tundra", ["uv", "run", "--", "tundra"]), ("venv tundra", [venv_tundra])):
            seen: dict[str, list[float]] = {k: [] for k in WATCH}
            cpu: list[float] = []
            for _ in range(rounds):
                times, cpus = _first_frame([*cmd, *args])
                for name, t in times.items():
                    seen[name].append(t)
                if "borders" in cpus:
                    cpu.append(cpus["borders"][1])
            shown = "; ".join(f"{k} {_med(v)} ({len(v)}/{rounds})" for k, v in seen.items())
            print(f"first_frame_s {how} {' '.join(args)}: {shown}; tundra_cpu_s_at_borders {_med(cpu)} "
                  f"(target <= 1.0 s wall) load_average {os.getloadavg()[0]:.1f}")


BENCHES = {"single": bench_single, "first_frame": bench_first_frame}
