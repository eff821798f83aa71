"""Benchmarks for a host where the Agent runs: the passive tap and inline forwarding under the flood.

    uv run python benchmarks/run.py passive passive_ui forward forward_latency

The stand-in Agent is /work/shared/bench/sink.py when present (else agent_sink.py, same output):
it binds the port, counts datagrams and lines, keeps a multiset digest of their bytes and reads
its own kernel drops, so a loss is blamed on the right process. The flood is benchmarks/flood.py:
300k single-line datagrams at one sender's full speed, then 20k packets of 25 lines.
"""

from __future__ import annotations

import hashlib
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ptyrun import PtyRun
from workload import lines, packets

HERE = Path(__file__).resolve().parent
PY = sys.executable
TUNDRA = [PY, "-m", "tundra_tui"]
SHARED_SINK = Path("/work/shared/bench/sink.py")
SINK = SHARED_SINK if SHARED_SINK.exists() else HERE / "agent_sink.py"
SINGLES, MULTIS = 300_000, 20_000


def flood_digest(singles: int = SINGLES, multis: int = MULTIS) -> tuple[int, int]:
    """(datagrams, digest) of exactly what flood.py sends, digested as the sink does."""
    single = lines(min(singles, 20_000), seed=2)
    multi = packets(lines(multis * 25, seed=3), 25)
    digest = 0
    for i in range(singles):
        digest += int.from_bytes(hashlib.blake2b(single[i % len(single)], digest_size=8).digest(), "little")
    for p in multi:
        digest += int.from_bytes(hashlib.blake2b(p, digest_size=8).digest(), "little")
    return singles + len(multi), digest & ((1 << 64) - 1)


def free_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_sink(port: int, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([PY, str(SINK), str(port), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def sink_result(proc: subprocess.Popen[str]) -> dict[str, int]:
    out, _ = proc.communicate(timeout=120)
    result: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return result


def flood(port: int) -> tuple[int, float]:
    out = subprocess.run([PY, str(HERE / "flood.py"), str(port), str(SINGLES), str(MULTIS)], capture_output=True,
                         text=True, check=True, cwd=HERE)
    parts = out.stdout.split()
    return int(parts[1]), float(parts[5])


def wait_line(proc: subprocess.Popen[str], needle: str) -> str:
    assert proc.stderr is not None
    while True:
        line = proc.stderr.readline()
        if not line or needle in line:
            return line


def bench_passive_headless() -> None:
    """stats --listen on a port the stand-in Agent holds: the tap and the Agent must both get everything."""
    port = free_port()
    sink = start_sink(port, 40)
    proc = subprocess.Popen([*TUNDRA, "stats", "--listen", f"udp://127.0.0.1:{port}", "--duration", "30", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=HERE.parent)
    held = wait_line(proc, "passively")
    sent, rate = flood(port)
    out, _ = proc.communicate(timeout=120)
    got = json.loads(out)["lines"]
    agent = sink_result(sink)
    dgrams, _ = flood_digest()
    print(f"passive_headless sent_lines {sent} tap_lines {got} lost {sent - got} "
          f"agent_datagrams {agent['datagrams']} of {dgrams} agent_kernel_drops {agent['kernel_drops']} "
          f"sender_datagrams_per_s {rate:.0f} ({held.strip()[:60]}...)")


def bench_passive_ui() -> None:
    """top in an 80x24 pty, passive on the held port, recording: every line in the capture."""
    from tundra_tui.capture import CaptureReader

    port = free_port()
    sink = start_sink(port, 40)
    with tempfile.TemporaryDirectory() as tmp:
        cap = Path(tmp) / "passive_ui.dog"
        run = PtyRun([*TUNDRA, "top", "--no-traces", "--listen", f"udp://127.0.0.1:{port}", "--record", str(cap)])
        time.sleep(3)
        sent, rate = flood(port)
        time.sleep(5)
        rc = run.close(timeout=60)
        got = sum(len([ln for ln in m.payload.split(b"\n") if ln]) for m in CaptureReader(cap))
    agent = sink_result(sink)
    dgrams, _ = flood_digest()
    print(f"passive_ui_80x24 sent_lines {sent} recorded {got} lost {sent - got} exit {rc} "
          f"agent_datagrams {agent['datagrams']} of {dgrams} sender_datagrams_per_s {rate:.0f}")


def bench_forward() -> None:
    """top --listen P --forward Q in a pty: the stand-in Agent on Q must get every datagram, byte for byte."""
    listen, target = free_port(), free_port()
    sink = start_sink(target, 40)
    run = PtyRun([*TUNDRA, "top", "--no-traces", "--listen", f"udp://127.0.0.1:{listen}", "--forward",
                  f"udp://127.0.0.1:{target}"])
    time.sleep(3)
    sent, rate = flood(listen)
    time.sleep(5)
    rc = run.close(timeout=60)
    agent = sink_result(sink)
    dgrams, digest = flood_digest()
    print(f"forward_ui_80x24 sent_datagrams {dgrams} agent_datagrams {agent['datagrams']} "
          f"lost {dgrams - agent['datagrams']} identical_bytes {'yes' if agent['digest'] == digest else 'no'} "
          f"agent_kernel_drops {agent['kernel_drops']} exit {rc} sender_datagrams_per_s {rate:.0f}")


def _one_way(send_to: int, recv: socket.socket, n: int) -> list[float]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out = []
    for i in range(n):
        t = time.perf_counter()
        s.sendto(b"lat:%d|c" % i, ("127.0.0.1", send_to))
        recv.recv(65536)
        out.append(time.perf_counter() - t)
    s.close()
    return out


def bench_forward_latency(n: int = 3000) -> None:
    """Send -> the Agent's socket through `tundra record --forward`, as a ratio to a bare loopback send."""
    agent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    agent.bind(("127.0.0.1", 0))
    agent.settimeout(5)
    port = agent.getsockname()[1]
    bare = _one_way(port, agent, n)
    listen = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([*TUNDRA, "record", f"{tmp}/lat.dog", "--listen", f"udp://127.0.0.1:{listen}",
                                 "--forward", f"udp://127.0.0.1:{port}"], stderr=subprocess.PIPE, text=True,
                                cwd=HERE.parent)
        wait_line(proc, "recording")
        _one_way(listen, agent, 200)  # warm up
        fwd = _one_way(listen, agent, n)
        proc.terminate()
        proc.communicate(timeout=30)
    agent.close()
    b50, f50 = statistics.median(bare), statistics.median(fwd)
    b99, f99 = sorted(bare)[int(n * 0.99)], sorted(fwd)[int(n * 0.99)]
    print(f"forward_latency bare_p50_us {b50 * 1e6:.1f} forwarded_p50_us {f50 * 1e6:.1f} ratio_p50 {f50 / b50:.1f} "
          f"bare_p99_us {b99 * 1e6:.1f} forwarded_p99_us {f99 * 1e6:.1f} ratio_p99 {f99 / b99:.1f}")


BENCHES = {"passive": bench_passive_headless, "passive_ui": bench_passive_ui, "forward": bench_forward,
           "forward_latency": bench_forward_latency}
